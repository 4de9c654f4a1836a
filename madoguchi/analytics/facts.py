"""Turn one ticket's events into its analytics facts: a pure function, no queries.

The clocks are the SLA clocks of `operations.sla` (first response, next response cycles,
resolution) without targets, measured in the shop's business time with pending pauses left
out (`operations.sla.elapsed_working_time`) and in plain elapsed time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from madoguchi.operations.calendar import BusinessCalendar
from madoguchi.operations.sla import (
    SlaTargets,
    StatusChange,
    TicketHistory,
    compute_measures,
    elapsed_working_time,
)

RESOLVED_STATUSES = frozenset({"solved", "closed"})
UNSOLVED_STATUSES = frozenset({"new", "open", "pending", "on_hold"})
NO_TARGETS = SlaTargets()


@dataclass(frozen=True)
class EventRow:
    """The part of an event the facts read."""

    id: int
    type: str
    occurred_at: dt.datetime
    payload: dict[str, Any]
    actor_user_id: int | None = None


@dataclass(frozen=True)
class Duration:
    metric: str
    cycle: int
    started_at: dt.datetime
    completed_at: dt.datetime
    business_seconds: int
    elapsed_seconds: int


@dataclass(frozen=True)
class TicketFigures:
    """What the events say about one ticket."""

    reply_count: int
    reopen_count: int
    was_ever_resolved: bool
    resolved_at: dt.datetime | None
    is_csat_requested: bool
    csat_score: int | None
    last_event_id: int
    durations: tuple[Duration, ...]
    # Handle time per person who worked on the ticket (`ticket.worked` events).
    work: tuple[WorkTotal, ...] = ()


@dataclass(frozen=True)
class WorkTotal:
    """The seconds one person spent on the ticket page, and the part spent in the composer."""

    user_id: int | None
    seconds: int
    composing_seconds: int


def _score(payload: dict[str, Any]) -> int | None:
    value = payload.get("score")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        score = int(value)
    except ValueError:
        return None
    return score if 1 <= score <= 5 else None


def _worked(payload: dict[str, Any]) -> tuple[int, int]:
    """Return the seconds and composing seconds of a `ticket.worked` payload (0 when invalid)."""
    values = []
    for key in ("seconds", "composing_seconds"):
        value = payload.get(key, 0)
        values.append(value if isinstance(value, int) and not isinstance(value, bool) else 0)
    seconds = max(0, values[0])
    return seconds, min(seconds, max(0, values[1]))


def ticket_figures(
    *, created_at: dt.datetime, events: Sequence[EventRow], calendar: BusinessCalendar
) -> TicketFigures:
    """Return the figures of a ticket created at `created_at` with these events (any order)."""
    ordered = sorted(events, key=lambda event: event.id)
    customer_messages: list[dt.datetime] = []
    replies: list[dt.datetime] = []
    changes: list[StatusChange] = []
    reopen_count = 0
    was_ever_resolved = False
    is_csat_requested = False
    csat_score: int | None = None
    work: dict[int | None, list[int]] = {}
    for event in ordered:
        if event.type == "message.received":
            customer_messages.append(event.occurred_at)
        elif event.type == "message.replied":
            replies.append(event.occurred_at)
        elif event.type == "ticket.status_changed":
            old, new = str(event.payload.get("old", "")), str(event.payload.get("new", ""))
            changes.append(StatusChange(event.occurred_at, old, new))
            if new in RESOLVED_STATUSES:
                was_ever_resolved = True
            if old in RESOLVED_STATUSES and new in UNSOLVED_STATUSES:
                reopen_count += 1
        elif event.type == "csat.requested":
            is_csat_requested = True
        elif event.type == "csat.answered":
            # A changed answer replaces the earlier one: the newest counts.
            score = _score(event.payload)
            if score is not None:
                csat_score = score
                is_csat_requested = True
        elif event.type == "ticket.worked":
            seconds, composing = _worked(event.payload)
            totals = work.setdefault(event.actor_user_id, [0, 0])
            totals[0] += seconds
            totals[1] += composing
    history = TicketHistory(
        created_at=created_at,
        customer_messages=customer_messages,
        replies=replies,
        status_changes=changes,
    )
    durations = []
    resolved_at = None
    for measure in compute_measures(history, NO_TARGETS, calendar):
        if measure.completed_at is None:
            continue
        if measure.metric == "resolution":
            resolved_at = measure.completed_at
        business = elapsed_working_time(history, measure.started_at, measure.completed_at, calendar)
        durations.append(
            Duration(
                metric=measure.metric,
                cycle=measure.cycle,
                started_at=measure.started_at,
                completed_at=measure.completed_at,
                business_seconds=int(business.total_seconds()),
                elapsed_seconds=int((measure.completed_at - measure.started_at).total_seconds()),
            )
        )
    return TicketFigures(
        reply_count=len(replies),
        reopen_count=reopen_count,
        was_ever_resolved=was_ever_resolved,
        resolved_at=resolved_at,
        is_csat_requested=is_csat_requested,
        csat_score=csat_score,
        last_event_id=ordered[-1].id if ordered else 0,
        durations=tuple(durations),
        work=tuple(
            WorkTotal(user_id, seconds, composing)
            for user_id, (seconds, composing) in sorted(
                work.items(), key=lambda item: (item[0] is None, item[0] or 0)
            )
            if seconds
        ),
    )
