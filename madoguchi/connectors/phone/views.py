"""Phone pages: log a call in a few seconds, look the caller up, the callback queue, and the
shop's own numbers (staff read them, supervisors and admins change them)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.connectors.phone import services
from madoguchi.connectors.phone.forms import CallForm, PhoneNumberForm
from madoguchi.connectors.phone.models import CallLog, PhoneNumber
from madoguchi.conversations.models import Ticket
from madoguchi.core.errors import NotFoundError, PermissionDeniedError
from madoguchi.core.service_forms import service_errors_on
from madoguchi.tenancy.access import Actor, access_shop, require_staff
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
    own = services.own_number(shop=shop, number=number) if number else None
    return {
        "shop": shop,
        "number": number,
        "customer": customer,
        "open_tickets": tickets,
        "own_number": own,
    }


@login_required
@require_http_methods(["GET", "POST"])
def call_new(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Log a call; a refusal shows the form again with what was typed."""
    actor, shop = _staff_shop(request, shop_slug)
    form = CallForm(
        request.POST if request.method == "POST" else None,
        initial={"number": request.GET.get("number", "")[:40]},
        shop=shop,
        lookup_url=reverse("phone:lookup", args=[shop.slug]),
    )
    if form.is_valid():
        with service_errors_on(form):
            log = services.call_log(actor=actor, shop=shop, call=form.call_input())
            messages.success(request, _("The call was logged."))
            ticket_url = reverse(
                "conversations:ticket",
                kwargs={"shop_slug": shop.slug, "number": log.ticket.number if log.ticket else 0},
            )
            return HttpResponseRedirect(ticket_url)
    number = str(form["number"].value() or "")[:40]
    context = {**_lookup_context(shop, number), "form": form, "shop_numbers": form.shop_numbers}
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


# The shop's own numbers -------------------------------------------------------------------------


def _numbers_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    """The actor and the shop: staff read the numbers; a client of the shop gets a 403."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    require_staff(actor=actor, shop_id=shop.id)
    return actor, shop


def _require_lead(actor: Actor, shop: Shop) -> None:
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(_("Only a supervisor or admin may change the shop's numbers."))


def _save_number(
    request: HttpRequest,
    actor: Actor,
    shop: Shop,
    form: PhoneNumberForm,
    phone_number: PhoneNumber | None,
) -> HttpResponse | None:
    """Create or change the number from a valid form; None re-renders the form with errors."""
    if not form.is_valid():
        return None
    cleaned = form.cleaned_data
    with service_errors_on(form):
        if phone_number is None:
            services.phone_number_create(
                actor=actor,
                shop=shop,
                number=cleaned["number"],
                label=cleaned["label"],
                is_active=bool(cleaned["is_active"]),
            )
            messages.success(request, _("The number was added."))
        else:
            services.phone_number_update(
                actor=actor,
                phone_number=phone_number,
                number=cleaned["number"],
                label=cleaned["label"],
                is_active=bool(cleaned["is_active"]),
            )
            messages.success(request, _("The number was saved."))
        return HttpResponseRedirect(reverse("phone:numbers", args=[shop.slug]))
    return None


@login_required
@require_http_methods(["GET", "POST"])
def numbers(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's own numbers, and a form to add one (supervisors and admins)."""
    actor, shop = _numbers_shop(request, shop_slug)
    form = PhoneNumberForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        _require_lead(actor, shop)
        if done := _save_number(request, actor, shop, form, None):
            return done
    context = {
        "shop": shop,
        "numbers": services.shop_phone_numbers(shop=shop),
        "form": form,
        "can_edit": actor.is_lead_for(shop.id),
    }
    return render(request, "phone/numbers.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def number_edit(request: HttpRequest, shop_slug: str, phone_number_id: int) -> HttpResponse:
    """Change one of the shop's numbers (supervisors and admins)."""
    actor, shop = _numbers_shop(request, shop_slug)
    phone_number = services.access_phone_number(
        actor=actor, shop=shop, phone_number_id=phone_number_id
    )
    _require_lead(actor, shop)
    initial = {
        "number": phone_number.number,
        "label": phone_number.label,
        "is_active": phone_number.is_active,
    }
    form = PhoneNumberForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and (
        done := _save_number(request, actor, shop, form, phone_number)
    ):
        return done
    context = {"shop": shop, "phone_number": phone_number, "form": form}
    return render(request, "phone/number_edit.html", context)


@login_required
@require_POST
def number_delete(request: HttpRequest, shop_slug: str, phone_number_id: int) -> HttpResponse:
    actor, shop = _numbers_shop(request, shop_slug)
    phone_number = services.access_phone_number(
        actor=actor, shop=shop, phone_number_id=phone_number_id
    )
    services.phone_number_delete(actor=actor, phone_number=phone_number)
    messages.success(request, _("The number was removed."))
    return HttpResponseRedirect(reverse("phone:numbers", args=[shop.slug]))
