"""The dashboard's figures, counted and ranked by the database over the analytics facts.

A figure covers the tickets created in the period (durations: the clocks started in it, as SLA
attainment counts them), narrowed by channel, category and operator (the ticket's assignee).
Backlog is the state now, whatever the period. Every figure names the drill-down that lists
its tickets (`drilldown_tickets`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext_lazy as _

from madoguchi.analytics import rollups
from madoguchi.analytics.models import DurationFact, TagFact, TicketFact
from madoguchi.conversations.models import Channel
from madoguchi.operations.attainment import sla_attainment
from madoguchi.operations.labels import METRIC_LABELS

PERCENTILES = (50, 90)
METRICS = (
    DurationFact.Metric.FIRST_RESPONSE,
    DurationFact.Metric.NEXT_RESPONSE,
    DurationFact.Metric.RESOLUTION,
)
# Backlog age buckets: key, lower bound, upper bound (None: open-ended), label.
BACKLOG_BUCKETS: tuple[tuple[str, dt.timedelta, dt.timedelta | None, object], ...] = (
    ("day", dt.timedelta(0), dt.timedelta(days=1), _("Under 1 day")),
    ("days3", dt.timedelta(days=1), dt.timedelta(days=3), _("1-3 days")),
    ("week", dt.timedelta(days=3), dt.timedelta(days=7), _("3-7 days")),
    ("month", dt.timedelta(days=7), dt.timedelta(days=30), _("7-30 days")),
    ("older", dt.timedelta(days=30), None, _("Over 30 days")),
)


@dataclass(frozen=True)
class Filters:
    """Which tickets a figure counts: shops, [start, end), and optional dimensions."""

    shop_ids: tuple[int, ...]
    start: dt.datetime
    end: dt.datetime
    channel: str = ""
    category_id: int | None = None
    assignee_id: int | None = None

    def previous(self) -> Filters:
        """The period of the same length just before this one."""
        length = self.end - self.start
        return replace(self, start=self.start - length, end=self.start)

    def dimension_q(self, prefix: str = "") -> Q:
        q = Q(**{f"{prefix}shop_id__in": self.shop_ids})
        if self.channel:
            q &= Q(**{f"{prefix}channel": self.channel})
        if self.category_id is not None:
            q &= Q(**{f"{prefix}category_id": self.category_id})
        if self.assignee_id is not None:
            q &= Q(**{f"{prefix}assignee_id": self.assignee_id})
        return q


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Summary:
    tickets: int = 0
    new_customers: int = 0
    returning_customers: int = 0
    resolved: int = 0
    ever_resolved: int = 0
    reopened: int = 0
    one_touch: int = 0
    csat_requested: int = 0
    csat_answered: int = 0
    csat_total: int = 0

    @property
    def reopen_rate(self) -> Decimal | None:
        """Reopened as a percentage of the tickets resolved at least once."""
        return _percent(self.reopened, self.ever_resolved)

    @property
    def one_touch_rate(self) -> Decimal | None:
        """Resolved with one reply and never reopened, as a percentage of the resolved."""
        return _percent(self.one_touch, self.resolved)

    @property
    def csat_average(self) -> Decimal | None:
        if not self.csat_answered:
            return None
        return (Decimal(self.csat_total) / self.csat_answered).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )

    @property
    def csat_response_rate(self) -> Decimal | None:
        return _percent(self.csat_answered, self.csat_requested)


@dataclass(frozen=True)
class DurationFigure:
    """Median and 90th percentile (nearest rank) of one clock, in seconds."""

    metric: str
    count: int = 0
    business_median: int | None = None
    business_p90: int | None = None
    elapsed_median: int | None = None
    elapsed_p90: int | None = None

    @property
    def label(self) -> str:
        return str(METRIC_LABELS.get(self.metric, self.metric))


@dataclass(frozen=True)
class CountRow:
    """One row of a breakdown: its key (for the drill-down), label and count."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class AttainmentFigure:
    metric: str
    measured: int
    met: int

    @property
    def label(self) -> str:
        return str(METRIC_LABELS.get(self.metric, self.metric))

    @property
    def attainment(self) -> Decimal | None:
        return _percent(self.met, self.measured)


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    summary: Summary
    previous_summary: Summary
    durations: list[DurationFigure]
    previous_durations: list[DurationFigure]
    by_channel: list[CountRow]
    by_category: list[CountRow]
    by_tag: list[CountRow]
    by_operator: list[CountRow]
    by_day: list[CountRow]
    heatmap: list[list[int]]
    backlog: list[CountRow]
    attainment: list[AttainmentFigure] = field(default_factory=list)


