"""SLA clocks computed from a ticket's history: first response, next response, resolution.

Pure functions over `TicketHistory` (built from the event log) and a `BusinessCalendar`, so the
same arithmetic serves the ticket page, breach warnings and stored attainment. The clocks stop
while the ticket is pending (waiting on the customer) and resume when it leaves pending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from madoguchi.operations.calendar import (
    BusinessCalendar,
    Interval,
    add_working_time,
    working_time_between,
)

PAUSING_STATUSES = frozenset({"pending"})
FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
ALWAYS_OPEN = BusinessCalendar(always_open=True)


class Metric:
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


@dataclass(frozen=True)
class SlaTargets:
    first_response: dt.timedelta | None = None
    next_response: dt.timedelta | None = None
    resolution: dt.timedelta | None = None
    in_business_hours: bool = True


@dataclass(frozen=True)
class StatusChange:
    at: dt.datetime
    old: str
    new: str


@dataclass(frozen=True)
class TicketHistory:
    """What the SLA clocks need to know about a ticket, in time order."""

    created_at: dt.datetime
    customer_messages: Sequence[dt.datetime] = ()
    replies: Sequence[dt.datetime] = ()
    status_changes: Sequence[StatusChange] = ()


@dataclass(frozen=True)
class SlaMeasure:
    metric: str
    cycle: int
    started_at: dt.datetime
    due_at: dt.datetime | None
    completed_at: dt.datetime | None

    def is_breached(self, now: dt.datetime) -> bool:
        if self.due_at is None:
            return False
        return (self.completed_at or now) > self.due_at

    def remaining(self, now: dt.datetime) -> dt.timedelta | None:
        """Time left until the due time (negative once breached); None when completed."""
        if self.completed_at is not None or self.due_at is None:
            return None
        return self.due_at - now


def pause_intervals(history: TicketHistory) -> list[Interval]:
    """Return the periods the ticket spent in a pausing status (the last may be open-ended)."""
    pauses: list[Interval] = []
    paused_since: dt.datetime | None = None
    for change in sorted(history.status_changes, key=lambda c: c.at):
        if change.new in PAUSING_STATUSES and paused_since is None:
            paused_since = change.at
        elif change.new not in PAUSING_STATUSES and paused_since is not None:
            pauses.append((paused_since, change.at))
            paused_since = None
    if paused_since is not None:
        pauses.append((paused_since, FAR_FUTURE))
    return pauses


def _resolved_at(history: TicketHistory) -> dt.datetime | None:
    resolved = None
    for change in sorted(history.status_changes, key=lambda c: c.at):
        is_resolved = change.new in ("solved", "closed")
        resolved = (resolved or change.at) if is_resolved else None
    return resolved


def compute_measures(
    history: TicketHistory, targets: SlaTargets, calendar: BusinessCalendar
) -> list[SlaMeasure]:
    """Return every SLA measure of the ticket: one first response, one per next-response cycle,
    and one resolution, each with its due time (None when the policy has no such target)."""
    clock = calendar if targets.in_business_hours else ALWAYS_OPEN
    pauses = pause_intervals(history)
    replies = sorted(history.replies)

    def due(start: dt.datetime, target: dt.timedelta | None) -> dt.datetime | None:
        if target is None:
            return None
        return add_working_time(clock, start, target, pauses=pauses)

    def first_reply_after(moment: dt.datetime) -> dt.datetime | None:
        return next((reply for reply in replies if reply >= moment), None)

    measures = [
        SlaMeasure(
            metric=Metric.FIRST_RESPONSE,
            cycle=0,
            started_at=history.created_at,
            due_at=due(history.created_at, targets.first_response),
            completed_at=first_reply_after(history.created_at),
        )
    ]
    cycle = 0
    last_answered: dt.datetime | None = replies[0] if replies else None
    for received_at in sorted(history.customer_messages):
        # A customer message after our last reply starts a new next-response cycle.
        if last_answered is None or received_at <= last_answered:
            continue
        cycle += 1
        answered_at = first_reply_after(received_at)
        measures.append(
            SlaMeasure(
                metric=Metric.NEXT_RESPONSE,
                cycle=cycle,
                started_at=received_at,
                due_at=due(received_at, targets.next_response),
                completed_at=answered_at,
            )
        )
        if answered_at is None:
            break
        last_answered = answered_at
    measures.append(
        SlaMeasure(
            metric=Metric.RESOLUTION,
            cycle=0,
            started_at=history.created_at,
            due_at=due(history.created_at, targets.resolution),
            completed_at=_resolved_at(history),
        )
    )
    return measures


def elapsed_working_time(
    history: TicketHistory,
    start: dt.datetime,
    end: dt.datetime,
    calendar: BusinessCalendar,
) -> dt.timedelta:
    """Return the clock time between `start` and `end` for this ticket (pauses excluded)."""
    return working_time_between(calendar, start, end, pauses=pause_intervals(history))
