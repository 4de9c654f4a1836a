"""Shift schedule and coverage pages of a shop, and the operator's own on-duty switch.

The shop's staff see the week; admins and supervisors plan the shifts of their own
workspace's people (an agency its operators, a shop company its in-house staff). Times are
entered and shown in the shop's time zone (Asia/Tokyo by default). Strangers get 404, the
shop's client 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.service_forms import service_errors_on
from madoguchi.operations.models import OperatorProfile, RoutingSettings, Shift
from madoguchi.operations.schedule import (
    coverage_week,
    shop_staff_memberships,
    shop_zone,
    week_schedule,
    week_start,
)
from madoguchi.operations.schedule_forms import (
    SHIFT_LABELS,
    CoveragePromiseForm,
    DutyForm,
    ShiftForm,
    parse_week,
)
from madoguchi.operations.shifts import (
    access_shift,
    coverage_promise_set,
    operator_duty_set,
    schedulable_memberships,
    shift_delete,
    shift_save,
)
from madoguchi.operations.view_access import staff_shop
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop


def _week_url(shop: Shop, monday: dt.date) -> str:
    return reverse("operations:shifts", args=[shop.slug]) + f"?week={monday.isoformat()}"


def _own_duty(actor: Actor, shop: Shop) -> str:
    if actor.user is None:
        return OperatorProfile.Duty.OFFLINE
    membership_ids = shop_staff_memberships(shop=shop).filter(user_id=actor.user.id)
    profile = OperatorProfile.objects.filter(membership__in=membership_ids).first()
    return profile.duty if profile else OperatorProfile.Duty.OFFLINE


def _save_shift(
    request: HttpRequest, actor: Actor, shop: Shop, shift: Shift | None, form: ShiftForm
) -> HttpResponse | None:
    """Save a new (`shift` None) or changed shift from a bound form.

    Returns the redirect to the shift's week, or None when the form or the save was refused
    (the reason is then on the form).
    """
    if not form.is_valid():
        return None
    with service_errors_on(form):
        saved = shift_save(
            actor=actor,
            shop=shop,
            shift=shift,
            membership=form.chosen_membership(),
            starts_at=form.cleaned_data["starts_at"],
            ends_at=form.cleaned_data["ends_at"],
            label=form.cleaned_data["label"] or "",
        )
        messages.success(request, gettext("The shift was saved."))
        local_start = timezone.localtime(saved.starts_at).date()
        return redirect(_week_url(shop, week_start(local_start)))
    return None


def _render_week(
    request: HttpRequest, actor: Actor, shop: Shop, monday: dt.date, form: ShiftForm | None
) -> HttpResponse:
    schedule = week_schedule(
        shop=shop,
        monday=monday,
        editor_id=actor.user.id if actor.user else None,
        workspace_ids=actor.workspace_ids,
    )
    context: dict[str, Any] = {
        "shop": shop,
        "is_lead": actor.is_lead_for(shop.id),
        "schedule": schedule,
        "previous_week": monday - dt.timedelta(days=7),
        "next_week": monday + dt.timedelta(days=7),
        "form": form,
        "shift_labels": [str(label) for label in SHIFT_LABELS],
        "duty_form": DutyForm(initial={"duty": _own_duty(actor, shop)}),
        "time_zone": shop_zone(shop).key,
    }
    return render(request, "operations/shifts.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def shifts(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Show a week of the shop's shifts per person; planners add shifts here."""
    actor, shop = staff_shop(request, shop_slug)
    with timezone.override(shop_zone(shop)):
        monday = week_start(parse_week(request.GET.get("week"), timezone.localdate()))
        memberships = schedulable_memberships(actor=actor, shop=shop)
        form: ShiftForm | None = None
        if request.method == "POST":
            if not memberships:
                raise PermissionDeniedError(
                    "Only an admin or supervisor of the person's workspace may plan their shifts."
                )
            form = ShiftForm(request.POST, memberships=memberships)
            saved = _save_shift(request, actor, shop, None, form)
            if saved is not None:
                return saved
        elif memberships:
            start = dt.datetime.combine(monday, dt.time(9))
            form = ShiftForm(
                memberships=memberships,
                initial={"starts_at": start, "ends_at": start + dt.timedelta(hours=9)},
            )
        return _render_week(request, actor, shop, monday, form)


