"""Set up a shop's business calendar: holidays, 24/365, weekly hours, closures.

The SLA clocks, after-hours replies and coverage read the calendar through
`selectors.calendar_for_shop`; the preview here is computed by that same calendar, so what the
page shows is what the clocks count. Leads (admins, supervisors) change it; every change is
audited with the values before and after, and moves the due times of the shop's open tickets.
The calendar counts in the shop's time zone (`Shop.time_zone`, the shop's settings page), the
one the shifts and the coverage use too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import jpholiday
from django.db import transaction
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.core.tasks import enqueue_on_commit
from madoguchi.operations.models import BusinessCalendarSettings, Closure, OpeningHours, Weekday
from madoguchi.operations.selectors import DEFAULT_HOURS, calendar_for_shop
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop

Hours = tuple[dt.time, dt.time]
MIDNIGHT = dt.time(0)
MAX_INTERVALS_PER_DAY = 6
MAX_CLOSURE_DAYS = 366
PREVIEW_DAYS = 14

REFUSAL = gettext_noop("Only a supervisor or admin may change the business calendar.")


def hours_label(opens: dt.time, closes: dt.time) -> str:
    """Return an interval as `10:00-12:00`; a close at midnight reads 24:00."""
    end = "24:00" if closes == MIDNIGHT else f"{closes:%H:%M}"
    return f"{opens:%H:%M}-{end}"


def day_hours_problem(intervals: Sequence[Hours]) -> tuple[str, dict[str, object]] | None:
    """Return why a weekday's intervals are refused (a message and its values), or None.

    An interval closes after it opens, or at 00:00 for midnight at the day's end; intervals of
    one day do not overlap (one may start when the previous closes).
    """
    if len(intervals) > MAX_INTERVALS_PER_DAY:
        return gettext_noop("At most %(count)s intervals a day."), {"count": MAX_INTERVALS_PER_DAY}
    for opens, closes in intervals:
        if closes != MIDNIGHT and closes <= opens:
            return (
                gettext_noop("%(interval)s: the closing time must be after the opening time."),
                {"interval": hours_label(opens, closes)},
            )
    ordered = sorted(intervals)
    for (opens, closes), (next_opens, next_closes) in pairwise(ordered):
        if closes == MIDNIGHT or next_opens < closes:
            return (
                gettext_noop("%(first)s and %(second)s overlap."),
                {
                    "first": hours_label(opens, closes),
                    "second": hours_label(next_opens, next_closes),
                },
            )
    return None


def require_settings_lead(actor: Actor, shop: Shop, refusal: str = REFUSAL) -> None:
    """Refuse anyone but the shop's supervisors and admins (the shop's settings pages)."""
    require_staff(actor=actor, shop_id=shop.id)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(refusal)


def refresh_open_slas(shop: Shop, *, refresh_open_tickets: bool) -> None:
    """After commit, recompute the clocks of the shop's open tickets (a calendar or a policy
    changed); `refresh_open_tickets=False` is for a caller that computes them itself."""
    from madoguchi.operations.tasks import refresh_shop_slas

    if refresh_open_tickets:
        enqueue_on_commit(refresh_shop_slas, shop.id)


def recompute_analytics(shop: Shop) -> None:
    """After commit, rebuild the shop's analytics facts: their business time follows the
    calendar (debounced, `analytics.recompute`)."""
    from madoguchi.analytics.recompute import facts_rebuild_request

    facts_rebuild_request(shop_id=shop.id)


# Reads ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarSetup:
    """The shop's calendar rows as the page edits them (defaults when nothing is stored)."""

    time_zone: str  # the shop's
    observes_national_holidays: bool
    always_open: bool
    weekly_hours: dict[int, list[Hours]]
    closures: list[Closure]
    is_default_hours: bool  # no hours stored: the clocks use the default weekday hours

    def hours_text(self, weekday: int) -> str:
        return ", ".join(hours_label(*interval) for interval in self.weekly_hours.get(weekday, []))


