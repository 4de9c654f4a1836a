"""The shop's alerts page for its supervisors and admins: warnings, escalations, mail loops.

Strangers to the shop get 404; its operators and its client (owner) 403: alerts are the leads'.
The page also switches the shop's reassignment at an SLA breach on or off.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.operations.alerts import (
    alerts_mark_read,
    breach_reassign_set,
    reassigns_on_breach,
    require_lead,
    shop_alerts,
)
from madoguchi.operations.models import RoutingSettings
from madoguchi.operations.view_access import request_actor
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Shop

_REASSIGN_FIELD = RoutingSettings._meta.get_field("reassign_on_breach")


class BreachReassignForm(forms.Form):
    reassign_on_breach = forms.BooleanField(
        label=_REASSIGN_FIELD.verbose_name,
        help_text=_REASSIGN_FIELD.help_text,
        required=False,
    )


def _lead_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    actor = request_actor(request)
    shop = access_shop(actor=actor, slug=shop_slug)
    require_lead(actor=actor, shop_id=shop.id)
    return actor, shop


@login_required
@require_http_methods(["GET", "POST"])
def alerts(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """List the shop's alerts, newest first; POST marks those the page showed as read."""
    actor, shop = _lead_shop(request, shop_slug)
    assert actor.user is not None
    if request.method == "POST":
        raw = request.POST.get("up_to", "")
        if raw.isdigit():
            alerts_mark_read(actor=actor, shop=shop, up_to=int(raw))
        return redirect(reverse("operations:alerts", args=[shop.slug]))
    items = shop_alerts(shop_id=shop.id, user_id=actor.user.id)
    return render(
        request,
        "operations/alerts.html",
        {
            "shop": shop,
            "is_lead": True,
            "alerts": items,
            "newest_id": items[0].event.id if items else 0,
            "has_unread": any(item.is_unread for item in items),
            "reassign_form": BreachReassignForm(
                initial={"reassign_on_breach": reassigns_on_breach(shop_id=shop.id)}
            ),
        },
    )


@login_required
@require_POST
def alerts_reassign(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Switch the shop's reassignment of breached tickets on or off."""
    actor, shop = _lead_shop(request, shop_slug)
    form = BreachReassignForm(request.POST)
    form.is_valid()  # a missing checkbox is "off": the form cannot be invalid
    breach_reassign_set(
        actor=actor, shop=shop, enabled=bool(form.cleaned_data.get("reassign_on_breach"))
    )
    messages.success(request, gettext("The setting was saved."))
    return redirect(reverse("operations:alerts", args=[shop.slug]))