@login_required
@require_http_methods(["GET", "POST"])
def shift_edit(request: HttpRequest, shop_slug: str, shift_id: int) -> HttpResponse:
    """Change or remove one shift (planners only; others see it read-only)."""
    actor, shop = staff_shop(request, shop_slug)
    shift = access_shift(actor=actor, shop=shop, shift_id=shift_id)
    with timezone.override(shop_zone(shop)):
        memberships = schedulable_memberships(actor=actor, shop=shop)
        is_planner = any(m.id == shift.membership_id for m in memberships)
        monday = week_start(timezone.localtime(shift.starts_at).date())
        if request.method == "POST":
            if not is_planner:
                raise PermissionDeniedError(
                    "Only an admin or supervisor of the person's workspace may plan their shifts."
                )
            if request.POST.get("action") == "delete":
                shift_delete(actor=actor, shop=shop, shift=shift)
                messages.success(request, gettext("The shift was removed."))
                return redirect(_week_url(shop, monday))
            form = ShiftForm(request.POST, memberships=memberships)
            saved = _save_shift(request, actor, shop, shift, form)
            if saved is not None:
                return saved
        else:
            form = ShiftForm(
                memberships=memberships,
                initial={
                    "membership": shift.membership_id,
                    "label": shift.label,
                    "starts_at": timezone.localtime(shift.starts_at),
                    "ends_at": timezone.localtime(shift.ends_at),
                },
            )
        return render(
            request,
            "operations/shift_edit.html",
            {
                "shop": shop,
                "is_lead": actor.is_lead_for(shop.id),
                "shift": shift,
                "form": form if is_planner else None,
                "shift_labels": [str(label) for label in SHIFT_LABELS],
                "week_url": _week_url(shop, monday),
                "time_zone": shop_zone(shop).key,
            },
        )


@login_required
@require_POST
def duty(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Set the signed-in person's own status: available, away or offline."""
    actor, shop = staff_shop(request, shop_slug)
    form = DutyForm(request.POST)
    if not form.is_valid():
        raise ValidationError("Unknown status.")
    profile = operator_duty_set(actor=actor, shop=shop, duty=form.cleaned_data["duty"])
    messages.success(
        request, gettext("Your status is now: %(status)s") % {"status": profile.get_duty_display()}
    )
    return redirect(reverse("operations:shifts", args=[shop.slug]))


@login_required
@require_http_methods(["GET", "POST"])
def coverage(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Show the week's hours with how many people are on shift, and the hours nobody covers."""
    actor, shop = staff_shop(request, shop_slug)
    is_lead = actor.is_lead_for(shop.id)
    with timezone.override(shop_zone(shop)):
        monday = week_start(parse_week(request.GET.get("week"), timezone.localdate()))
        if request.method == "POST":
            promise_form = CoveragePromiseForm(request.POST)
            if promise_form.is_valid():
                coverage_promise_set(
                    actor=actor,
                    shop=shop,
                    promises_24_7=bool(promise_form.cleaned_data["promises_24_7"]),
                )
                messages.success(request, gettext("The coverage promise was saved."))
            url = reverse("operations:coverage", args=[shop.slug])
            return redirect(f"{url}?week={monday.isoformat()}")
        settings = RoutingSettings.objects.filter(shop_id=shop.id).first()
        week = coverage_week(shop=shop, monday=monday)
        return render(
            request,
            "operations/coverage.html",
            {
                "shop": shop,
                "is_lead": is_lead,
                "week": week,
                "previous_week": monday - dt.timedelta(days=7),
                "next_week": monday + dt.timedelta(days=7),
                "promise_form": CoveragePromiseForm(
                    initial={"promises_24_7": bool(settings and settings.promises_24_7)}
                )
                if is_lead
                else None,
                "time_zone": shop_zone(shop).key,
            },
        )