def calendar_setup(*, shop_id: int) -> CalendarSetup:
    """Return the shop's calendar settings, weekly hours and closures for the settings page."""
    settings = BusinessCalendarSettings.objects.filter(shop_id=shop_id).first()
    time_zone = Shop.objects.values_list("time_zone", flat=True).get(pk=shop_id)
    weekly: dict[int, list[Hours]] = {}
    for hours in OpeningHours.objects.filter(shop_id=shop_id).order_by("weekday", "opens_at"):
        weekly.setdefault(hours.weekday, []).append((hours.opens_at, hours.closes_at))
    always_open = settings.always_open if settings else False
    is_default = not weekly and not always_open
    if is_default:
        # What `calendar_for_shop` counts until the shop saves its own hours.
        weekly = {weekday: list(DEFAULT_HOURS) for weekday in range(5)}
    return CalendarSetup(
        time_zone=time_zone or "Asia/Tokyo",
        observes_national_holidays=settings.observes_national_holidays if settings else True,
        always_open=always_open,
        weekly_hours=weekly,
        closures=list(Closure.objects.filter(shop_id=shop_id).order_by("starts_on", "id")),
        is_default_hours=is_default,
    )


@dataclass(frozen=True)
class PreviewDay:
    """One day of the preview: its opening intervals as the clocks count them, or why closed."""

    date: dt.date
    intervals: list[str]
    holiday: str  # the national holiday's name, or ""
    closure: str  # the closure's name, or ""
    is_always_open: bool

    @property
    def is_open(self) -> bool:
        return bool(self.intervals)


def calendar_preview(*, shop_id: int, today: dt.date, days: int = PREVIEW_DAYS) -> list[PreviewDay]:
    """Return `days` days from `today` as the shop's business calendar counts them."""
    calendar = calendar_for_shop(shop_id=shop_id)
    last = today + dt.timedelta(days=days - 1)
    holidays = {
        holiday.date: holiday.name for holiday in jpholiday.JPHoliday().between(today, last)
    }
    closures = list(
        Closure.objects.filter(shop_id=shop_id, starts_on__lte=last, ends_on__gte=today).order_by(
            "starts_on", "id"
        )
    )
    preview = []
    for offset in range(days):
        day = today + dt.timedelta(days=offset)
        intervals = [
            hours_label(opens.time(), closes.time()) for opens, closes in calendar.intervals_on(day)
        ]
        closure = next((c.name for c in closures if c.starts_on <= day <= c.ends_on), "")
        preview.append(
            PreviewDay(
                date=day,
                intervals=intervals,
                holiday=holidays.get(day, ""),
                closure=closure,
                is_always_open=calendar.always_open,
            )
        )
    return preview


@dataclass(frozen=True)
class ClosurePreset:
    """A closure the page offers with one click: this year's 年末年始 or お盆."""

    key: str
    name: str
    starts_on: dt.date
    ends_on: dt.date


def closure_presets(*, today: dt.date) -> list[ClosurePreset]:
    """Return the next 年末年始 (12/29-1/3) and お盆 (8/13-8/16) not yet over on `today`."""
    new_year_start = today.year - 1 if today <= dt.date(today.year, 1, 3) else today.year
    obon_year = today.year if today <= dt.date(today.year, 8, 16) else today.year + 1
    return [
        ClosurePreset(
            "new_year",
            "年末年始",
            dt.date(new_year_start, 12, 29),
            dt.date(new_year_start + 1, 1, 3),
        ),
        ClosurePreset("obon", "お盆", dt.date(obon_year, 8, 13), dt.date(obon_year, 8, 16)),
    ]


def presets_to_offer(*, today: dt.date, closures: Sequence[Closure]) -> list[ClosurePreset]:
    """Return the presets of `closure_presets` that are not in `closures` yet."""
    existing = {(closure.name, closure.starts_on, closure.ends_on) for closure in closures}
    return [
        preset
        for preset in closure_presets(today=today)
        if (preset.name, preset.starts_on, preset.ends_on) not in existing
    ]


def access_closure(*, shop: Shop, closure_id: int) -> Closure:
    """Return the shop's closure with this id (404 for another shop's or a missing one)."""
    closure = Closure.objects.filter(shop_id=shop.id, pk=closure_id).first()
    if closure is None:
        raise NotFoundError("Closure not found")
    return closure


# Writes -----------------------------------------------------------------------------------------


def _hours_snapshot(weekly: Mapping[int, Sequence[Hours]]) -> dict[str, list[str]]:
    return {
        str(weekday): [hours_label(*interval) for interval in sorted(intervals)]
        for weekday, intervals in sorted(weekly.items())
        if intervals
    }


