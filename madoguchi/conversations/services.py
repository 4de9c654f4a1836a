"""Every write of tickets and messages: one service per user intent.

Each service is atomic, appends the events that analytics, SLAs and live updates read, and writes
the audit record. Inbound contact from any channel enters through `receive_inbound`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.collisions import reply_conflict_check
from madoguchi.conversations.hooks import run_inbound_hooks_on_commit
from madoguchi.conversations.models import Category, Channel, Message, Tag, Ticket
from madoguchi.conversations.outbound import dispatch_outbound, ticket_delivery_refresh
from madoguchi.conversations.sanitize import sanitize_html
from madoguchi.core.db import insert_all, save_each
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.customers.services import (
    CustomerRequest,
    IdentityInput,
    customer_find_or_create,
    customers_find_or_create,
)
from madoguchi.events.models import ActorKind, Event
from madoguchi.events.services import event_append, events_deferred
from madoguchi.search.services import search_index_new_tickets, search_index_ticket_on_commit
from madoguchi.tenancy.access import Actor, actor_for_user, require_staff
from madoguchi.tenancy.models import Shop

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.customers.models import Customer

Status = Ticket.Status
MAX_BODY_CHARS = 200_000
MAX_SUBJECT_CHARS = 255
SHOP_ARCHIVED = gettext_noop("This shop is archived: it accepts no new contacts.")


class ShopArchivedError(ValidationError):
    """An inbound message for an archived shop: refused, the connector keeps its raw input."""


def _next_ticket_numbers(shop: Shop, count: int) -> range:
    """Take the shop's next `count` ticket numbers; the row update serialises concurrent writers.

    One statement (UPDATE ... RETURNING, on SQLite and PostgreSQL alike) takes and reads them.
    """
    if count == 0:
        return range(0)
    table = connection.ops.quote_name(Shop._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_ticket_number = last_ticket_number + %s "  # noqa: S608
            "WHERE id = %s RETURNING last_ticket_number",
            [count, shop.pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise Shop.DoesNotExist(shop.pk)
    last: int = row[0]
    return range(last - count + 1, last + 1)


def _clean_subject(subject: str) -> str:
    # Control characters (CR/LF included) never reach a subject: it ends up in mail headers.
    text = "".join(ch if ch.isprintable() else " " for ch in subject).strip()
    return " ".join(text.split())[:MAX_SUBJECT_CHARS]


def _clean_body(body: str) -> str:
    # NUL never reaches a text column: PostgreSQL refuses it, and a mail may carry one.
    text = body.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_BODY_CHARS:
        raise ValidationError("The message is too long.")
    return text


def _actor_kind(actor: Actor, shop_id: int) -> ActorKind:
    return ActorKind.OPERATOR if actor.is_staff_for(shop_id) else ActorKind.CLIENT


def _touch(ticket: Ticket, at: dt.datetime) -> None:
    if at > ticket.last_activity_at:
        ticket.last_activity_at = at


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message as any connector hands it over, already decoded and sanitized."""

    shop_id: int
    channel: str
    external_id: str
    body_text: str
    identities: Sequence[IdentityInput]
    customer_name: str = ""
    subject: str = ""
    body_html: str = ""
    received_at: dt.datetime | None = None
    ticket_id: int | None = None
    language: str = "ja"
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundResult:
    ticket: Ticket
    message: Message
    is_new_ticket: bool
    is_duplicate: bool


def _stored_inbound(
    shop_id: int, inbounds: Sequence[InboundMessage]
) -> dict[tuple[str, str], Message]:
    """Return the stored messages these inbound messages repeat, by (channel, external_id)."""
    wanted: dict[str, set[str]] = {}
    for inbound in inbounds:
        if inbound.external_id:
            wanted.setdefault(inbound.channel, set()).add(inbound.external_id)
    stored: dict[tuple[str, str], Message] = {}
    for channel, external_ids in wanted.items():
        found = Message.objects.filter(
            shop_id=shop_id, channel=channel, external_id__in=external_ids
        )
        # Nearly every message is new: ask the (unique) index first, load rows only on a hit.
        hits = list(found.values_list("id", flat=True))
        if hits:
            for message in Message.objects.filter(pk__in=hits).select_related(
                "ticket", "ticket__shop"
            ):
                stored[(channel, message.external_id)] = message
    return stored


