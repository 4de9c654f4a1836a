"""Shop settings pages of operations: business calendar, SLA policies, routing.

The shop's staff read them; its supervisors and admins change them (others get 403 on a
POST). Strangers to the shop get 404, its client (owner) 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from madoguchi.conversations.models import Channel, Ticket
from madoguchi.core.errors import NotFoundError, PermissionDeniedError
from madoguchi.core.service_forms import service_errors_flashed, service_errors_on
from madoguchi.operations import business_calendar, sla_policies
from madoguchi.operations.business_calendar import (
    access_closure,
    business_calendar_save,
    calendar_preview,
    calendar_setup,
    closure_add,
    closure_delete,
    closure_presets,
    presets_to_offer,
)
from madoguchi.operations.models import RoutingSettings, SlaPolicy, Weekday
from madoguchi.operations.routing_settings import REFUSAL as ROUTING_REFUSAL
from madoguchi.operations.routing_settings import routing_settings_for, routing_settings_save
from madoguchi.operations.settings_forms import (
    CalendarForm,
    ClosureForm,
    RoutingForm,
    SlaPolicyForm,
    calendar_help,
    channel_field_name,
    hours_field_name,
)
from madoguchi.operations.sla_policies import (
    access_sla_policy,
    duration_label,
    policy_matrix,
    shop_policies,
    sla_policy_delete,
    sla_policy_save,
    specificity,
)
from madoguchi.operations.view_access import staff_shop
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop

# The services' keywords that the forms name differently: a day's opening hours.
WEEKDAY_FIELDS = {
    f"weekly_hours.{weekday}": hours_field_name(weekday) for weekday in Weekday.values
}


def _require_lead(actor: Actor, shop: Shop, refusal: str) -> None:
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(refusal)


# Business calendar ------------------------------------------------------------------------------


def _calendar_url(shop: Shop) -> str:
    return reverse("operations:calendar", args=[shop.slug])


def _calendar_initial(setup: business_calendar.CalendarSetup) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "observes_national_holidays": setup.observes_national_holidays,
        "always_open": setup.always_open,
    }
    for weekday in Weekday.values:
        initial[hours_field_name(weekday)] = setup.hours_text(weekday)
    return initial


def _calendar_post(
    request: HttpRequest, actor: Actor, shop: Shop, today: dt.date
) -> tuple[HttpResponse | None, CalendarForm | None, ClosureForm | None]:
    """Handle one of the page's forms; return a redirect when done, else the bound form."""
    action = request.POST.get("action", "")
    if action == "calendar":
        form = CalendarForm(request.POST)
        if form.is_valid():
            with service_errors_on(form, fields=WEEKDAY_FIELDS):
                business_calendar_save(
                    actor=actor,
                    shop=shop,
                    observes_national_holidays=bool(
                        form.cleaned_data["observes_national_holidays"]
                    ),
                    always_open=bool(form.cleaned_data["always_open"]),
                    weekly_hours=form.weekly_hours(),
                )
                messages.success(request, gettext("The business calendar was saved."))
                return redirect(_calendar_url(shop)), None, None
        return None, form, None
    if action == "closure":
        closure_form = ClosureForm(request.POST)
        if closure_form.is_valid():
            with service_errors_on(closure_form):
                closure_add(
                    actor=actor,
                    shop=shop,
                    name=closure_form.cleaned_data["name"],
                    starts_on=closure_form.cleaned_data["starts_on"],
                    ends_on=closure_form.cleaned_data["ends_on"],
                )
                messages.success(request, gettext("The closure was added."))
                return redirect(_calendar_url(shop)), None, None
        return None, None, closure_form
    if action == "preset":
        preset = next(
            (p for p in closure_presets(today=today) if p.key == request.POST.get("preset")), None
        )
        if preset is None:
            raise NotFoundError("Closure not found")
        with service_errors_flashed(request):
            closure_add(
                actor=actor,
                shop=shop,
                name=preset.name,
                starts_on=preset.starts_on,
                ends_on=preset.ends_on,
            )
            messages.success(request, gettext("The closure was added."))
        return redirect(_calendar_url(shop)), None, None
    if action == "delete_closure":
        raw = request.POST.get("closure", "")
        if not raw.isdigit():
            raise NotFoundError("Closure not found")
        closure = access_closure(shop=shop, closure_id=int(raw))
        closure_delete(actor=actor, shop=shop, closure=closure)
        messages.success(request, gettext("The closure was removed."))
        return redirect(_calendar_url(shop)), None, None
    raise NotFoundError("Unknown action")


