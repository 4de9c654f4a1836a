"""Append to a shop's event log; called inside the service that made the change."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from madoguchi.events.models import ActorKind, ConsumerCursor, Event
from madoguchi.events.registry import get_event_type

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.conversations.models import Ticket
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.models import Shop


def event_append(
    *,
    shop: Shop,
    type: str,
    actor_kind: ActorKind,
    ticket: Ticket | None = None,
    actor_user: User | None = None,
    actor_customer: Customer | None = None,
    payload: dict[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
) -> Event:
    """Append one event of a registered type to `shop`'s log and return it."""
    event_type = get_event_type(type)
    if ticket is not None and ticket.shop_id != shop.id:
        raise ValueError("An event's ticket must belong to its shop")
    return Event.objects.create(
        shop=shop,
        ticket=ticket,
        type=event_type.name,
        actor_kind=actor_kind,
        actor_user=actor_user,
        actor_customer=actor_customer,
        occurred_at=occurred_at or timezone.now(),
        payload_version=event_type.version,
        payload=payload or {},
    )


def consumer_position(*, name: str) -> int:
    """Return the id up to which the consumer `name` has processed events (0 when new)."""
    cursor, _ = ConsumerCursor.objects.get_or_create(name=name)
    return cursor.position


def consumer_advance(*, name: str, position: int) -> None:
    """Move the consumer's cursor forward (never backwards)."""
    ConsumerCursor.objects.filter(name=name, position__lt=position).update(position=position)