def receive_inbound(inbound: InboundMessage, *, shop: Shop | None = None) -> InboundResult:
    """Store a customer's message: find or create the customer and the ticket, append events.

    Idempotent on (shop, channel, external_id): a repeated delivery returns the stored message.
    A message for a solved ticket reopens it; one for a closed ticket starts a new ticket.
    A caller that holds the shop row already may pass it (`shop.id` must be `inbound.shop_id`).
    An archived shop refuses new messages (`ShopArchivedError`).
    """
    return receive_inbound_many([inbound], shop=shop or Shop.objects.get(pk=inbound.shop_id))[0]


def receive_inbound_many(inbounds: Sequence[InboundMessage], *, shop: Shop) -> list[InboundResult]:
    """Store several customer messages of `shop` as `receive_inbound` would, one after another.

    For a batch of mail: customers, tickets, messages and events are each written with one
    statement for the whole batch. A message's `ticket_id` must name a stored ticket (not one
    another message of the same call opens); a repeated external id in the call is a
    duplicate of its first occurrence. Events follow the messages' order, except that the
    `customer.created` events of the call come first. When a concurrent writer stored one of
    the messages meanwhile (a unique constraint), the messages are stored one by one instead.

    Every channel enters here, so this is where an archived shop (`shop.archived_at`, as the
    caller loaded it) refuses new messages with `ShopArchivedError`: the connector's own row
    (raw mail, webhook, submission) keeps the input and shows the error. A repeated delivery
    of a message stored before the archiving still gets its stored result.
    """
    for inbound in inbounds:
        if inbound.shop_id != shop.id:
            raise ValueError("The shop given is not the inbound message's shop")
    stored = _stored_inbound(shop.id, inbounds)
    if all((inbound.channel, inbound.external_id) in stored for inbound in inbounds):
        return [_duplicate(stored[(inbound.channel, inbound.external_id)]) for inbound in inbounds]
    if shop.archived_at is not None:
        raise ShopArchivedError(SHOP_ARCHIVED)
    try:
        with transaction.atomic(), events_deferred():
            return _receive_inbound_many(inbounds, shop, stored)
    except IntegrityError:
        if len(inbounds) > 1:
            return [receive_inbound(inbound, shop=shop) for inbound in inbounds]
        inbound = inbounds[0]
        existing = _stored_inbound(shop.id, inbounds).get((inbound.channel, inbound.external_id))
        if existing is None:
            raise
        return [_duplicate(existing)]


def _duplicate(message: Message) -> InboundResult:
    return InboundResult(message.ticket, message, is_new_ticket=False, is_duplicate=True)


