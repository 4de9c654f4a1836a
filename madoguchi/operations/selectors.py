"""Reads that turn a shop's rows into a calendar, a policy and a ticket's SLA history."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import QuerySet

from madoguchi.conversations.models import Ticket
from madoguchi.events.models import Event
from madoguchi.operations.calendar import BusinessCalendar
from madoguchi.operations.models import (
    BusinessCalendarSettings,
    Closure,
    OpeningHours,
    SlaMeasureRecord,
    SlaPolicy,
)
from madoguchi.operations.sla import StatusChange, TicketHistory
from madoguchi.tenancy.models import Shop

# A shop that has not set its hours yet: weekdays 10:00-18:00 with a lunch break.
DEFAULT_HOURS = ((dt.time(10), dt.time(12)), (dt.time(13), dt.time(18)))


def calendar_for_shop(*, shop_id: int) -> BusinessCalendar:
    """Return the shop's business calendar (the default hours when none are set), in the
    shop's time zone."""
    settings = (
        BusinessCalendarSettings.objects.filter(shop_id=shop_id).select_related("shop").first()
    )
    if settings is not None:
        time_zone = settings.shop.time_zone
    else:
        time_zone = Shop.objects.values_list("time_zone", flat=True).get(pk=shop_id)
    weekly: dict[int, list[tuple[dt.time, dt.time]]] = defaultdict(list)
    for hours in OpeningHours.objects.filter(shop_id=shop_id):
        weekly[hours.weekday].append((hours.opens_at, hours.closes_at))
    if not weekly and (settings is None or not settings.always_open):
        weekly = defaultdict(list, {weekday: list(DEFAULT_HOURS) for weekday in range(5)})
    closures = [
        (closure.starts_on, closure.ends_on) for closure in Closure.objects.filter(shop_id=shop_id)
    ]
    return BusinessCalendar(
        time_zone=time_zone or "Asia/Tokyo",
        weekly_hours=dict(weekly),
        closures=closures,
        observes_national_holidays=settings.observes_national_holidays if settings else True,
        always_open=settings.always_open if settings else False,
    )


def choose_policy(
    policies: Iterable[SlaPolicy], *, priority: str, channel: str
) -> SlaPolicy | None:
    """Return the most specific of `policies` matching a priority and channel: priority and
    channel both set, then one of them, then neither; `position`, then id, breaks ties."""
    best: tuple[int, int, int] | None = None
    chosen = None
    for policy in policies:
        if policy.priority and policy.priority != priority:
            continue
        if policy.channel and policy.channel != channel:
            continue
        rank = (-(bool(policy.priority) + bool(policy.channel)), policy.position, policy.id)
        if best is None or rank < best:
            best, chosen = rank, policy
    return chosen


def policy_for_ticket(*, ticket: Ticket) -> SlaPolicy | None:
    """Return the most specific active policy matching the ticket's priority and channel."""
    return choose_policy(
        SlaPolicy.objects.filter(shop_id=ticket.shop_id, is_active=True),
        priority=ticket.priority,
        channel=ticket.channel,
    )


def ticket_history(*, ticket: Ticket) -> TicketHistory:
    """Return the ticket's SLA-relevant history, read from its events."""
    customer_messages = []
    replies = []
    changes = []
    events = Event.objects.filter(ticket_id=ticket.id).order_by("id")
    for event in events.only("type", "occurred_at", "payload"):
        if event.type == "message.received":
            customer_messages.append(event.occurred_at)
        elif event.type == "message.replied":
            replies.append(event.occurred_at)
        elif event.type == "ticket.status_changed":
            changes.append(
                StatusChange(event.occurred_at, event.payload["old"], event.payload["new"])
            )
    return TicketHistory(
        created_at=ticket.created_at,
        customer_messages=customer_messages,
        replies=replies,
        status_changes=changes,
    )


def ticket_sla_measures(*, ticket_id: int) -> QuerySet[SlaMeasureRecord]:
    """Return the stored measures of a ticket, unfinished first, soonest due first."""
    return SlaMeasureRecord.objects.filter(ticket_id=ticket_id).order_by(
        "completed_at", "due_at", "metric", "cycle"
    )


def sla_at_risk(
    *,
    shop_ids: tuple[int, ...],
    now: dt.datetime,
    within: dt.timedelta = dt.timedelta(hours=1),
    limit: int = 5,
) -> list[SlaMeasureRecord]:
    """Return unfinished measures of these shops that are breached or due within `within`,
    soonest due first, with their tickets: what rises to the top of the inbox."""
    return list(
        SlaMeasureRecord.objects.filter(
            shop_id__in=shop_ids, completed_at__isnull=True, due_at__lte=now + within
        )
        .filter(ticket__status__in=Ticket.UNSOLVED_STATUSES)
        .select_related("ticket__shop", "ticket__assignee")
        .order_by("due_at", "id")[:limit]
    )