@transaction.atomic
def business_calendar_save(
    *,
    actor: Actor,
    shop: Shop,
    observes_national_holidays: bool,
    always_open: bool,
    weekly_hours: Mapping[int, Sequence[Hours]],
    refresh_open_tickets: bool = True,
) -> BusinessCalendarSettings:
    """Set the shop's holiday rule, 24/365 flag and weekly hours (all weekdays).

    A weekday missing from `weekly_hours` (or with no intervals) is closed. Refuses intervals
    that close before they open and overlapping intervals. The hours are in the shop's time
    zone, which its settings page changes (`administration.shop_services`).
    """
    require_settings_lead(actor, shop)
    for weekday, intervals in weekly_hours.items():
        if weekday not in Weekday.values:
            raise ValidationError(gettext_noop("Unknown weekday."))
        problem = day_hours_problem(intervals)
        if problem is not None:
            message, extra = problem
            raise ValidationError(message, extra=extra, field=f"weekly_hours.{weekday}")
    settings, _created = BusinessCalendarSettings.objects.select_for_update().get_or_create(
        shop=shop
    )
    old_hours: dict[int, list[Hours]] = {}
    for row in OpeningHours.objects.filter(shop_id=shop.id):
        old_hours.setdefault(row.weekday, []).append((row.opens_at, row.closes_at))
    before = {
        "observes_national_holidays": settings.observes_national_holidays,
        "always_open": settings.always_open,
        "weekly_hours": _hours_snapshot(old_hours),
    }
    after = {
        "observes_national_holidays": observes_national_holidays,
        "always_open": always_open,
        "weekly_hours": _hours_snapshot(weekly_hours),
    }
    if before == after:
        return settings
    settings.observes_national_holidays = observes_national_holidays
    settings.always_open = always_open
    settings.save(update_fields=["observes_national_holidays", "always_open"])
    if before["weekly_hours"] != after["weekly_hours"]:
        OpeningHours.objects.filter(shop_id=shop.id).delete()
        OpeningHours.objects.bulk_create(
            OpeningHours(shop=shop, weekday=weekday, opens_at=opens, closes_at=closes)
            for weekday, intervals in sorted(weekly_hours.items())
            for opens, closes in sorted(intervals)
        )
    changed = [key for key in after if before[key] != after[key]]
    record(
        actor=actor.user,
        action=actions.CALENDAR_CHANGED,
        target=settings,
        shop=shop,
        changes={
            "old": {key: before[key] for key in changed},
            "new": {key: after[key] for key in changed},
        },
    )
    refresh_open_slas(shop, refresh_open_tickets=refresh_open_tickets)
    recompute_analytics(shop)
    return settings


def _closure_changes(closure: Closure) -> dict[str, str]:
    return {
        "name": closure.name,
        "starts_on": closure.starts_on.isoformat(),
        "ends_on": closure.ends_on.isoformat(),
    }


@transaction.atomic
def closure_add(
    *,
    actor: Actor,
    shop: Shop,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    refresh_open_tickets: bool = True,
) -> Closure:
    """Close the shop from `starts_on` to `ends_on` (inclusive) under a name such as 年末年始."""
    require_settings_lead(actor, shop)
    name = " ".join(name.split())
    if not name:
        raise ValidationError(gettext_noop("A closure needs a name."), field="name")
    if len(name) > 100:
        raise ValidationError(gettext_noop("The name is too long."), field="name")
    if ends_on < starts_on:
        raise ValidationError(
            gettext_noop("A closure must end on or after its first day."), field="ends_on"
        )
    if (ends_on - starts_on).days >= MAX_CLOSURE_DAYS:
        raise ValidationError(gettext_noop("A closure lasts at most a year."), field="ends_on")
    if Closure.objects.filter(
        shop_id=shop.id, name=name, starts_on=starts_on, ends_on=ends_on
    ).exists():
        raise ValidationError(gettext_noop("This closure is already in the calendar."))
    closure = Closure.objects.create(shop=shop, name=name, starts_on=starts_on, ends_on=ends_on)
    record(
        actor=actor.user,
        action=actions.CLOSURE_ADDED,
        target=closure,
        shop=shop,
        changes={"new": _closure_changes(closure)},
    )
    refresh_open_slas(shop, refresh_open_tickets=refresh_open_tickets)
    recompute_analytics(shop)
    return closure


@transaction.atomic
def closure_delete(*, actor: Actor, shop: Shop, closure: Closure) -> None:
    """Remove a closure: the shop keeps its usual hours on those days again."""
    require_settings_lead(actor, shop)
    if closure.shop_id != shop.id:
        raise NotFoundError("Closure not found")
    changes = {"old": _closure_changes(closure)}
    target_id = closure.pk
    closure.delete()
    closure.pk = target_id  # the audit entry names the removed row
    record(
        actor=actor.user, action=actions.CLOSURE_DELETED, target=closure, shop=shop, changes=changes
    )
    refresh_open_slas(shop, refresh_open_tickets=True)
    recompute_analytics(shop)