def _receive_inbound_many(
    inbounds: Sequence[InboundMessage], shop: Shop, stored: dict[tuple[str, str], Message]
) -> list[InboundResult]:
    # Which messages are new: the first occurrence of each external id not stored yet.
    first_of: dict[tuple[str, str], int] = {}
    fresh: list[int] = []
    for position, inbound in enumerate(inbounds):
        if inbound.channel not in Channel.values:
            raise ValidationError(f"Unknown channel {inbound.channel!r}")
        key = (inbound.channel, inbound.external_id)
        if inbound.external_id and (key in stored or key in first_of):
            continue
        if inbound.external_id:
            first_of[key] = position
        fresh.append(position)
    times = {i: inbounds[i].received_at or timezone.now() for i in fresh}
    customers = customers_find_or_create(
        shop=shop,
        requests=[
            CustomerRequest(
                name=inbounds[i].customer_name,
                identities=inbounds[i].identities,
                activity_at=times[i],
            )
            for i in fresh
        ],
    )
    continued = _open_tickets(shop, [inbounds[i].ticket_id for i in fresh])
    # New tickets: numbers taken together, rows inserted together.
    opening = [
        (i, customer)
        for i, (customer, _created) in zip(fresh, customers, strict=True)
        if continued.get(inbounds[i].ticket_id or 0) is None
    ]
    numbers = _next_ticket_numbers(shop, len(opening))
    new_tickets: dict[int, Ticket] = {}
    for (i, customer), number in zip(opening, numbers, strict=True):
        inbound = inbounds[i]
        new_tickets[i] = Ticket(
            shop=shop,
            number=number,
            subject=_clean_subject(inbound.subject or _subject_from_body(inbound.body_text))
            or "(no subject)",
            status=Status.NEW,
            priority=Ticket.Priority.NORMAL,
            customer=customer,
            channel=inbound.channel,
            language=inbound.language,
            created_at=times[i],
            last_activity_at=times[i],
        )
    insert_all(list(new_tickets.values()))
    messages: dict[int, Message] = {}
    for i, (customer, _created) in zip(fresh, customers, strict=True):
        inbound = inbounds[i]
        messages[i] = Message(
            shop=shop,
            ticket=new_tickets.get(i) or continued[inbound.ticket_id or 0],
            direction=Message.Direction.INBOUND,
            channel=inbound.channel,
            author_customer=customer,
            body_text=_clean_body(inbound.body_text),
            body_html=sanitize_html(inbound.body_html) if inbound.body_html else "",
            external_id=inbound.external_id,
            created_at=times[i],
        )
    insert_all(list(messages.values()))
    touched: dict[int, Ticket] = {}
    for i, (customer, _created) in zip(fresh, customers, strict=True):
        inbound, message, at = inbounds[i], messages[i], times[i]
        ticket = message.ticket
        if i in new_tickets:
            _ticket_opened(ticket, actor_kind=ActorKind.CUSTOMER, customer=customer, via="inbound")
        event_append(
            shop=shop,
            ticket=ticket,
            type="message.received",
            actor_kind=ActorKind.CUSTOMER,
            actor_customer=customer,
            payload={"message_id": message.id, "channel": inbound.channel},
            occurred_at=at,
        )
        run_inbound_hooks_on_commit(message.id, shop.id)
        if i not in new_tickets:
            if ticket.status in (Status.PENDING, Status.SOLVED):
                _set_status(ticket, Status.OPEN, actor_kind=ActorKind.CUSTOMER, user=None)
            _touch(ticket, at)
            touched[ticket.id] = ticket
            search_index_ticket_on_commit(ticket.id)
    now = timezone.now()
    for ticket in touched.values():
        ticket.updated_at = now
    # Only what a customer's message changes: a concurrent edit of other fields stays.
    save_each(
        list(touched.values()),
        ["status", "solved_at", "closed_at", "last_activity_at", "updated_at"],
    )
    # New tickets are indexed with their rows, from the texts at hand.
    search_index_new_tickets(
        list(new_tickets.values()),
        {new_tickets[i].id: [messages[i].body_text] for i in new_tickets},
    )
    results = []
    for position, inbound in enumerate(inbounds):
        if position in messages:
            message = messages[position]
            results.append(
                InboundResult(
                    message.ticket,
                    message,
                    is_new_ticket=position in new_tickets,
                    is_duplicate=False,
                )
            )
            continue
        key = (inbound.channel, inbound.external_id)
        results.append(_duplicate(stored[key] if key in stored else messages[first_of[key]]))
    return results


def _open_tickets(shop: Shop, ticket_ids: Sequence[int | None]) -> dict[int, Ticket]:
    """Return the tickets messages continue, by the id given: merges followed, closed ones left out.

    Two ids that lead to the same ticket get the same object, so its changes add up.
    """
    wanted = {ticket_id for ticket_id in ticket_ids if ticket_id is not None}
    if not wanted:
        return {}
    targets = _merged_into(shop, wanted)
    rows = Ticket.objects.filter(shop=shop, pk__in=set(targets.values())).exclude(
        status=Status.CLOSED
    )
    by_id = {}
    for ticket in rows:
        ticket.shop = shop  # the row we hold: events and status changes read it
        by_id[ticket.id] = ticket
    return {ticket_id: by_id[target] for ticket_id, target in targets.items() if target in by_id}


MAX_MERGE_HOPS = 10


def _merged_into(shop: Shop, ticket_ids: set[int]) -> dict[int, int]:
    """Follow merges from each ticket to the ticket that now holds its conversation.

    A customer answering the thread of a merged ticket reaches the ticket it was merged into.
    One query per hop, for all tickets still moving.
    """
    targets = {ticket_id: ticket_id for ticket_id in ticket_ids}
    moving = set(ticket_ids)
    for _ in range(MAX_MERGE_HOPS):
        merges = (
            Event.objects.filter(shop=shop, ticket_id__in=moving, type="ticket.merged")
            .order_by("id")
            .values_list("ticket_id", "payload__source_id", "payload__target_id")
        )
        # The newest merge of each ticket that was the merge's source.
        moved = {
            ticket_id: int(target_id)
            for ticket_id, source_id, target_id in merges
            if source_id == ticket_id and target_id is not None
        }
        if not moved:
            break
        for origin, current in targets.items():
            if current in moved:
                targets[origin] = moved[current]
        moving = set(moved.values())
    return targets