def _shop_settings_url(shop: Shop) -> str | None:
    """The shop's settings page, where its time zone is set (once that page exists)."""
    try:
        return reverse("administration:shop_edit", args=[shop.slug])
    except NoReverseMatch:
        return None


def _shop_today(setup: business_calendar.CalendarSetup) -> dt.date:
    return timezone.localtime(timezone.now(), ZoneInfo(setup.time_zone)).date()


def _preview_start(raw: str | None, today: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else today
    except ValueError:
        return today


@login_required
@require_http_methods(["GET", "POST"])
def calendar(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Show the shop's business calendar and the next 14 days; leads change it here."""
    actor, shop = staff_shop(request, shop_slug)
    is_lead = actor.is_lead_for(shop.id)
    form: CalendarForm | None = None
    closure_form: ClosureForm | None = None
    setup = calendar_setup(shop_id=shop.id)
    today = _shop_today(setup)
    if request.method == "POST":
        _require_lead(actor, shop, business_calendar.REFUSAL)
        done, form, closure_form = _calendar_post(request, actor, shop, today)
        if done is not None:
            return done
    start = _preview_start(request.GET.get("from"), today)
    if is_lead:
        form = form or CalendarForm(initial=_calendar_initial(setup))
        closure_form = closure_form or ClosureForm()
    return render(
        request,
        "operations/calendar.html",
        {
            "shop": shop,
            "is_lead": is_lead,
            "setup": setup,
            "weekdays": [(label, setup.hours_text(weekday)) for weekday, label in Weekday.choices],
            "form": form,
            "hours_fields": [form[hours_field_name(w)] for w in Weekday.values] if form else [],
            "hours_help": calendar_help(),
            "shop_settings_url": _shop_settings_url(shop),
            "closure_form": closure_form,
            "presets": presets_to_offer(today=today, closures=setup.closures) if is_lead else [],
            "preview": calendar_preview(shop_id=shop.id, today=start),
            "preview_start": start,
            "is_today": start == today,
            "previous_start": start - dt.timedelta(days=14),
            "next_start": start + dt.timedelta(days=14),
        },
    )


# SLA policies -----------------------------------------------------------------------------------


def _policies_url(shop: Shop) -> str:
    return reverse("operations:sla_policies", args=[shop.slug])


def _policy_initial(policy: SlaPolicy | None) -> dict[str, Any]:
    if policy is None:
        return {
            "in_business_hours": True,
            "warn_minutes_before": 30,
            "escalate_on_breach": True,
            "is_active": True,
            "position": 0,
        }
    return {
        "name": policy.name,
        "priority": policy.priority,
        "channel": policy.channel,
        "first_response_minutes": policy.first_response_minutes,
        "next_response_minutes": policy.next_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "in_business_hours": policy.in_business_hours,
        "warn_minutes_before": policy.warn_minutes_before,
        "escalate_on_breach": policy.escalate_on_breach,
        "is_active": policy.is_active,
        "position": policy.position,
    }


def _save_policy(
    request: HttpRequest, actor: Actor, shop: Shop, form: SlaPolicyForm, policy: SlaPolicy | None
) -> HttpResponse | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    with service_errors_on(form):
        sla_policy_save(
            actor=actor,
            shop=shop,
            policy=policy,
            name=data["name"],
            priority=data["priority"] or "",
            channel=data["channel"] or "",
            first_response_minutes=data["first_response_minutes"],
            next_response_minutes=data["next_response_minutes"],
            resolution_minutes=data["resolution_minutes"],
            in_business_hours=bool(data["in_business_hours"]),
            warn_minutes_before=data["warn_minutes_before"],
            escalate_on_breach=bool(data["escalate_on_breach"]),
            is_active=bool(data["is_active"]),
            position=data["position"],
        )
        messages.success(
            request,
            gettext("The SLA policy was saved. Open tickets' due times are being recomputed."),
        )
        return redirect(_policies_url(shop))
    return None


def _policy_rows(policies: list[SlaPolicy]) -> list[dict[str, Any]]:
    priorities = dict(Ticket.Priority.choices)
    channels = dict(Channel.choices)
    return [
        {
            "policy": policy,
            "priority": priorities.get(policy.priority, "") if policy.priority else "",
            "channel": channels.get(policy.channel, "") if policy.channel else "",
            "specificity": specificity(policy),
            "first_response": duration_label(policy.first_response_minutes),
            "next_response": duration_label(policy.next_response_minutes),
            "resolution": duration_label(policy.resolution_minutes),
            "warning": duration_label(policy.warn_minutes_before),
        }
        for policy in policies
    ]


@login_required
@require_http_methods(["GET", "POST"])
def policies(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """List the shop's SLA policies in the order they are tried, with the matrix of which
    policy each priority and channel gets; leads add policies here."""
    actor, shop = staff_shop(request, shop_slug)
    is_lead = actor.is_lead_for(shop.id)
    form: SlaPolicyForm | None = None
    if request.method == "POST":
        _require_lead(actor, shop, sla_policies.REFUSAL)
        form = SlaPolicyForm(request.POST)
        if (done := _save_policy(request, actor, shop, form, None)) is not None:
            return done
    elif is_lead:
        form = SlaPolicyForm(initial=_policy_initial(None))
    listed = shop_policies(shop_id=shop.id)
    return render(
        request,
        "operations/sla_policies.html",
        {
            "shop": shop,
            "is_lead": is_lead,
            "rows": _policy_rows(listed),
            "channels": Channel.choices,
            "matrix": policy_matrix(listed),
            "form": form,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, shop_slug: str, policy_id: int) -> HttpResponse:
    """Change or delete one SLA policy (leads); other staff see it read-only."""
    actor, shop = staff_shop(request, shop_slug)
    policy = access_sla_policy(shop=shop, policy_id=policy_id)
    is_lead = actor.is_lead_for(shop.id)
    form: SlaPolicyForm | None = None
    if request.method == "POST":
        _require_lead(actor, shop, sla_policies.REFUSAL)
        if request.POST.get("action") == "delete":
            sla_policy_delete(actor=actor, shop=shop, policy=policy)
            messages.success(request, gettext("The SLA policy was deleted."))
            return redirect(_policies_url(shop))
        form = SlaPolicyForm(request.POST)
        if (done := _save_policy(request, actor, shop, form, policy)) is not None:
            return done
    elif is_lead:
        form = SlaPolicyForm(initial=_policy_initial(policy))
    return render(
        request,
        "operations/sla_policy_edit.html",
        {
            "shop": shop,
            "is_lead": is_lead,
            "policy": policy,
            "row": _policy_rows([policy])[0],
            "form": form,
        },
    )


# Routing ----------------------------------------------------------------------------------------


def _routing_initial(settings: RoutingSettings) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "mode": settings.mode,
        "requires_on_duty": settings.requires_on_duty,
        "requires_language_skill": settings.requires_language_skill,
        "max_open_per_operator": settings.max_open_per_operator,
        "reassign_on_breach": settings.reassign_on_breach,
    }
    for channel in Channel.values:
        initial[channel_field_name(channel)] = settings.channel_modes.get(channel, "")
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def routing(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Show how the shop's new tickets find an operator; leads change it here."""
    actor, shop = staff_shop(request, shop_slug)
    is_lead = actor.is_lead_for(shop.id)
    settings = routing_settings_for(shop_id=shop.id)
    form: RoutingForm | None = None
    if request.method == "POST":
        _require_lead(actor, shop, ROUTING_REFUSAL)
        form = RoutingForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            with service_errors_on(form):
                routing_settings_save(
                    actor=actor,
                    shop=shop,
                    mode=data["mode"],
                    channel_modes=form.channel_modes(),
                    requires_language_skill=bool(data["requires_language_skill"]),
                    requires_on_duty=bool(data["requires_on_duty"]),
                    max_open_per_operator=data["max_open_per_operator"],
                    reassign_on_breach=bool(data["reassign_on_breach"]),
                )
                messages.success(request, gettext("The routing settings were saved."))
                return redirect(reverse("operations:routing", args=[shop.slug]))
    elif is_lead:
        form = RoutingForm(initial=_routing_initial(settings))
    modes = dict(RoutingSettings.Mode.choices)
    return render(
        request,
        "operations/routing.html",
        {
            "shop": shop,
            "is_lead": is_lead,
            "settings": settings,
            "mode_label": modes[settings.mode],
            "channel_rows": [
                (
                    label,
                    modes[settings.mode_for_channel(channel)],
                    channel in settings.channel_modes,
                )
                for channel, label in Channel.choices
            ],
            "form": form,
        },
    )
