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
from django.utils.translation import gettext

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.collisions import reply_conflict_check
from madoguchi.conversations.hooks import run_inbound_hooks_on_commit
from madoguchi.conversations.models import Category, Channel, Message, Tag, Ticket
from madoguchi.conversations.outbound import dispatch_outbound
from madoguchi.conversations.sanitize import sanitize_html
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.customers.services import IdentityInput, customer_find_or_create
from madoguchi.events.models import ActorKind, Event
from madoguchi.events.services import event_append
from madoguchi.search.services import search_index_ticket_on_commit
from madoguchi.tenancy.access import Actor, actor_for_user, require_staff
from madoguchi.tenancy.models import Shop

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.customers.models import Customer

Status = Ticket.Status
MAX_BODY_CHARS = 200_000
MAX_SUBJECT_CHARS = 255


def _next_ticket_number(shop: Shop) -> int:
    """Take the shop's next ticket number; the row update serialises concurrent writers.

    One statement (UPDATE ... RETURNING, on SQLite and PostgreSQL alike) takes and reads it.
    """
    table = connection.ops.quote_name(Shop._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_ticket_number = last_ticket_number + 1 "  # noqa: S608
            "WHERE id = %s RETURNING last_ticket_number",
            [shop.pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise Shop.DoesNotExist(shop.pk)
    number: int = row[0]
    return number


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


def _existing_inbound(shop_id: int, channel: str, external_id: str) -> Message | None:
    if not external_id:
        return None
    found = Message.objects.filter(shop_id=shop_id, channel=channel, external_id=external_id)
    # Nearly every message is new: ask the (unique) index first, load the rows only on a hit.
    if not found.exists():
        return None
    return found.select_related("ticket", "ticket__shop").first()


def receive_inbound(inbound: InboundMessage, *, shop: Shop | None = None) -> InboundResult:
    """Store a customer's message: find or create the customer and the ticket, append events.

    Idempotent on (shop, channel, external_id): a repeated delivery returns the stored message.
    A message for a solved ticket reopens it; one for a closed ticket starts a new ticket.
    A caller that holds the shop row already may pass it (`shop.id` must be `inbound.shop_id`).
    """
    if shop is not None and shop.id != inbound.shop_id:
        raise ValueError("The shop given is not the inbound message's shop")
    existing = _existing_inbound(inbound.shop_id, inbound.channel, inbound.external_id)
    if existing is not None:
        return InboundResult(existing.ticket, existing, is_new_ticket=False, is_duplicate=True)
    try:
        with transaction.atomic():
            return _receive_inbound(inbound, shop or Shop.objects.get(pk=inbound.shop_id))
    except IntegrityError:
        existing = _existing_inbound(inbound.shop_id, inbound.channel, inbound.external_id)
        if existing is None:
            raise
        return InboundResult(existing.ticket, existing, is_new_ticket=False, is_duplicate=True)


def _receive_inbound(inbound: InboundMessage, shop: Shop) -> InboundResult:
    if inbound.channel not in Channel.values:
        raise ValidationError(f"Unknown channel {inbound.channel!r}")
    at = inbound.received_at or timezone.now()
    customer, _ = customer_find_or_create(
        shop=shop, name=inbound.customer_name, identities=inbound.identities
    )
    ticket = None
    if inbound.ticket_id is not None:
        ticket = (
            Ticket.objects.filter(shop=shop, pk=_merged_into(shop, inbound.ticket_id))
            .exclude(status=Status.CLOSED)
            .first()
        )
        if ticket is not None:
            ticket.shop = shop  # the row we hold: events and status changes read it
    is_new_ticket = ticket is None
    if ticket is None:
        ticket = _ticket_open(
            shop=shop,
            customer=customer,
            channel=inbound.channel,
            subject=inbound.subject or _subject_from_body(inbound.body_text),
            language=inbound.language,
            at=at,
            actor_kind=ActorKind.CUSTOMER,
            via="inbound",
        )
    message = Message.objects.create(
        shop=shop,
        ticket=ticket,
        direction=Message.Direction.INBOUND,
        channel=inbound.channel,
        author_customer=customer,
        body_text=_clean_body(inbound.body_text),
        body_html=sanitize_html(inbound.body_html) if inbound.body_html else "",
        external_id=inbound.external_id,
        created_at=at,
    )
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
    if not is_new_ticket:
        if ticket.status in (Status.PENDING, Status.SOLVED):
            _set_status(ticket, Status.OPEN, actor_kind=ActorKind.CUSTOMER, user=None)
        _touch(ticket, at)
        # Only what a customer's message changes: a concurrent edit of other fields stays.
        ticket.save(
            update_fields=["status", "solved_at", "closed_at", "last_activity_at", "updated_at"]
        )
    search_index_ticket_on_commit(ticket.id)
    return InboundResult(ticket, message, is_new_ticket=is_new_ticket, is_duplicate=False)


MAX_MERGE_HOPS = 10


def _merged_into(shop: Shop, ticket_id: int) -> int:
    """Follow merges from `ticket_id` to the ticket that now holds its conversation.

    A customer answering the thread of a merged ticket reaches the ticket it was merged into.
    """
    for _ in range(MAX_MERGE_HOPS):
        target_id = (
            Event.objects.filter(
                shop=shop, ticket_id=ticket_id, type="ticket.merged", payload__source_id=ticket_id
            )
            .order_by("-id")
            .values_list("payload__target_id", flat=True)
            .first()
        )
        if target_id is None:
            break
        ticket_id = int(target_id)
    return ticket_id


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
        number=_next_ticket_number(shop),
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
    event_append(
        shop=shop,
        ticket=ticket,
        type="ticket.created",
        actor_kind=actor_kind,
        actor_user=user,
        actor_customer=customer if actor_kind == ActorKind.CUSTOMER else None,
        payload={"channel": channel, "subject": ticket.subject, "via": via},
        occurred_at=at,
    )
    if assignee is not None:
        event_append(
            shop=shop,
            ticket=ticket,
            type="ticket.assigned",
            actor_kind=actor_kind,
            actor_user=user,
            payload={"old_user_id": None, "new_user_id": assignee.id},
            occurred_at=at,
        )
    return ticket


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
    search_index_ticket_on_commit(ticket.id)
    # The channel's connector queues the sending in this same transaction (its outbox row).
    dispatch_outbound(message)
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