def _subject_from_body(body: str) -> str:
    first_line = next((line for line in body.splitlines() if line.strip()), "")
    return _clean_subject(first_line)[:60] or "(no subject)"


def _ticket_open(
    *,
    shop: Shop,
    customer: Customer,
    channel: str,
    subject: str,
    language: str,
    at: dt.datetime,
    actor_kind: ActorKind,
    via: str,
    user: User | None = None,
    priority: str = Ticket.Priority.NORMAL,
    category: Category | None = None,
    assignee: User | None = None,
) -> Ticket:
    ticket = Ticket.objects.create(
        shop=shop,
        number=_next_ticket_numbers(shop, 1)[0],
        subject=_clean_subject(subject) or "(no subject)",
        status=Status.NEW,
        priority=priority,
        category=category,
        assignee=assignee,
        customer=customer,
        channel=channel,
        language=language,
        created_at=at,
        last_activity_at=at,
    )
    _ticket_opened(ticket, actor_kind=actor_kind, customer=customer, via=via, user=user)
    return ticket


def _ticket_opened(
    ticket: Ticket,
    *,
    actor_kind: ActorKind,
    customer: Customer,
    via: str,
    user: User | None = None,
) -> None:
    """Append the events of a ticket just opened (`ticket.created`, and its first assignment)."""
    event_append(
        shop=ticket.shop,
        ticket=ticket,
        type="ticket.created",
        actor_kind=actor_kind,
        actor_user=user,
        actor_customer=customer if actor_kind == ActorKind.CUSTOMER else None,
        payload={"channel": ticket.channel, "subject": ticket.subject, "via": via},
        occurred_at=ticket.created_at,
    )
    if ticket.assignee_id is not None:
        event_append(
            shop=ticket.shop,
            ticket=ticket,
            type="ticket.assigned",
            actor_kind=actor_kind,
            actor_user=user,
            payload={"old_user_id": None, "new_user_id": ticket.assignee_id},
            occurred_at=ticket.created_at,
        )


def _set_status(ticket: Ticket, status: str, *, actor_kind: ActorKind, user: User | None) -> None:
    old = ticket.status
    if old == status:
        return
    now = timezone.now()
    ticket.status = status
    if status == Status.SOLVED:
        ticket.solved_at = now
    elif status == Status.CLOSED:
        ticket.closed_at = now
    elif old in (Status.SOLVED, Status.CLOSED):
        ticket.solved_at = None
        ticket.closed_at = None
    event_append(
        shop=ticket.shop,
        ticket=ticket,
        type="ticket.status_changed",
        actor_kind=actor_kind,
        actor_user=user,
        payload={"old": old, "new": status},
        occurred_at=now,
    )


@transaction.atomic
def ticket_create(
    *,
    actor: Actor,
    shop: Shop,
    channel: str,
    subject: str,
    body_text: str,
    customer: Customer | None = None,
    customer_name: str = "",
    identities: Sequence[IdentityInput] = (),
    priority: str = Ticket.Priority.NORMAL,
    category: Category | None = None,
    assign_to_self: bool = False,
) -> Ticket:
    """Open a ticket by hand, for example from a phone call; `body_text` is the customer's request
    (call notes), stored as the first inbound message, logged by the operator."""
    require_staff(actor=actor, shop_id=shop.id)
    user = actor.user
    if channel not in Channel.values:
        raise ValidationError("Unknown channel.")
    if priority not in Ticket.Priority.values:
        raise ValidationError("Unknown priority.")
    body = _clean_body(body_text)
    if not body:
        raise ValidationError("Write what the customer asked.")
    if not _clean_subject(subject):
        raise ValidationError("A subject is required.")
    if customer is None:
        if not customer_name.strip() and not identities:
            raise ValidationError("Choose a customer or enter their name or contact.")
        customer, _ = customer_find_or_create(
            shop=shop, name=customer_name, identities=identities, actor=user
        )
    elif customer.shop_id != shop.id:
        raise ValidationError("The customer belongs to another shop.")
    if category is not None and category.shop_id != shop.id:
        raise ValidationError("The category belongs to another shop.")
    at = timezone.now()
    ticket = _ticket_open(
        shop=shop,
        customer=customer,
        channel=channel,
        subject=subject,
        language=shop.default_language,
        at=at,
        actor_kind=ActorKind.OPERATOR,
        via="manual",
        user=user,
        priority=priority,
        category=category,
        assignee=user if assign_to_self else None,
    )
    message = Message.objects.create(
        shop=shop,
        ticket=ticket,
        direction=Message.Direction.INBOUND,
        channel=channel,
        author_customer=customer,
        author_user=user,
        body_text=body,
        created_at=at,
    )
    event_append(
        shop=shop,
        ticket=ticket,
        type="message.received",
        actor_kind=ActorKind.OPERATOR,
        actor_user=user,
        payload={"message_id": message.id, "channel": channel, "logged_by_staff": True},
        occurred_at=at,
    )
    run_inbound_hooks_on_commit(message.id, shop.id)
    if assign_to_self:
        _set_status(ticket, Status.OPEN, actor_kind=ActorKind.OPERATOR, user=user)
        ticket.save()
    record(actor=user, action=actions.TICKET_CREATED, target=ticket, shop=shop)
    search_index_ticket_on_commit(ticket.id)
    return ticket


