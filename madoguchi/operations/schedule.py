"""Reads of the shift schedule: who works a shop, their week of shifts, the week's coverage.

Shifts belong to the workspace that employs the person (an agency, or the shop's own company).
The schedule page reads them through the request's workspace scope, so a supervisor sees the
shifts of their own workspace's people. Coverage counts everybody who works the shop, whichever
workspace plans them, so it reads shifts outside the request's scope (counts only, no names).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import jpholiday
from django.db.models import Q, QuerySet
from django.utils import timezone

from madoguchi.operations.calendar import Interval
from madoguchi.operations.coverage import uncovered_periods
from madoguchi.operations.models import OperatorProfile, RoutingSettings, Shift
from madoguchi.operations.selectors import calendar_for_shop
from madoguchi.tenancy.models import Engagement, Membership, Shop
from madoguchi.tenancy.scoping import unscoped

Role = Membership.Role
LEAD_ROLES = (Role.ADMIN, Role.SUPERVISOR)
HOUR = dt.timedelta(hours=1)


def week_start(day: dt.date) -> dt.date:
    """Return the Monday of `day`'s week."""
    return day - dt.timedelta(days=day.weekday())


def shop_zone(shop: Shop) -> ZoneInfo:
    return ZoneInfo(shop.time_zone or "Asia/Tokyo")


def week_period(shop: Shop, monday: dt.date) -> Interval:
    """Return [Monday 00:00, next Monday 00:00) in the shop's time zone."""
    start = dt.datetime.combine(monday, dt.time(0), shop_zone(shop))
    return start, dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), shop_zone(shop))


def shop_staff_memberships(
    *, shop: Shop, on: dt.date | None = None, through: dt.date | None = None
) -> QuerySet[Membership]:
    """Return the active memberships through which people work the shop's tickets.

    The same rule as `tenancy.access.actor_for_user`: admins and supervisors of the owner or of
    an agency engaged on `on` (today by default), operators of those workspaces assigned to the
    shop. With `through`, an agency engaged on any day from `on` through `through` counts (a
    week's schedule lists the people of an engagement that starts or ends within the week).
    """
    first = on or timezone.localdate()
    last = through or first
    agencies = Engagement.objects.filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=first), shop=shop, starts_on__lte=last
    ).values_list("agency_id", flat=True)
    return (
        Membership.objects.filter(
            Q(workspace_id=shop.workspace_id) | Q(workspace_id__in=agencies),
            Q(role__in=LEAD_ROLES) | Q(role=Role.OPERATOR, shop_assignments__shop=shop),
            is_active=True,
            user__is_active=True,
        )
        .select_related("user", "workspace")
        .distinct()
        .order_by("user__display_name", "id")
    )


def lead_workspace_ids(*, user_id: int) -> set[int]:
    """Return the workspaces in which the user is an active admin or supervisor."""
    return set(
        Membership.objects.filter(user_id=user_id, is_active=True, role__in=LEAD_ROLES).values_list(
            "workspace_id", flat=True
        )
    )


@dataclass(frozen=True)
class Day:
    date: dt.date
    holiday: str  # the national holiday's name, or ""

    @property
    def is_weekend(self) -> bool:
        return self.date.weekday() >= 5


def week_days(monday: dt.date) -> list[Day]:
    """Return the seven days from Monday, each with its Japanese public holiday name."""
    days = [monday + dt.timedelta(days=offset) for offset in range(7)]
    names = {
        holiday.date: holiday.name for holiday in jpholiday.JPHoliday().between(days[0], days[-1])
    }
    return [Day(date=day, holiday=names.get(day, "")) for day in days]


@dataclass(frozen=True)
class ShiftPiece:
    """The part of a shift within one day: local times, and whether it goes on past midnight."""

    shift: Shift
    starts: dt.time
    ends: dt.time
    from_previous_day: bool
    into_next_day: bool


@dataclass(frozen=True)
class ScheduleRow:
    membership: Membership
    duty: str
    is_editable: bool
    days: list[list[ShiftPiece]]


@dataclass(frozen=True)
class WeekSchedule:
    monday: dt.date
    days: list[Day]
    rows: list[ScheduleRow]


def _pieces(shift: Shift, day: dt.date, zone: ZoneInfo) -> ShiftPiece | None:
    day_start = dt.datetime.combine(day, dt.time(0), zone)
    day_end = day_start + dt.timedelta(days=1)
    starts_at = shift.starts_at.astimezone(zone)
    ends_at = shift.ends_at.astimezone(zone)
    if ends_at <= day_start or starts_at >= day_end:
        return None
    return ShiftPiece(
        shift=shift,
        starts=max(starts_at, day_start).timetz().replace(tzinfo=None),
        ends=min(ends_at, day_end).timetz().replace(tzinfo=None),
        from_previous_day=starts_at < day_start,
        into_next_day=ends_at > day_end,
    )


