"""Daily rollups of the analytics facts: what the dashboard sums instead of one row per ticket.

Two tables per local day of a shop (the shop's time zone, as `TicketFact.created_on`):
`DailyCount`, the ticket counts per channel x category x assignee, and `DailyDistribution`,
the tickets per hour of creation and per tag and the histograms of the clocks started that day,
once for every channel together and once per channel.
A day's rows are a pure function of that day's facts: whenever `services.ticket_facts_refresh`
changes facts (the periodic job following the event log, or `analytics_rebuild`), it recomputes
every day those facts belonged to before and after, in the same transaction
(`days_recompute`), so the rollups always equal a full recomputation (`rollups_rebuild_shop`).

Durations are kept as histograms over fixed bins: one bin per second below `EXACT_BELOW`
seconds, then `STEPS_PER_DOUBLING` logarithmic bins per doubling. A percentile read from the
bins is the geometric middle of its bin, so it is within `RELATIVE_PRECISION` (2^(1/32) - 1,
about 2.2 %) of the exact nearest-rank value, plus half a second of rounding; below two minutes
it is exact. The selectors read exact figures from the facts whenever a metric has at most
`EXACT_UP_TO` clocks in the period, so small shops and short periods stay exact.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import Coalesce

from madoguchi.analytics.models import (
    DailyCount,
    DailyDistribution,
    DurationFact,
    TagFact,
    TicketFact,
)
from madoguchi.core.db import insert_all
from madoguchi.tenancy.models import Shop

if TYPE_CHECKING:
    from madoguchi.analytics.selectors import Filters

EXACT_BELOW = 128
STEPS_PER_DOUBLING = 16
RELATIVE_PRECISION = 2 ** (1 / (2 * STEPS_PER_DOUBLING)) - 1
EXACT_UP_TO = 2000
DEFAULT_ZONE = "Asia/Tokyo"
CHUNK_DAYS = 31

_DayChannel = tuple[dt.date, str]  # a distribution row's key: ("" is every channel)

_bypass: contextvars.ContextVar[bool] = contextvars.ContextVar("analytics_rollups_bypass")


@contextlib.contextmanager
def bypassed() -> Iterator[None]:
    """Make the selectors read the facts only (to compare the rollups with them)."""
    token = _bypass.set(True)
    try:
        yield
    finally:
        _bypass.reset(token)


def _lower(bin_: int) -> float:
    return EXACT_BELOW * 2 ** ((bin_ - EXACT_BELOW) / STEPS_PER_DOUBLING)


def bin_of(seconds: int) -> int:
    """Return the histogram bin of a duration in seconds."""
    if seconds < EXACT_BELOW:
        return max(seconds, 0)
    found = EXACT_BELOW + int(STEPS_PER_DOUBLING * math.log2(seconds / EXACT_BELOW))
    # Guard the float logarithm at the bin edges.
    if seconds < _lower(found):
        found -= 1
    elif seconds >= _lower(found + 1):
        found += 1
    return found


def bin_value(bin_: int) -> int:
    """Return the value a bin stands for: itself below EXACT_BELOW, else its geometric middle."""
    if bin_ < EXACT_BELOW:
        return bin_
    return round(EXACT_BELOW * 2 ** ((bin_ - EXACT_BELOW + 0.5) / STEPS_PER_DOUBLING))


def zone_of(shop_id: int) -> ZoneInfo:
    time_zone = Shop.objects.filter(pk=shop_id).values_list("time_zone", flat=True).first()
    return ZoneInfo(time_zone or DEFAULT_ZONE)


def period_days(
    shop_ids: Sequence[int], start: dt.datetime, end: dt.datetime
) -> tuple[dt.date, dt.date] | None:
    """Return the local days [first, last) the period covers when the rollups can answer it:
    every shop in one time zone and the period running from a local midnight to another."""
    if _bypass.get(False) or not shop_ids:
        return None
    zones = set(Shop.objects.filter(id__in=shop_ids).values_list("time_zone", flat=True))
    if len(zones) != 1:
        return None
    zone = ZoneInfo(zones.pop() or DEFAULT_ZONE)
    first, last = start.astimezone(zone), end.astimezone(zone)
    if first.time() != dt.time(0) or last.time() != dt.time(0):
        return None
    return first.date(), last.date()


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), zone)


# ----------------------------------------------------------------------------- maintenance


def days_recompute(*, shop_id: int, days: Iterable[dt.date], zone: ZoneInfo) -> None:
    """Recompute the rollups of these local days of the shop from its facts."""
    ordered = sorted(set(days))
    for index in range(0, len(ordered), CHUNK_DAYS):
        _chunk_recompute(shop_id, ordered[index : index + CHUNK_DAYS], zone)


def _chunk_recompute(shop_id: int, days: list[dt.date], zone: ZoneInfo) -> None:
    DailyCount.objects.filter(shop_id=shop_id, created_on__in=days).delete()
    DailyDistribution.objects.filter(shop_id=shop_id, day__in=days).delete()
    # The created_at and started_at ranges let the database walk the facts' indexes.
    since = local_midnight(days[0], zone)
    until = local_midnight(days[-1] + dt.timedelta(days=1), zone)
    facts = TicketFact.objects.filter(
        shop_id=shop_id, created_at__gte=since, created_at__lt=until, created_on__in=days
    )
    counts = (
        facts.values("created_on", "channel", "category_id", "assignee_id")
        .annotate(
            tickets=Count("id"),
            new_customers=Count("id", filter=Q(is_new_customer=True)),
            resolved=Count("id", filter=Q(is_resolved=True)),
            ever_resolved=Count("id", filter=Q(was_ever_resolved=True)),
            reopened=Count("id", filter=Q(was_ever_resolved=True, reopen_count__gt=0)),
            one_touch=Count("id", filter=Q(is_one_touch=True)),
            csat_requested=Count("id", filter=Q(is_csat_requested=True)),
            csat_answered=Count("id", filter=Q(csat_score__isnull=False)),
            csat_total=Coalesce(Sum("csat_score"), 0),
            open_tickets=Count("id", filter=Q(is_open=True)),
        )
        .order_by()
    )
    insert_all(
        [
            DailyCount(
                shop_id=shop_id,
                created_on=row["created_on"],
                channel=row["channel"],
                category_id=row["category_id"],
                assignee_id=row["assignee_id"],
                **{name: row[name] for name in COUNT_FIELDS},
            )
            for row in counts
        ]
    )
    # Each day has a row for every channel together ("") and one per channel it had tickets or
    # clocks of, so a channel filter reads the rollups too.
    hours: dict[_DayChannel, list[int]] = {}
    for day, channel, hour, count in (
        facts.values("created_on", "channel", "created_hour")
        .annotate(count=Count("id"))
        .order_by()
        .values_list("created_on", "channel", "created_hour", "count")
    ):
        for key in ((day, ""), (day, channel)):
            hours.setdefault(key, [0] * 24)[hour] += count
    tags: dict[_DayChannel, dict[str, tuple[str, int]]] = defaultdict(dict)
    for day, channel, tag_id, name, count in (
        TagFact.objects.filter(
            shop_id=shop_id,
            fact__shop_id=shop_id,
            fact__created_at__gte=since,
            fact__created_at__lt=until,
            fact__created_on__in=days,
        )
        .values("fact__created_on", "fact__channel", "tag_id", "name")
        .annotate(count=Count("id"))
        .order_by()
        .values_list("fact__created_on", "fact__channel", "tag_id", "name", "count")
    ):
        for key in ((day, ""), (day, channel)):
            _name, before = tags[key].get(str(tag_id), (name, 0))
            tags[key][str(tag_id)] = (name, before + count)
    open_now: dict[_DayChannel, int] = defaultdict(int)
    for day, channel, count in (
        facts.filter(is_open=True)
        .values("created_on", "channel")
        .annotate(count=Count("id"))
        .order_by()
        .values_list("created_on", "channel", "count")
    ):
        open_now[(day, "")] += count
        open_now[(day, channel)] += count
    wanted = set(days)
    histograms: dict[_DayChannel, dict[str, dict[str, dict[str, int]]]] = {}
    clocks = DurationFact.objects.filter(
        shop_id=shop_id,
        metric__in=[str(metric) for metric in DurationFact.Metric],
        started_at__gte=since,
        started_at__lt=until,
    ).values_list("metric", "started_at", "business_seconds", "elapsed_seconds", "channel")
    for metric, started_at, business, elapsed, channel in clocks:
        day = started_at.astimezone(zone).date()
        if day not in wanted:
            continue
        for key in ((day, ""), (day, channel)):
            both = histograms.setdefault(key, {}).setdefault(metric, {"b": {}, "e": {}})
            for which, seconds in (("b", business), ("e", elapsed)):
                bin_ = str(bin_of(seconds))
                both[which][bin_] = both[which].get(bin_, 0) + 1
    insert_all(
        [
            DailyDistribution(
                shop_id=shop_id,
                day=day,
                channel=channel,
                hours=hours.get((day, channel), [0] * 24),
                tags={
                    tag_id: [name, count]
                    for tag_id, (name, count) in tags.get((day, channel), {}).items()
                },
                durations=histograms.get((day, channel), {}),
                open_tickets=open_now.get((day, channel), 0),
            )
            for day, channel in sorted(set(hours) | set(histograms))
        ]
    )


COUNT_FIELDS = (
    "tickets",
    "new_customers",
    "resolved",
    "ever_resolved",
    "reopened",
    "one_touch",
    "csat_requested",
    "csat_answered",
    "csat_total",
    "open_tickets",
)


@transaction.atomic
def rollups_rebuild_shop(*, shop_id: int) -> int:
    """Recompute every rollup day of the shop from its facts; return how many days.

    Runs in the shop's scope (after the facts are rebuilt, or on facts loaded in bulk)."""
    from madoguchi.analytics.services import facts_lock

    facts_lock(shop_id)
    zone = zone_of(shop_id)
    DailyCount.objects.filter(shop_id=shop_id).delete()
    DailyDistribution.objects.filter(shop_id=shop_id).delete()
    first_created = TicketFact.objects.filter(shop_id=shop_id).aggregate(first=Min("created_at"))[
        "first"
    ]
    first_started = DurationFact.objects.filter(shop_id=shop_id).aggregate(first=Min("started_at"))[
        "first"
    ]
    starts = [moment for moment in (first_created, first_started) if moment is not None]
    if not starts:
        return 0
    last_created = TicketFact.objects.filter(shop_id=shop_id).aggregate(last=Max("created_at"))[
        "last"
    ]
    last_started = DurationFact.objects.filter(shop_id=shop_id).aggregate(last=Max("started_at"))[
        "last"
    ]
    ends = [moment for moment in (last_created, last_started) if moment is not None]
    day = min(starts).astimezone(zone).date()
    last = max(ends).astimezone(zone).date()
    days = []
    while day <= last:
        days.append(day)
        day += dt.timedelta(days=1)
    days_recompute(shop_id=shop_id, days=days, zone=zone)
    return len(days)


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Histogram:
    """Counts per bin of one clock over a period."""

    bins: dict[int, int]

    @property
    def count(self) -> int:
        return sum(self.bins.values())

    def percentile(self, percentile: int) -> int | None:
        """The nearest-rank percentile, read as the value of the bin holding that rank."""
        size = self.count
        if not size:
            return None
        rank = max(1, -(-percentile * size // 100))
        seen = 0
        for bin_ in sorted(self.bins):
            seen += self.bins[bin_]
            if seen >= rank:
                return bin_value(bin_)
        return None  # pragma: no cover - the ranks never exceed the count


def _distributions(shop_ids: Sequence[int], first: dt.date, last: dt.date, channel: str) -> Any:
    """The `DailyDistribution` rows of [first, last): every channel's ("") or one channel's."""
    return DailyDistribution.objects.filter(
        shop_id__in=shop_ids, day__gte=first, day__lt=last, channel=channel
    )


def histograms(
    shop_ids: Sequence[int],
    first: dt.date,
    last: dt.date,
    *,
    with_elapsed: bool = True,
    channel: str = "",
) -> dict[str, dict[str, Histogram]]:
    """Return per metric the business ("b") and elapsed ("e") histograms of the local days
    [first, last) of the shops (of one channel's tickets when `channel` is given)."""
    merged: dict[str, dict[str, dict[int, int]]] = {}
    keys = ("b", "e") if with_elapsed else ("b",)
    for durations in _distributions(shop_ids, first, last, channel).values_list(
        "durations", flat=True
    ):
        for metric, both in durations.items():
            target = merged.setdefault(metric, {"b": {}, "e": {}})
            for key in keys:
                into = target[key]
                for bin_, count in both.get(key, {}).items():
                    number = int(bin_)
                    into[number] = into.get(number, 0) + count
    return {
        metric: {key: Histogram(bins) for key, bins in both.items()}
        for metric, both in merged.items()
    }


def hour_grid(
    shop_ids: Sequence[int], first: dt.date, last: dt.date, *, channel: str = ""
) -> list[list[int]]:
    """Tickets created per weekday (Monday first) and local hour over [first, last)."""
    grid = [[0] * 24 for _ in range(7)]
    for day, hours in _distributions(shop_ids, first, last, channel).values_list("day", "hours"):
        row = grid[day.weekday()]
        for hour, count in enumerate(hours):
            row[hour] += count
    return grid


def tag_counts(
    shop_ids: Sequence[int], first: dt.date, last: dt.date, *, channel: str = ""
) -> list[tuple[int, str, int]]:
    """(tag id, name, tickets) over [first, last), unordered."""
    totals: dict[tuple[int, str], int] = {}
    for tags in _distributions(shop_ids, first, last, channel).values_list("tags", flat=True):
        for tag_id, (name, count) in tags.items():
            key = (int(tag_id), name)
            totals[key] = totals.get(key, 0) + count
    return [(tag_id, name, count) for (tag_id, name), count in totals.items()]


def days_of(moments: Iterable[dt.datetime], zone: ZoneInfo) -> set[dt.date]:
    return {moment.astimezone(zone).date() for moment in moments}


# ----------------------------------------------------------------------------- the selectors


def _has_dimensions(filters: Filters) -> bool:
    """Whether the filters narrow by what the distributions do not keep (they keep channels)."""
    return (filters.category_id, filters.assignee_id) != (None, None)


def filter_days(filters: Filters) -> tuple[dt.date, dt.date] | None:
    return period_days(filters.shop_ids, filters.start, filters.end)


def daily_counts(filters: Filters) -> Any:
    """The `DailyCount` rows of the period narrowed by the dimensions, or None when the
    rollups cannot answer (see `period_days`)."""
    days = filter_days(filters)
    if days is None:
        return None
    return DailyCount.objects.filter(
        filters.dimension_q(), created_on__gte=days[0], created_on__lt=days[1]
    )


def summary_values(filters: Filters) -> dict[str, int] | None:
    """The sums `selectors.summary` reads, or None when the rollups cannot answer."""
    rows = daily_counts(filters)
    if rows is None:
        return None
    fields = [name for name in COUNT_FIELDS if name != "open_tickets"]
    values = rows.aggregate(**{name: Sum(name) for name in fields})
    return {name: values[name] or 0 for name in fields}


def period_histograms(
    filters: Filters, *, with_elapsed: bool
) -> dict[str, dict[str, Histogram]] | None:
    """The duration histograms of the period (every category and operator only)."""
    days = filter_days(filters)
    if days is None or _has_dimensions(filters):
        return None
    return histograms(
        filters.shop_ids, days[0], days[1], with_elapsed=with_elapsed, channel=filters.channel
    )


def shared_zone(shop_ids: Sequence[int]) -> ZoneInfo | None:
    """The time zone of every shop, or None when they differ (or the rollups are bypassed)."""
    if _bypass.get(False) or not shop_ids:
        return None
    zones = set(Shop.objects.filter(id__in=shop_ids).values_list("time_zone", flat=True))
    return ZoneInfo(zones.pop() or DEFAULT_ZONE) if len(zones) == 1 else None


def backlog_counts(
    filters: Filters,
    now: dt.datetime,
    buckets: Sequence[tuple[str, dt.timedelta, dt.timedelta | None, object]],
) -> dict[str, int] | None:
    """The open tickets per age bucket (created in (now - upper, now - lower]), or None when
    the rollups cannot answer. The open tickets created at or before a moment are those of
    the whole local days before its day (`DailyDistribution.open_tickets`) and those of its
    own day up to it (the facts of one day, through their index)."""
    zone = shared_zone(filters.shop_ids)
    if zone is None or _has_dimensions(filters):
        return None
    points = sorted(
        {now - lower for _key, lower, _upper, _label in buckets}
        | {now - upper for _key, _lower, upper, _label in buckets if upper is not None}
    )
    days = [point.astimezone(zone).date() for point in points]
    whole = DailyDistribution.objects.filter(
        shop_id__in=filters.shop_ids, channel=filters.channel
    ).aggregate(
        **{
            f"p{index}": Sum("open_tickets", filter=Q(day__lt=day))
            for index, day in enumerate(days)
        }
    )
    ranges = [
        Q(created_at__gte=local_midnight(day, zone), created_at__lte=point)
        for point, day in zip(points, days, strict=True)
    ]
    either = Q()
    for each in ranges:
        either |= each
    partial = (
        TicketFact.objects.filter(filters.dimension_q(), is_open=True)
        .filter(either)
        .aggregate(**{f"p{index}": Count("id", filter=each) for index, each in enumerate(ranges)})
    )
    upto = {
        point: (whole[f"p{index}"] or 0) + partial[f"p{index}"]
        for index, point in enumerate(points)
    }
    return {
        key: upto[now - lower] - (upto[now - upper] if upper is not None else 0)
        for key, lower, upper, _label in buckets
    }


def period_hour_grid(filters: Filters) -> list[list[int]] | None:
    days = filter_days(filters)
    if days is None or _has_dimensions(filters):
        return None
    return hour_grid(filters.shop_ids, days[0], days[1], channel=filters.channel)


def period_tags(filters: Filters, *, limit: int) -> list[tuple[int, str, int]] | None:
    """The most used tags of the period, most first, or None when the rollups cannot answer."""
    days = filter_days(filters)
    if days is None or _has_dimensions(filters):
        return None
    rows = tag_counts(filters.shop_ids, days[0], days[1], channel=filters.channel)
    return sorted(rows, key=lambda row: (-row[2], row[1], row[0]))[:limit]
