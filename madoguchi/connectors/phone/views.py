"""Phone pages: log a call in a few seconds, look the caller up, the callback queue."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.connectors.phone import services
from madoguchi.connectors.phone.models import CallLog
from madoguchi.conversations.models import Ticket
from madoguchi.core.errors import NotFoundError, ValidationError
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Shop


def _staff_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Shop not found")
    return actor, shop


def _lookup_context(shop: Shop, number: str) -> dict[str, object]:
    customer = services.customer_by_number(shop=shop, number=number) if number else None
    tickets: list[Ticket] = []
    if customer is not None:
        tickets = list(
            Ticket.objects.filter(shop=shop, customer=customer)
            .exclude(status__in=[Ticket.Status.SOLVED, Ticket.Status.CLOSED])
            .select_related("shop")
            .order_by("-last_activity_at")[:5]
        )
    return {"shop": shop, "number": number, "customer": customer, "open_tickets": tickets}


def _due(text: str) -> dt.datetime | None:
    if not text.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError("Enter the callback time as a date and time.") from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@login_required
@require_http_methods(["GET", "POST"])
def call_new(request: HttpRequest, shop_slug: str) -> HttpResponse:
    actor, shop = _staff_shop(request, shop_slug)
    if request.method == "POST":
        post = request.POST
        ticket = None
        if post.get("ticket", "").strip():
            try:
                ticket_number = int(post["ticket"].strip().lstrip("#").rsplit("-", 1)[-1])
            except ValueError:
                raise ValidationError("Unknown ticket number.") from None
            ticket = (
                Ticket.objects.filter(shop=shop, number=ticket_number)
                .select_related("shop")
                .first()
            )
            if ticket is None:
                raise ValidationError("Unknown ticket number.")
        call = services.CallInput(
            direction=post.get("direction", ""),
            number=post.get("number", ""),
            result=post.get("result", ""),
            duration_seconds=services.parse_duration(post.get("duration", "")),
            customer_name=post.get("customer_name", "").strip()[:200],
            notes=post.get("notes", ""),
            follow_up_needed=post.get("follow_up_needed") == "on",
            callback_due_at=_due(post.get("callback_due_at", "")),
            ticket=ticket,
        )
        log = services.call_log(actor=actor, shop=shop, call=call)
        messages.success(request, _("The call was logged."))
        ticket_url = reverse(
            "conversations:ticket",
            kwargs={"shop_slug": shop.slug, "number": log.ticket.number if log.ticket else 0},
        )
        return HttpResponseRedirect(ticket_url)
    number = request.GET.get("number", "")
    context = {
        **_lookup_context(shop, number),
        "directions": CallLog.Direction.choices,
        "results": CallLog.Result.choices,
    }
    return render(request, "phone/call_new.html", context)


@login_required
@require_GET
def lookup(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The caller's customer and open tickets for a number (an htmx fragment)."""
    _, shop = _staff_shop(request, shop_slug)
    context = _lookup_context(shop, request.GET.get("number", "")[:40])
    return render(request, "phone/_lookup.html", context)


@login_required
@require_GET
def callbacks(request: HttpRequest, shop_slug: str) -> HttpResponse:
    _, shop = _staff_shop(request, shop_slug)
    context = {"shop": shop, "calls": services.open_callbacks(shop=shop), "now": timezone.now()}
    return render(request, "phone/callbacks.html", context)


@login_required
@require_POST
def callback_done(request: HttpRequest, shop_slug: str, call_id: int) -> HttpResponse:
    actor, shop = _staff_shop(request, shop_slug)
    call = CallLog.objects.filter(shop=shop, pk=call_id).select_related("shop").first()
    if call is None:
        raise NotFoundError("Call not found")
    services.callback_done(actor=actor, call=call)
    messages.success(request, _("The callback is done."))
    return HttpResponseRedirect(reverse("phone:callbacks", args=[shop.slug]))
