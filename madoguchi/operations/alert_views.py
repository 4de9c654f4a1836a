"""The shop's alerts page for its supervisors and admins: warnings, escalations, mail loops.

Strangers to the shop get 404; its operators and its client (owner) 403: alerts are the leads'.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from madoguchi.operations.alerts import alerts_mark_read, require_lead, shop_alerts
from madoguchi.tenancy.access import Actor, access_shop


@login_required
@require_http_methods(["GET", "POST"])
def alerts(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """List the shop's alerts, newest first; POST marks those the page showed as read."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    require_lead(actor=actor, shop_id=shop.id)
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
        },
    )
