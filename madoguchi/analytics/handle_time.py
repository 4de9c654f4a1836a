"""Handle time: how long staff actually work on a ticket, from `ticket.worked` events.

The ticket page sends a heartbeat while it is visible and focused (`analytics/handle_time.js`):
the seconds since its previous one, and how many of them were spent typing in the composer.
`ticket_work_record` appends them to the event log, capped so that one request claims at most
the time elapsed since the same person's previous heartbeat (on any ticket: two tabs do not
count twice) and never more than `MAX_BEAT_SECONDS`. The facts sum them per ticket and person
(`HandleFact`); the dashboard shows median and 90th percentile per ticket and the total per
operator, over the tickets created in the period (as every ticket figure), each with its tickets.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.analytics import selectors
from madoguchi.analytics.models import HandleFact, TicketFact
from madoguchi.conversations.models import Ticket
from madoguchi.events.models import ActorKind, Event
from madoguchi.events.services import event_append
from madoguchi.tenancy.access import Actor, require_staff

# The page reports every ~30 s of activity; a little more is accepted for a slow network.
MAX_BEAT_SECONDS = 90
# The previous heartbeat is remembered this long; after it, a beat may claim MAX_BEAT_SECONDS.
LAST_BEAT_TTL = 60 * 60
WORKED = "ticket.worked"


def _last_beat_key(user_id: int) -> str:
    return f"analytics:worked:{user_id}"


def ticket_work_record(
    *,
    actor: Actor,
    ticket: Ticket,
    seconds: int,
    composing_seconds: int = 0,
    now: dt.datetime | None = None,
) -> Event | None:
    """Append the time the actor says they worked on the ticket; return the event (None when
    nothing is left after the cap). Only the shop's staff work tickets."""
    require_staff(actor=actor, shop_id=ticket.shop_id)
    assert actor.user is not None
    now = now or timezone.now()
    claimed = min(max(0, seconds), MAX_BEAT_SECONDS)
    key = _last_beat_key(actor.user.id)
    previous = cache.get(key)
    if isinstance(previous, int | float):
        since = now.timestamp() - float(previous)
        claimed = min(claimed, max(0, math.floor(since)))
    if claimed < 1:
        return None
    cache.set(key, now.timestamp(), timeout=LAST_BEAT_TTL)
    composing = min(max(0, composing_seconds), claimed)
    return event_append(
        shop=ticket.shop,
        type=WORKED,
        actor_kind=ActorKind.OPERATOR,
        ticket=ticket,
        actor_user=actor.user,
        payload={"seconds": claimed, "composing_seconds": composing},
        occurred_at=now,
    )


# Reads ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandleTimeFigure:
    """Handle time per ticket over the period's tickets that were worked on, in seconds."""

    tickets: int = 0
    median: int | None = None
    p90: int | None = None
    total: int = 0
    composing_total: int = 0


@dataclass(frozen=True)
class OperatorHandleRow:
    key: str
    label: str
    tickets: int
    seconds: int
    composing_seconds: int


def _period_handles(filters: selectors.Filters) -> QuerySet[HandleFact]:
    return HandleFact.objects.filter(
        filters.dimension_q("fact__"),
        shop_id__in=filters.shop_ids,
        fact__created_at__gte=filters.start,
        fact__created_at__lt=filters.end,
    )


def handle_time(filters: selectors.Filters) -> HandleTimeFigure:
    """Return median and 90th percentile (nearest rank) of the time worked per ticket, and the
    totals, over the tickets created in the period."""
    handles = _period_handles(filters)
    per_ticket = handles.values("fact_id").annotate(total=Sum("seconds")).order_by()
    count = per_ticket.count()
    if not count:
        return HandleTimeFigure()
    ordered = per_ticket.order_by("total", "fact_id").values_list("total", flat=True)
    percentiles = {
        percentile: int(ordered[position - 1])
        for percentile, position in selectors._ranks(count).items()
    }
    sums = handles.aggregate(total=Sum("seconds"), composing=Sum("composing_seconds"))
    return HandleTimeFigure(
        tickets=count,
        median=percentiles[50],
        p90=percentiles[90],
        total=sums["total"] or 0,
        composing_total=sums["composing"] or 0,
    )


def handle_by_operator(filters: selectors.Filters) -> list[OperatorHandleRow]:
    """Return the time each person worked on the period's tickets, most first."""
    rows = (
        _period_handles(filters)
        .values("operator_id", "operator__display_name", "operator__email")
        .annotate(
            seconds=Sum("seconds"),
            composing=Sum("composing_seconds"),
            tickets=Count("fact_id", distinct=True),
        )
        .order_by()
    )
    ordered = sorted(
        rows,
        key=lambda row: (-row["seconds"], row["operator__display_name"] or "", row["operator_id"]),
    )
    return [
        OperatorHandleRow(
            key=str(row["operator_id"] or ""),
            label=row["operator__display_name"]
            or row["operator__email"]
            or str(_("(former staff)")),
            tickets=row["tickets"],
            seconds=row["seconds"] or 0,
            composing_seconds=row["composing"] or 0,
        )
        for row in ordered
    ]


def handle_drilldown(
    filters: selectors.Filters, *, operator: str, with_operators: bool
) -> tuple[list[selectors.DrilldownRow], int]:
    """Return the period's tickets that were worked on (by `operator`, a user id, when given),
    the longest handled first, with their handle time; ValueError for a hidden or bad operator."""
    handles = _period_handles(filters)
    if operator:
        if not with_operators or not operator.isdigit():
            raise ValueError(operator)
        handles = handles.filter(operator_id=int(operator))
    per_ticket = handles.values("fact_id").annotate(total=Sum("seconds")).order_by()
    total = per_ticket.count()
    top = list(
        per_ticket.order_by("-total", "-fact_id").values_list("fact_id", "total")[
            : selectors.DRILLDOWN_LIMIT
        ]
    )
    facts = TicketFact.objects.filter(
        shop_id__in=filters.shop_ids, id__in=[fact_id for fact_id, _total in top]
    ).select_related("ticket", "shop", "assignee")
    by_id = {fact.id: fact for fact in facts}
    return [
        selectors._row(by_id[fact_id], with_operators=with_operators, seconds=int(seconds))
        for fact_id, seconds in top
        if fact_id in by_id
    ], total


def clock(seconds: int | None) -> str:
    """Return a duration as h:mm:ss; "—" for none."""
    if seconds is None:
        return "—"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{rest:02d}"