@transaction.atomic
def message_reply(
    *,
    actor: Actor,
    ticket: Ticket,
    body_text: str,
    status: str | None = None,
    approved_by: User | None = None,
    seen_message_id: int | None = None,
) -> Message:
    """Answer the customer on the ticket's channel; optionally set the status in the same step.

    The reply is stored here; the channel connector sends it (delivery status on the message).
    A trainee's reply is only sent with the supervisor who approved it (`approved_by`); until
    then it is a draft (operations `reply_draft_submit`). With `seen_message_id` (the newest
    message the operator saw), another person's newer reply raises `ReplyConflictError`.
    """
    if not actor.can_reply(ticket.shop_id):
        raise PermissionDeniedError("You may not reply on this ticket.")
    if actor.is_trainee_for(ticket.shop_id) and approved_by is None:
        raise PermissionDeniedError("A trainee's reply waits for a supervisor's approval.")
    if approved_by is not None and not actor_for_user(approved_by).is_lead_for(ticket.shop_id):
        raise PermissionDeniedError("Only a supervisor or admin of the shop may approve replies.")
    body = _clean_body(body_text)
    if not body:
        raise ValidationError("The reply is empty.")
    user = actor.user
    at = timezone.now()
    ticket = _lock(ticket)
    reply_conflict_check(actor=actor, ticket=ticket, seen_message_id=seen_message_id)
    kind = _actor_kind(actor, ticket.shop_id)
    message = _message_add(
        ticket,
        direction=Message.Direction.OUTBOUND,
        body=body,
        at=at,
        event_type="message.replied",
        actor_kind=kind,
        user=user,
        payload={"channel": ticket.channel}
        | ({"approved_by_id": approved_by.id} if approved_by is not None else {}),
    )
    if ticket.first_responded_at is None:
        ticket.first_responded_at = at
    new_status = status or (Status.OPEN if ticket.status == Status.NEW else ticket.status)
    if new_status not in Status.values:
        raise ValidationError("Unknown status.")
    _set_status(ticket, new_status, actor_kind=kind, user=user)
    _touch(ticket, at)
    ticket.save()
    record(
        actor=user,
        action=actions.MESSAGE_ADDED,
        target=message,
        shop=ticket.shop,
        changes={"direction": "outbound", "ticket": ticket.number}
        | ({"approved_by": approved_by.id} if approved_by is not None else {}),
    )
    # The channel's connector queues the sending in this same transaction (its outbox row).
    # Before the search index: a chat reply is pushed by the first after-commit handler.
    dispatch_outbound(message)
    search_index_ticket_on_commit(ticket.id)
    return message


@transaction.atomic
def message_note(*, actor: Actor, ticket: Ticket, body_text: str) -> Message:
    """Add an internal note that the customer never sees."""
    require_staff(actor=actor, shop_id=ticket.shop_id)
    body = _clean_body(body_text)
    if not body:
        raise ValidationError("The note is empty.")
    at = timezone.now()
    ticket = _lock(ticket)
    message = _message_add(
        ticket,
        direction=Message.Direction.NOTE,
        body=body,
        at=at,
        event_type="message.noted",
        actor_kind=ActorKind.OPERATOR,
        user=actor.user,
    )
    _touch(ticket, at)
    ticket.save()
    record(
        actor=actor.user,
        action=actions.MESSAGE_ADDED,
        target=message,
        shop=ticket.shop,
        changes={"direction": "note", "ticket": ticket.number},
    )
    search_index_ticket_on_commit(ticket.id)
    return message


