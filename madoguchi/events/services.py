"""Append to a shop's event log; called inside the service that made the change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from madoguchi.core.db import insert_all
from madoguchi.events.models import ActorKind, ConsumerCursor, Event
from madoguchi.events.registry import get_event_type

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.conversations.models import Ticket
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.models import Shop


class _Deferred:
    """An event waiting for the end of an `events_deferred` block.

    It is also registered with `transaction.on_commit` (as a no-op): Django drops that
    registration when the savepoint it was made in rolls back, which tells the flush that the
    change the event describes did not happen.
    """

    __slots__ = ("event",)

    def __init__(self, event: Event) -> None:
        self.event = event

    def __call__(self) -> None:
        pass


_DEFERRED: ContextVar[list[_Deferred] | None] = ContextVar(
    "madoguchi_deferred_events", default=None
)


@contextmanager
def events_deferred() -> Iterator[None]:
    """Insert the events appended inside the block in one statement when the block ends.

    For writers that append many events in one transaction (a batch of inbound mails). The
    events are inserted in the order they were appended, inside the same transaction, so the log
    stays append-only and ordered. Events appended in a savepoint that rolled back are dropped;
    an exception leaving the block drops all of its events (the caller's transaction or
    savepoint rolls their changes back). Nested blocks hand their events to the outer one. The
    `Event` that `event_append` returns has no id before the block ends, and code inside the
    block does not see its own events in queries. Outside a transaction it changes nothing.
    """
    outer = _DEFERRED.get()
    buffer: list[_Deferred] = []
    token = _DEFERRED.set(buffer)
    try:
        yield
    finally:
        _DEFERRED.reset(token)
    if outer is not None:
        outer.extend(buffer)
    elif buffer:
        connection = transaction.get_connection()
        # `run_on_commit` holds the registrations of the open transaction (see above).
        alive = {id(entry[1]) for entry in connection.run_on_commit}
        events = [pending.event for pending in buffer if id(pending) in alive]
        if events:
            insert_all(events)


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
    event = Event(
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
    buffer = _DEFERRED.get()
    if buffer is not None and transaction.get_connection().in_atomic_block:
        pending = _Deferred(event)
        transaction.on_commit(pending)
        buffer.append(pending)
    else:
        event.save(force_insert=True)
    return event


def consumer_position(*, name: str) -> int:
    """Return the id up to which the consumer `name` has processed events (0 when new)."""
    cursor, _ = ConsumerCursor.objects.get_or_create(name=name)
    return cursor.position


def consumer_lock(*, name: str) -> int:
    """Lock the consumer's cursor until the current transaction ends; return its position.

    The consumer's writers take turns on it: a second one waits here until the first commits
    and then reads what the first wrote (PostgreSQL; SQLite's IMMEDIATE transactions already
    run one writer at a time). Call it first in the transaction, before any other write.
    """
    cursor, _ = ConsumerCursor.objects.select_for_update().get_or_create(name=name)
    return cursor.position


def consumer_advance(*, name: str, position: int) -> None:
    """Move the consumer's cursor forward (never backwards)."""
    ConsumerCursor.objects.filter(name=name, position__lt=position).update(position=position)


# The payload values that name or quote a person (ADR 0015): erasure blanks them and keeps
# every id, count and code, so the reports that read the log still add up.
PERSONAL_PAYLOAD_KEYS: dict[str, tuple[str, ...]] = {
    "ticket.created": ("subject",),
    "mail.acknowledged": ("to",),
    "mail.loop_detected": ("address",),
    "mail.bounced": ("recipient",),
    "reply.draft_returned": ("comment",),
}


def event_payloads_scrub(
    *, shop_id: int, ticket_ids: Sequence[int], values: Collection[str] = ()
) -> int:
    """Blank the personal payload values of the events of these tickets; return how many changed.

    Also blanks those keys in the shop's ticketless events whose value is one of `values` (the
    erased customer's addresses). The one sanctioned rewrite of the append-only log (ADR 0015):
    rows are neither deleted nor re-ordered, only the listed keys become "".
    """
    types = list(PERSONAL_PAYLOAD_KEYS)
    wanted = {value for value in values if value}
    candidates = Event.objects.filter(shop_id=shop_id, type__in=types)
    changed: list[Event] = []
    for event in candidates.filter(ticket_id__in=list(ticket_ids)).iterator(chunk_size=500):
        if _scrub(event, wanted=None):
            changed.append(event)
    if wanted:
        for event in candidates.filter(ticket__isnull=True).iterator(chunk_size=500):
            if _scrub(event, wanted=wanted):
                changed.append(event)
    # The manager's queryset refuses updates; this is the explicit escape hatch.
    plain: models.QuerySet[Event] = models.QuerySet(model=Event)
    plain.bulk_update(changed, ["payload"], batch_size=500)
    return len(changed)


def _scrub(event: Event, *, wanted: set[str] | None) -> bool:
    payload = dict(event.payload or {})
    is_changed = False
    for key in PERSONAL_PAYLOAD_KEYS.get(event.type, ()):
        value = payload.get(key)
        if not value:
            continue
        if wanted is None or (isinstance(value, str) and value.strip().lower() in wanted):
            payload[key] = ""
            is_changed = True
    if is_changed:
        event.payload = payload
    return is_changed