def period_facts(filters: Filters) -> QuerySet[TicketFact]:
    """Return the facts of the tickets created in the period, narrowed by the dimensions."""
    return TicketFact.objects.filter(
        filters.dimension_q(), created_at__gte=filters.start, created_at__lt=filters.end
    )


def _volume(filters: Filters) -> tuple[QuerySet[Any], Count | Sum]:
    """The period's rows and how to count tickets over them: the daily rollups when they can
    answer (`analytics.rollups`: the same fields, a count per row), else the facts."""
    daily = rollups.daily_counts(filters)
    if daily is None:
        return period_facts(filters), Count("id")
    return daily, Sum("tickets")


def summary(filters: Filters) -> Summary:
    """Return the period's counts: volume, customers, resolution, reopens, one touch, CSAT."""
    values = rollups.summary_values(filters) or period_facts(filters).aggregate(
        tickets=Count("id"),
        new_customers=Count("id", filter=Q(is_new_customer=True)),
        resolved=Count("id", filter=Q(is_resolved=True)),
        ever_resolved=Count("id", filter=Q(was_ever_resolved=True)),
        reopened=Count("id", filter=Q(was_ever_resolved=True, reopen_count__gt=0)),
        one_touch=Count("id", filter=Q(is_one_touch=True)),
        csat_requested=Count("id", filter=Q(is_csat_requested=True)),
        csat_answered=Count("id", filter=Q(csat_score__isnull=False)),
        csat_total=Sum("csat_score"),
    )
    return Summary(
        tickets=values["tickets"],
        new_customers=values["new_customers"],
        returning_customers=values["tickets"] - values["new_customers"],
        resolved=values["resolved"],
        ever_resolved=values["ever_resolved"],
        reopened=values["reopened"],
        one_touch=values["one_touch"],
        csat_requested=values["csat_requested"],
        csat_answered=values["csat_answered"],
        csat_total=values["csat_total"] or 0,
    )


def _period_durations(filters: Filters) -> QuerySet[DurationFact]:
    # Naming every metric lets the database walk the (shop, metric, started_at) index.
    return DurationFact.objects.filter(
        filters.dimension_q(),
        metric__in=[str(metric) for metric in METRICS],
        started_at__gte=filters.start,
        started_at__lt=filters.end,
    )


