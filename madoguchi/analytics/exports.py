"""The analytics as CSV: the tickets behind a figure, and the dashboard's figures.

Both follow the dashboard's filters (shops, period, channel, category, operator) and its rule
on operator names. The tickets are read with `iterator()` in chunks of `CHUNK` rows as plain
tuples, and the lines are made while the response streams (`core.csv`), so a download of any
period holds one chunk in memory. Times are in the time zone of the dashboard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext

from madoguchi.analytics import selectors, topics
from madoguchi.analytics.models import TicketFact
from madoguchi.conversations.models import Channel, Ticket

CHUNK = 2000
KIND_TICKETS = "tickets"
KIND_METRICS = "metrics"

# The columns read from a fact (a duration's columns go through its `fact__`).
_FACT_COLUMNS = (
    "shop__name",
    "shop__ticket_prefix",
    "ticket__number",
    "ticket__subject",
    "ticket__status",
    "channel",
    "category__name",
    "created_at",
    "resolved_at",
    "is_new_customer",
    "reply_count",
    "reopen_count",
    "is_one_touch",
    "csat_score",
)
_OPERATOR_COLUMNS = ("assignee__display_name", "assignee__email")


@dataclass(frozen=True)
class TicketExport:
    """What a ticket download reads: built in the view (in the shop scope), read while
    streaming."""

    rows: QuerySet[Any, tuple[Any, ...]]
    count: int
    with_operators: bool
    with_seconds: bool
    zone: dt.tzinfo


def ticket_export(
    filters: selectors.Filters, *, figure: str, now: dt.datetime, with_operators: bool
) -> TicketExport:
    """Return the tickets behind `figure` (as `selectors.drilldown_tickets` lists them, all of
    them): newest first; for a duration each finished clock, slowest first. An unknown figure
    raises ValueError."""
    name, _sep, metric = figure.partition(":")
    operator_columns = _OPERATOR_COLUMNS if with_operators else ()
    if name == "duration":
        if metric not in selectors.METRICS:
            raise ValueError(figure)
        clocks = selectors._period_durations(filters).filter(metric=metric)
        columns = [f"fact__{column}" for column in (*_FACT_COLUMNS, *operator_columns)]
        rows = clocks.order_by("-business_seconds", "-id").values_list(
            *columns, "business_seconds", "elapsed_seconds"
        )
        return TicketExport(
            rows=rows,
            count=clocks.count(),
            with_operators=with_operators,
            with_seconds=True,
            zone=filters.start.tzinfo or dt.UTC,
        )
    condition, is_in_period = selectors.drilldown_q(figure, now)
    facts = TicketFact.objects.filter(filters.dimension_q()).filter(condition)
    if is_in_period:
        facts = facts.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    return TicketExport(
        rows=facts.order_by("-created_at", "-id").values_list(*_FACT_COLUMNS, *operator_columns),
        count=facts.count(),
        with_operators=with_operators,
        with_seconds=False,
        zone=filters.start.tzinfo or dt.UTC,
    )


def ticket_header(export: TicketExport) -> list[str]:
    header = [
        gettext("Ticket"),
        gettext("Shop"),
        gettext("Subject"),
        gettext("Status"),
        gettext("Channel"),
        gettext("Category"),
        gettext("Created"),
        gettext("Resolved"),
        gettext("Customer"),
        gettext("Replies"),
        gettext("Reopens"),
        gettext("One-touch resolution"),
        gettext("CSAT score"),
    ]
    if export.with_operators:
        header.append(gettext("Operator"))
    if export.with_seconds:
        header += [gettext("Business time (seconds)"), gettext("Elapsed time (seconds)")]
    return header


def _local(moment: dt.datetime | None, zone: dt.tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def ticket_lines(export: TicketExport, *, language: str) -> Iterator[list[object]]:
    """Yield one row per ticket (or clock), its labels in `language` (the rows are made while
    the response streams, after the view has returned)."""
    with translation.override(language):
        yield from _ticket_lines(export)


def _ticket_lines(export: TicketExport) -> Iterator[list[object]]:
    statuses = dict(Ticket.Status.choices)
    channels = dict(Channel.choices)
    new, returning = gettext("New"), gettext("Returning")
    yes, no = gettext("Yes"), gettext("No")
    for values in export.rows.iterator(chunk_size=CHUNK):
        (
            shop_name,
            prefix,
            number,
            subject,
            status,
            channel,
            category,
            created_at,
            resolved_at,
            is_new_customer,
            replies,
            reopens,
            is_one_touch,
            csat_score,
            *rest,
        ) = values
        row: list[object] = [
            f"{prefix}-{number}",
            shop_name,
            subject,
            statuses.get(status, status),
            channels.get(channel, channel),
            category or "",
            _local(created_at, export.zone),
            _local(resolved_at, export.zone),
            new if is_new_customer else returning,
            replies,
            reopens,
            yes if is_one_touch else no,
            csat_score,
        ]
        if export.with_operators:
            display_name, email, *rest = rest
            row.append(display_name or email or "")
        row.extend(rest)
        yield row


def _number(value: Decimal | int | None) -> object:
    return "" if value is None else value


def metric_rows(
    filters: selectors.Filters, *, now: dt.datetime, with_operators: bool
) -> list[list[object]]:
    """Return the dashboard's figures as rows: section, item, this period, previous period.

    A few hundred rows at most, so they are computed in the view (in the shop scope)."""
    board = selectors.dashboard(filters, now=now, with_operators=with_operators)
    current, before = board.summary, board.previous_summary
    section = gettext("Summary")
    rows: list[list[object]] = [
        [section, gettext("Tickets"), current.tickets, before.tickets],
        [section, gettext("New customers"), current.new_customers, before.new_customers],
        [
            section,
            gettext("Returning customers"),
            current.returning_customers,
            before.returning_customers,
        ],
        [section, gettext("Resolved"), current.resolved, before.resolved],
        [section, gettext("Reopened"), current.reopened, before.reopened],
        [section, gettext("One-touch resolutions"), current.one_touch, before.one_touch],
        [section, gettext("CSAT answers"), current.csat_answered, before.csat_answered],
        [
            section,
            gettext("Reopen rate (%)"),
            _number(current.reopen_rate),
            _number(before.reopen_rate),
        ],
        [
            section,
            gettext("One-touch rate (%)"),
            _number(current.one_touch_rate),
            _number(before.one_touch_rate),
        ],
        [
            section,
            gettext("CSAT average (1-5)"),
            _number(current.csat_average),
            _number(before.csat_average),
        ],
        [
            section,
            gettext("CSAT response rate (%)"),
            _number(current.csat_response_rate),
            _number(before.csat_response_rate),
        ],
    ]
    section = gettext("Response and resolution times (business seconds)")
    for figure, previous in zip(board.durations, board.previous_durations, strict=True):
        rows += [
            [section, f"{figure.label}: {gettext('count')}", figure.count, previous.count],
            [
                section,
                f"{figure.label}: {gettext('median')}",
                _number(figure.business_median),
                _number(previous.business_median),
            ],
            [
                section,
                f"{figure.label}: {gettext('90th percentile')}",
                _number(figure.business_p90),
                _number(previous.business_p90),
            ],
        ]
    section = gettext("SLA attainment (%)")
    rows += [[section, row.label, _number(row.attainment), ""] for row in board.attainment]
    breakdowns: list[tuple[str, Sequence[selectors.CountRow]]] = [
        (gettext("By channel"), board.by_channel),
        (gettext("By category"), board.by_category),
        (gettext("By tag"), board.by_tag),
    ]
    if with_operators:
        breakdowns.append((gettext("By operator"), board.by_operator))
    breakdowns += [
        (gettext("Tickets per day"), board.by_day),
        (gettext("Backlog by age (now)"), board.backlog),
    ]
    for title, count_rows in breakdowns:
        rows += [[title, row.label, row.count, ""] for row in count_rows]
    section = gettext("Rising topics")
    rows += [
        [section, topic.term, topic.count, topic.previous]
        for topic in topics.rising_topics(filters)
    ]
    return rows


def metric_header() -> list[str]:
    return [
        gettext("Section"),
        gettext("Figure"),
        gettext("This period"),
        gettext("Previous period"),
    ]