def week_schedule(
    *,
    shop: Shop,
    monday: dt.date,
    editor_id: int | None,
    workspace_ids: Collection[int] | None = None,
) -> WeekSchedule:
    """Return the week's shifts of the shop's people visible in the current workspace scope.

    `workspace_ids` limits the rows to people of these workspaces (the reader's own), whose
    shifts the scope lets them see. A row is editable when `editor_id` leads the person's
    workspace. Every shift that touches a day is listed under it, so a night shift appears on
    both days it spans.
    """
    zone = shop_zone(shop)
    start, end = week_period(shop, monday)
    people = shop_staff_memberships(shop=shop, on=monday, through=monday + dt.timedelta(days=6))
    if workspace_ids is not None:
        people = people.filter(workspace_id__in=tuple(workspace_ids))
    memberships = list(people)
    shifts = Shift.objects.filter(
        membership__in=memberships, starts_at__lt=end, ends_at__gt=start
    ).order_by("starts_at", "id")
    by_membership: dict[int, list[Shift]] = {}
    for shift in shifts:
        by_membership.setdefault(shift.membership_id, []).append(shift)
    duties = dict(
        OperatorProfile.objects.filter(membership__in=memberships).values_list(
            "membership_id", "duty"
        )
    )
    leads = lead_workspace_ids(user_id=editor_id) if editor_id else set()
    days = week_days(monday)
    rows = []
    for membership in memberships:
        own = by_membership.get(membership.id, [])
        rows.append(
            ScheduleRow(
                membership=membership,
                duty=duties.get(membership.id, OperatorProfile.Duty.OFFLINE),
                is_editable=membership.workspace_id in leads,
                days=[
                    [piece for shift in own if (piece := _pieces(shift, day.date, zone))]
                    for day in days
                ],
            )
        )
    return WeekSchedule(monday=monday, days=days, rows=rows)


@dataclass(frozen=True)
class CoverageHour:
    starts_at: dt.datetime
    on_shift: int  # people with a shift during any part of the hour
    is_required: bool  # inside the hours the shop must be covered
    is_gap: bool  # required, and not fully covered by the union of shifts

    @property
    def hour(self) -> int:
        return self.starts_at.hour


@dataclass(frozen=True)
class CoverageDay:
    day: Day
    hours: list[CoverageHour]
    is_closed: bool  # a closure or an observed holiday (business-hours basis only)


@dataclass(frozen=True)
class CoverageWeek:
    monday: dt.date
    promises_24_7: bool
    days: list[CoverageDay]
    gaps: list[Interval]

    @property
    def by_hour(self) -> list[tuple[int, list[CoverageHour]]]:
        """Return the grid as rows of one hour across the seven days."""
        return [(hour, [day.hours[hour] for day in self.days]) for hour in range(24)]

    @property
    def gap_hours(self) -> int:
        return sum(day_hours.is_gap for day in self.days for day_hours in day.hours)


def coverage_required(shop: Shop, period: Interval, *, promises_24_7: bool) -> list[Interval]:
    """Return the parts of `period` that must be covered: all of it for a 24/365 promise,
    otherwise the shop's business hours (closures and observed holidays excluded)."""
    if promises_24_7:
        return [period]
    calendar = calendar_for_shop(shop_id=shop.id)
    required: list[Interval] = []
    day = period[0].astimezone(calendar.zone).date()
    last = (period[1] - dt.timedelta(microseconds=1)).astimezone(calendar.zone).date()
    while day <= last:
        for opens, closes in calendar.intervals_on(day):
            opens, closes = max(opens, period[0]), min(closes, period[1])
            if opens < closes:
                required.append((opens, closes))
        day += dt.timedelta(days=1)
    return required


def coverage_week(*, shop: Shop, monday: dt.date) -> CoverageWeek:
    """Return the 7×24 hours of the week with how many of the shop's people are on shift.

    Gaps come from `coverage.uncovered_periods` over the required periods; an hour of the grid is
    a gap when any gap touches it.
    """
    zone = shop_zone(shop)
    period = week_period(shop, monday)
    settings = RoutingSettings.objects.filter(shop_id=shop.id).first()
    promises_24_7 = bool(settings and settings.promises_24_7)
    memberships = shop_staff_memberships(
        shop=shop, on=monday, through=monday + dt.timedelta(days=6)
    )
    with unscoped("coverage counts the shifts of every workspace that staffs the shop"):
        shifts = list(
            Shift.objects.filter(
                membership__in=memberships, starts_at__lt=period[1], ends_at__gt=period[0]
            ).values_list("membership_id", "starts_at", "ends_at")
        )
    required = coverage_required(shop, period, promises_24_7=promises_24_7)
    intervals = [(starts_at, ends_at) for _id, starts_at, ends_at in shifts]
    gaps = [gap for piece in required for gap in uncovered_periods(piece, intervals)]
    closed_days = set() if promises_24_7 else _closed_days(shop, monday)
    days = []
    for day in week_days(monday):
        hours = []
        for hour in range(24):
            starts_at = dt.datetime.combine(day.date, dt.time(hour), zone)
            ends_at = starts_at + HOUR
            hours.append(
                CoverageHour(
                    starts_at=starts_at,
                    on_shift=_on_shift(shifts, starts_at, ends_at),
                    is_required=_touches(required, starts_at, ends_at),
                    is_gap=_touches(gaps, starts_at, ends_at),
                )
            )
        days.append(CoverageDay(day=day, hours=hours, is_closed=day.date in closed_days))
    return CoverageWeek(monday=monday, promises_24_7=promises_24_7, days=days, gaps=gaps)


def _closed_days(shop: Shop, monday: dt.date) -> set[dt.date]:
    calendar = calendar_for_shop(shop_id=shop.id)
    days = (monday + dt.timedelta(days=offset) for offset in range(7))
    return {day for day in days if calendar.is_closed_on(day)}


def _on_shift(
    shifts: Sequence[tuple[int, dt.datetime, dt.datetime]], start: dt.datetime, end: dt.datetime
) -> int:
    return len(
        {
            member
            for member, shift_start, shift_end in shifts
            if shift_start < end and shift_end > start
        }
    )


def _touches(intervals: Sequence[Interval], start: dt.datetime, end: dt.datetime) -> bool:
    return any(
        interval_start < end and interval_end > start for interval_start, interval_end in intervals
    )