def _message_add(
    ticket: Ticket,
    *,
    direction: str,
    body: str,
    at: dt.datetime,
    event_type: str,
    actor_kind: ActorKind,
    user: User | None = None,
    payload: dict[str, Any] | None = None,
) -> Message:
    """Store a staff or system message on a locked ticket and append its event.

    Outbound messages start as "stored" for their channel's connector; the caller updates the
    ticket (status, activity) as its intent requires.
    """
    message = Message.objects.create(
        shop_id=ticket.shop_id,
        ticket=ticket,
        direction=direction,
        channel=ticket.channel,
        author_user=user,
        body_text=body,
        delivery_status=(
            Message.DeliveryStatus.STORED if direction == Message.Direction.OUTBOUND else ""
        ),
        created_at=at,
    )
    event_append(
        shop=ticket.shop,
        ticket=ticket,
        type=event_type,
        actor_kind=actor_kind,
        actor_user=user,
        payload={"message_id": message.id, **(payload or {})},
        occurred_at=at,
    )
    return message


def _lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock so concurrent edits apply one after the other."""
    locked: Ticket = Ticket.objects.select_for_update().select_related("shop").get(pk=ticket.pk)
    return locked


_UNSET: Any = object()


@transaction.atomic
def ticket_update(
    *,
    actor: Actor,
    ticket: Ticket,
    status: str = _UNSET,
    priority: str = _UNSET,
    assignee: User | None = _UNSET,
    category: Category | None = _UNSET,
    tag_names: Sequence[str] = _UNSET,
) -> Ticket:
    """Change any of the ticket's working fields; each change becomes an event and an audit entry.

    Only staff of the shop may change them; an assignee must work the ticket's shop.
    """
    require_staff(actor=actor, shop_id=ticket.shop_id)
    user = actor.user
    ticket = _lock(ticket)
    shop = ticket.shop
    changes: dict[str, Any] = {}
    if status is not _UNSET and status != ticket.status:
        if status not in Status.values:
            raise ValidationError("Unknown status.")
        changes["status"] = [ticket.status, status]
        _set_status(ticket, status, actor_kind=ActorKind.OPERATOR, user=user)
    if priority is not _UNSET and priority != ticket.priority:
        if priority not in Ticket.Priority.values:
            raise ValidationError("Unknown priority.")
        changes["priority"] = [ticket.priority, priority]
        event_append(
            shop=shop,
            ticket=ticket,
            type="ticket.priority_changed",
            actor_kind=ActorKind.OPERATOR,
            actor_user=user,
            payload={"old": ticket.priority, "new": priority},
        )
        ticket.priority = priority
    if assignee is not _UNSET and (assignee.id if assignee else None) != ticket.assignee_id:
        if assignee is not None and not actor_for_user(assignee).is_staff_for(shop.id):
            raise ValidationError("That person does not work this shop.")
        changes["assignee"] = [ticket.assignee_id, assignee.id if assignee else None]
        event_append(
            shop=shop,
            ticket=ticket,
            type="ticket.assigned",
            actor_kind=ActorKind.OPERATOR,
            actor_user=user,
            payload={
                "old_user_id": ticket.assignee_id,
                "new_user_id": assignee.id if assignee else None,
            },
        )
        ticket.assignee = assignee
        if assignee is not None and ticket.status == Status.NEW:
            changes["status"] = [ticket.status, Status.OPEN]
            _set_status(ticket, Status.OPEN, actor_kind=ActorKind.OPERATOR, user=user)
    if category is not _UNSET and (category.id if category else None) != ticket.category_id:
        if category is not None and category.shop_id != shop.id:
            raise ValidationError("The category belongs to another shop.")
        changes["category"] = [ticket.category_id, category.id if category else None]
        event_append(
            shop=shop,
            ticket=ticket,
            type="ticket.category_changed",
            actor_kind=ActorKind.OPERATOR,
            actor_user=user,
            payload={"old": ticket.category_id, "new": category.id if category else None},
        )
        ticket.category = category
    if tag_names is not _UNSET:
        tag_changes = _set_tags(ticket, tag_names, user=user)
        if tag_changes:
            changes["tags"] = tag_changes
    if changes:
        ticket.save()
        only_assignment = status is _UNSET and set(changes) <= {"assignee", "status"}
        action = actions.TICKET_ASSIGNED if only_assignment else actions.TICKET_UPDATED
        record(actor=user, action=action, target=ticket, shop=shop, changes=changes)
        search_index_ticket_on_commit(ticket.id)
    return ticket


def _set_tags(
    ticket: Ticket, tag_names: Sequence[str], *, user: User | None
) -> dict[str, list[str]]:
    wanted = {" ".join(name.split())[:50] for name in tag_names if name.strip()}
    current = {tag.name: tag for tag in ticket.tags.all()}
    added = sorted(wanted - set(current))
    removed = sorted(set(current) - wanted)
    if not added and not removed:
        return {}
    for name in added:
        tag, _ = Tag.objects.get_or_create(shop_id=ticket.shop_id, name=name)
        ticket.tags.add(tag)
    if removed:
        ticket.tags.remove(*(current[name] for name in removed))
    event_append(
        shop=ticket.shop,
        ticket=ticket,
        type="ticket.tags_changed",
        actor_kind=ActorKind.OPERATOR,
        actor_user=user,
        payload={"added": added, "removed": removed},
    )
    return {"added": added, "removed": removed}


@transaction.atomic
def ticket_route(
    *,
    ticket_id: int,
    assignee: User,
    rule: str,
    replacing_user_id: int | None = None,
    reason: str = "",
) -> Ticket | None:
    """Assign a ticket on behalf of the shop's routing rule (a system change).

    By default only a still-unassigned ticket is routed; with `replacing_user_id` the ticket is
    taken from that assignee (an SLA breach re-routes it). Returns None when the ticket's
    assignee is no longer the one expected (someone assigned it first) or it is solved; the
    caller checked `assignee` works the shop. `reason` names why the system routed it (in the
    event payload and the audit label).
    """
    ticket: Ticket = Ticket.objects.select_for_update().select_related("shop").get(pk=ticket_id)
    if ticket.assignee_id != replacing_user_id or not ticket.is_unsolved:
        return None
    if assignee.id == ticket.assignee_id:
        return None
    payload: dict[str, Any] = {
        "old_user_id": ticket.assignee_id,
        "new_user_id": assignee.id,
        "rule": rule,
    }
    if reason:
        payload["reason"] = reason
    event_append(
        shop=ticket.shop,
        ticket=ticket,
        type="ticket.assigned",
        actor_kind=ActorKind.SYSTEM,
        payload=payload,
    )
    ticket.assignee = assignee
    if ticket.status == Status.NEW:
        _set_status(ticket, Status.OPEN, actor_kind=ActorKind.SYSTEM, user=None)
    ticket.save()
    record(
        actor=None,
        actor_label=f"{reason}:{rule}" if reason else f"routing:{rule}",
        action=actions.TICKET_ASSIGNED,
        target=ticket,
        shop=ticket.shop,
        changes={"assignee": [replacing_user_id, assignee.id]},
    )
    return ticket


@transaction.atomic
def message_auto_reply(*, ticket: Ticket, body_text: str, reason: str) -> Message:
    """Send an automatic message to the customer on behalf of the shop (actor: the system).

    It is no response: the event is `message.auto_replied`, so SLA clocks and the first-response
    time ignore it, and the ticket's status stays as it is.
    """
    body = _clean_body(body_text)
    if not body:
        raise ValidationError("The reply is empty.")
    at = timezone.now()
    ticket = _lock(ticket)
    message = _message_add(
        ticket,
        direction=Message.Direction.OUTBOUND,
        body=body,
        at=at,
        event_type="message.auto_replied",
        actor_kind=ActorKind.SYSTEM,
        payload={"channel": ticket.channel, "reason": reason},
    )
    record(
        actor=None,
        actor_label=f"auto-reply:{reason}",
        action=actions.MESSAGE_ADDED,
        target=message,
        shop=ticket.shop,
        changes={"direction": "outbound", "ticket": ticket.number, "automatic": reason},
    )
    dispatch_outbound(message)
    return message


def _system_note(ticket: Ticket, *, user: User | None, body: str, at: dt.datetime) -> Message:
    return Message.objects.create(
        shop_id=ticket.shop_id,
        ticket=ticket,
        direction=Message.Direction.NOTE,
        channel=ticket.channel,
        author_user=user,
        body_text=body,
        created_at=at,
    )


@transaction.atomic
def ticket_merge(*, actor: Actor, source: Ticket, target: Ticket) -> Ticket:
    """Move every message of `source` to `target` (same shop and customer) and close `source`.

    Both tickets get a `ticket.merged` event; the closed source keeps a note naming the target.
    Events stay where they happened (the log is append-only).
    """
    require_staff(actor=actor, shop_id=source.shop_id)
    if source.pk == target.pk:
        raise ValidationError("A ticket cannot be merged into itself.")
    if source.shop_id != target.shop_id:
        raise ValidationError("Only tickets of the same shop can be merged.")
    # Lock in id order so two opposite merges cannot deadlock.
    first, second = sorted((source, target), key=lambda ticket: ticket.pk)
    locked = {first.pk: _lock(first), second.pk: _lock(second)}
    source, target = locked[source.pk], locked[target.pk]
    if source.customer_id != target.customer_id:
        raise ValidationError("Only tickets of the same customer can be merged.")
    if source.status == Status.CLOSED:
        raise ValidationError("A closed ticket cannot be merged.")
    user = actor.user
    at = timezone.now()
    message_ids = list(
        Message.objects.filter(ticket=source)
        .order_by("created_at", "id")
        .values_list("id", flat=True)
    )
    Message.objects.filter(ticket=source).update(ticket=target)
    payload = {
        "source_id": source.id,
        "source_number": source.number,
        "target_id": target.id,
        "target_number": target.number,
        "message_ids": message_ids,
    }
    for ticket in (source, target):
        event_append(
            shop=ticket.shop,
            ticket=ticket,
            type="ticket.merged",
            actor_kind=ActorKind.OPERATOR,
            actor_user=user,
            payload=payload,
            occurred_at=at,
        )
    # The note is written in the shop's language, whoever merges.
    with translation.override(source.shop.default_language):
        note = gettext("Merged into %(reference)s (%(count)d messages moved).") % {
            "reference": target.reference,
            "count": len(message_ids),
        }
    _system_note(source, user=user, body=note, at=at)
    _set_status(source, Status.CLOSED, actor_kind=ActorKind.OPERATOR, user=user)
    _touch(source, at)
    source.save()
    _touch(target, at)
    if target.status in (Status.SOLVED, Status.CLOSED):
        _set_status(target, Status.OPEN, actor_kind=ActorKind.OPERATOR, user=user)
    target.save()
    # Failed replies moved with their messages: the flags follow (after the saves above).
    ticket_delivery_refresh(ticket_ids=[source.id, target.id])
    record(
        actor=user,
        action=actions.TICKET_MERGED,
        target=target,
        shop=target.shop,
        changes={"source": source.number, "target": target.number, "messages": len(message_ids)},
    )
    search_index_ticket_on_commit(source.id)
    search_index_ticket_on_commit(target.id)
    return target


@transaction.atomic
def ticket_split(*, actor: Actor, message: Message, subject: str = "") -> Ticket:
    """Move one customer message of a ticket into a new ticket of the same customer.

    Both tickets get a `ticket.split` event; the source must keep at least one message.
    """
    require_staff(actor=actor, shop_id=message.shop_id)
    if message.direction != Message.Direction.INBOUND:
        raise ValidationError("Only a customer's message can be split out.")
    source = _lock(message.ticket)
    if Message.objects.filter(ticket=source).count() < 2:
        raise ValidationError("A ticket keeps at least one message.")
    user = actor.user
    at = timezone.now()
    new_ticket = _ticket_open(
        shop=source.shop,
        customer=source.customer,
        channel=message.channel,
        subject=subject or _subject_from_body(message.body_text),
        language=source.language,
        at=at,
        actor_kind=ActorKind.OPERATOR,
        via="split",
        user=user,
        priority=source.priority,
    )
    Message.objects.filter(pk=message.pk).update(ticket=new_ticket)
    payload = {
        "message_id": message.id,
        "source_id": source.id,
        "source_number": source.number,
        "new_id": new_ticket.id,
        "new_number": new_ticket.number,
    }
    for ticket in (source, new_ticket):
        event_append(
            shop=ticket.shop,
            ticket=ticket,
            type="ticket.split",
            actor_kind=ActorKind.OPERATOR,
            actor_user=user,
            payload=payload,
            occurred_at=at,
        )
    _touch(source, at)
    source.save()
    record(
        actor=user,
        action=actions.TICKET_SPLIT,
        target=new_ticket,
        shop=source.shop,
        changes={"source": source.number, "new": new_ticket.number, "message": message.id},
    )
    search_index_ticket_on_commit(source.id)
    search_index_ticket_on_commit(new_ticket.id)
    return new_ticket