def _ranks(size: int) -> dict[int, int]:
    """Return the nearest-rank position of each percentile among `size` values."""
    return {percentile: max(1, -(-percentile * size // 100)) for percentile in PERCENTILES}


def _ranked(filters: Filters, column: str, sizes: dict[str, int]) -> dict[str, dict[int, int]]:
    """Return per metric the nearest-rank percentiles of `column`: the database numbers each
    metric's rows in order and returns only the rows at the wanted positions."""
    wanted = Q()
    for metric, size in sizes.items():
        wanted |= Q(metric=metric, position__in=sorted(set(_ranks(size).values())))
    if not sizes:
        return {}
    ranked = (
        _period_durations(filters)
        .filter(metric__in=list(sizes))
        .annotate(
            position=Window(
                RowNumber(), partition_by=[F("metric")], order_by=[F(column).asc(), F("id").asc()]
            )
        )
    )
    values: dict[tuple[str, int], int] = {
        (metric, position): value
        for metric, position, value in ranked.filter(wanted).values_list(
            "metric", "position", column
        )
    }
    return {
        metric: {
            percentile: values[(metric, position)]
            for percentile, position in _ranks(size).items()
            if (metric, position) in values
        }
        for metric, size in sizes.items()
    }


def durations(filters: Filters, *, with_elapsed: bool = True) -> list[DurationFigure]:
    """Return median and p90 of first response, next response and resolution (elapsed time
    too unless `with_elapsed` is false: the previous period shows business time only)."""
    bucketed = rollups.period_histograms(filters, with_elapsed=with_elapsed)
    if bucketed is not None:
        return _bucketed_durations(filters, bucketed, with_elapsed=with_elapsed)
    sizes = dict(
        _period_durations(filters)
        .values("metric")
        .annotate(count=Count("id"))
        .order_by()
        .values_list("metric", "count")
    )
    business = _ranked(filters, "business_seconds", sizes)
    elapsed = _ranked(filters, "elapsed_seconds", sizes) if with_elapsed else {}
    figures = []
    for metric in METRICS:
        business_values = business.get(metric, {})
        elapsed_values = elapsed.get(metric, {})
        figures.append(
            DurationFigure(
                metric=str(metric),
                count=sizes.get(metric, 0),
                business_median=business_values.get(50),
                business_p90=business_values.get(90),
                elapsed_median=elapsed_values.get(50),
                elapsed_p90=elapsed_values.get(90),
            )
        )
    return figures


def _bucketed_durations(
    filters: Filters, bucketed: dict[str, dict[str, rollups.Histogram]], *, with_elapsed: bool
) -> list[DurationFigure]:
    """The figures read from the daily histograms (within `rollups.RELATIVE_PRECISION`); a
    metric with at most `rollups.EXACT_UP_TO` clocks is ranked exactly from the facts."""
    empty = rollups.Histogram({})
    sizes = {str(metric): bucketed.get(metric, {}).get("b", empty).count for metric in METRICS}
    small = {metric: size for metric, size in sizes.items() if 0 < size <= rollups.EXACT_UP_TO}
    business = _ranked(filters, "business_seconds", small) if small else {}
    elapsed = _ranked(filters, "elapsed_seconds", small) if small and with_elapsed else {}
    figures = []
    for metric, size in sizes.items():
        if metric in small or not size:
            exact_business, exact_elapsed = business.get(metric, {}), elapsed.get(metric, {})
            values = (
                exact_business.get(50),
                exact_business.get(90),
                exact_elapsed.get(50),
                exact_elapsed.get(90),
            )
        else:
            histogram = bucketed[metric]
            values = (
                histogram["b"].percentile(50),
                histogram["b"].percentile(90),
                histogram["e"].percentile(50) if with_elapsed else None,
                histogram["e"].percentile(90) if with_elapsed else None,
            )
        figures.append(DurationFigure(metric, size, *values))
    return figures


def by_channel(filters: Filters) -> list[CountRow]:
    labels = dict(Channel.choices)
    source, counted = _volume(filters)
    rows = source.values("channel").annotate(count=counted).order_by("-count", "channel")
    return [
        CountRow(row["channel"], str(labels.get(row["channel"], row["channel"])), row["count"])
        for row in rows
    ]


def by_category(filters: Filters) -> list[CountRow]:
    source, counted = _volume(filters)
    rows = source.values("category_id", "category__name").annotate(count=counted).order_by()
    # Unclassified last on both engines (NULLs sort first on SQLite, last on PostgreSQL).
    ordered = sorted(
        rows,
        key=lambda row: (-row["count"], row["category_id"] is None, row["category__name"] or ""),
    )
    return [
        CountRow(
            str(row["category_id"] or ""),
            row["category__name"] or str(_("(no category)")),
            row["count"],
        )
        for row in ordered
    ]


def by_tag(filters: Filters, *, limit: int = 15) -> list[CountRow]:
    tagged = rollups.period_tags(filters, limit=limit)
    if tagged is not None:
        return [CountRow(str(tag_id), name, count) for tag_id, name, count in tagged]
    rows = (
        TagFact.objects.filter(
            filters.dimension_q("fact__"),
            fact__created_at__gte=filters.start,
            fact__created_at__lt=filters.end,
        )
        .values("tag_id", "name")
        .annotate(count=Count("id"))
        .order_by("-count", "name")[:limit]
    )
    return [CountRow(str(row["tag_id"]), row["name"], row["count"]) for row in rows]


def by_operator(filters: Filters) -> list[CountRow]:
    source, counted = _volume(filters)
    rows = (
        source.values("assignee_id", "assignee__display_name", "assignee__email")
        .annotate(count=counted)
        .order_by()
    )
    ordered = sorted(
        rows,
        key=lambda row: (
            -row["count"],
            row["assignee_id"] is None,
            row["assignee__display_name"] or "",
            row["assignee_id"] or 0,
        ),
    )
    return [
        CountRow(
            str(row["assignee_id"] or ""),
            row["assignee__display_name"] or row["assignee__email"] or str(_("(unassigned)")),
            row["count"],
        )
        for row in ordered
    ]


def by_day(filters: Filters) -> list[CountRow]:
    """Return the tickets created per local day of the shop, every day of the period."""
    source, counted = _volume(filters)
    counts = dict(
        source.values("created_on").annotate(count=counted).values_list("created_on", "count")
    )
    zone = filters.start.tzinfo
    day = filters.start.astimezone(zone).date()
    last = (filters.end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    rows = []
    while day <= last:
        rows.append(CountRow(day.isoformat(), f"{day:%m-%d}", counts.get(day, 0)))
        day += dt.timedelta(days=1)
    return rows


def heatmap(filters: Filters) -> list[list[int]]:
    """Return tickets created per weekday (rows, Monday first) and local hour (columns)."""
    bucketed = rollups.period_hour_grid(filters)
    if bucketed is not None:
        return bucketed
    grid = [[0] * 24 for _ in range(7)]
    rows = (
        period_facts(filters)
        .values("created_weekday", "created_hour")
        .annotate(count=Count("id"))
        .values_list("created_weekday", "created_hour", "count")
    )
    for weekday, hour, count in rows:
        grid[weekday][hour] = count
    return grid


def backlog_q(bucket: str, now: dt.datetime) -> Q:
    """The open tickets whose age falls in `bucket` (see BACKLOG_BUCKETS)."""
    for key, lower, upper, _label in BACKLOG_BUCKETS:
        if key == bucket:
            q = Q(is_open=True, created_at__lte=now - lower)
            if upper is not None:
                q &= Q(created_at__gt=now - upper)
            return q
    raise KeyError(bucket)


def backlog(filters: Filters, now: dt.datetime) -> list[CountRow]:
    """Return the open tickets now by age (the period does not apply)."""
    bucketed = rollups.backlog_counts(filters, now, BACKLOG_BUCKETS)
    if bucketed is not None:
        return [CountRow(key, str(label), bucketed[key]) for key, _l, _u, label in BACKLOG_BUCKETS]
    values = TicketFact.objects.filter(filters.dimension_q(), is_open=True).aggregate(
        **{key: Count("id", filter=backlog_q(key, now)) for key, *_rest in BACKLOG_BUCKETS}
    )
    return [CountRow(key, str(label), values[key]) for key, _l, _u, label in BACKLOG_BUCKETS]


def attainment(filters: Filters, now: dt.datetime) -> list[AttainmentFigure]:
    """Return SLA attainment per metric over the shops and period (every channel, category and
    operator: the SLA measures are the operations app's)."""
    totals: dict[str, list[int]] = {}
    for row in sla_attainment(
        shop_ids=filters.shop_ids, period=(filters.start, filters.end), now=now
    ):
        measured_met = totals.setdefault(row.metric, [0, 0])
        measured_met[0] += row.measured
        measured_met[1] += row.met
    return [
        AttainmentFigure(metric=str(metric), measured=totals[metric][0], met=totals[metric][1])
        for metric in METRICS
        if metric in totals
    ]


def dashboard(filters: Filters, *, now: dt.datetime, with_operators: bool) -> Dashboard:
    """Return every figure of the dashboard, with the previous period's summary and times."""
    previous = filters.previous()
    return Dashboard(
        filters=filters,
        summary=summary(filters),
        previous_summary=summary(previous),
        durations=durations(filters),
        previous_durations=durations(previous, with_elapsed=False),
        by_channel=by_channel(filters),
        by_category=by_category(filters),
        by_tag=by_tag(filters),
        by_operator=by_operator(filters) if with_operators else [],
        by_day=by_day(filters),
        heatmap=heatmap(filters),
        backlog=backlog(filters, now),
        attainment=attainment(filters, now),
    )


DRILLDOWN_LIMIT = 200


def drilldown_q(figure: str, now: dt.datetime) -> tuple[Q, bool]:
    """Return the filter of a figure's tickets and whether the period applies to it.

    Figures: tickets, new_customer, returning_customer, resolved, reopened, one_touch,
    csat_answered, csat:<score>, tag:<id>, day:<YYYY-MM-DD>, heat:<weekday>:<hour>,
    backlog:<bucket>, topic:<term> (durations: `drilldown_tickets`). An unknown figure raises
    ValueError.
    """
    name, _sep, argument = figure.partition(":")
    simple = {
        "tickets": Q(),
        "new_customer": Q(is_new_customer=True),
        "returning_customer": Q(is_new_customer=False),
        "resolved": Q(is_resolved=True),
        "reopened": Q(was_ever_resolved=True, reopen_count__gt=0),
        "one_touch": Q(is_one_touch=True),
        "csat_answered": Q(csat_score__isnull=False),
    }
    try:
        if name in simple and not argument:
            return simple[name], True
        if name == "csat":
            return Q(csat_score=int(argument)), True
        if name == "tag":
            return Q(tags__tag_id=int(argument)), True
        if name == "day":
            return Q(created_on=dt.date.fromisoformat(argument)), True
        if name == "heat":
            weekday, hour = (int(part) for part in argument.split(":"))
            return Q(created_weekday=weekday, created_hour=hour), True
        if name == "backlog":
            return backlog_q(argument, now), False
        if name == "topic" and argument:  # analytics.topics: tickets whose text holds a term
            return Q(topic_terms__term=argument), True
    except (KeyError, ValueError) as error:
        raise ValueError(figure) from error
    raise ValueError(figure)


@dataclass(frozen=True)
class DrilldownRow:
    shop_slug: str
    shop_name: str
    number: int
    prefix: str
    subject: str
    status: str
    channel: str
    created_at: dt.datetime
    assignee: str
    business_seconds: int | None


def _row(fact: TicketFact, *, with_operators: bool, seconds: int | None = None) -> DrilldownRow:
    return DrilldownRow(
        shop_slug=fact.shop.slug,
        shop_name=fact.shop.name,
        number=fact.ticket.number,
        prefix=fact.shop.ticket_prefix,
        subject=fact.ticket.subject,
        status=fact.ticket.get_status_display(),
        channel=str(dict(Channel.choices).get(fact.channel, fact.channel)),
        created_at=fact.created_at,
        assignee=str(fact.assignee) if fact.assignee and with_operators else "",
        business_seconds=seconds,
    )


def drilldown_tickets(
    filters: Filters, *, figure: str, now: dt.datetime, with_operators: bool
) -> tuple[list[DrilldownRow], int]:
    """Return the tickets behind a figure (newest first; for a duration each finished clock,
    slowest first) and their total; at most DRILLDOWN_LIMIT rows."""
    name, _sep, metric = figure.partition(":")
    if name == "handle":
        from madoguchi.analytics.handle_time import handle_drilldown

        return handle_drilldown(filters, operator=metric, with_operators=with_operators)
    if name == "duration":
        if metric not in METRICS:
            raise ValueError(figure)
        clocks = _period_durations(filters).filter(metric=metric)
        total = clocks.count()
        ordered = clocks.select_related("fact__ticket", "fact__shop", "fact__assignee").order_by(
            "-business_seconds", "-id"
        )
        return [
            _row(clock.fact, with_operators=with_operators, seconds=clock.business_seconds)
            for clock in ordered[:DRILLDOWN_LIMIT]
        ], total
    condition, is_in_period = drilldown_q(figure, now)
    facts = TicketFact.objects.filter(filters.dimension_q()).filter(condition)
    if is_in_period:
        facts = facts.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    total = facts.count()
    ordered_facts = facts.select_related("ticket", "shop", "assignee").order_by(
        "-created_at", "-id"
    )
    return [
        _row(fact, with_operators=with_operators) for fact in ordered_facts[:DRILLDOWN_LIMIT]
    ], total


def operator_choices(filters: Filters) -> list[tuple[int, str]]:
    """Return the people with tickets assigned in the shops in the period (the operator filter)."""
    source, _counted = _volume(replace(filters, channel="", category_id=None, assignee_id=None))
    rows = (
        source.filter(assignee__isnull=False)
        .values_list("assignee_id", "assignee__display_name", "assignee__email")
        .distinct()
        .order_by("assignee__display_name", "assignee_id")
    )
    return [(user_id, name or email) for user_id, name, email in rows]
