"""Reads of tickets shaped for the inbox, the ticket page and the customer page."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.core.db import custom_plans
from madoguchi.core.errors import NotFoundError, ValidationError
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.scoping import scope_within


class InboxView:
    """The saved views of the inbox; `ALL` names them in menu order."""

    MINE = "mine"
    UNASSIGNED = "unassigned"
    OPEN = "open"
    PENDING = "pending"
    SOLVED = "solved"
    # Tickets holding a reply that failed and nobody handled, whatever their status.
    UNDELIVERED = "undelivered"
    ALL = (MINE, UNASSIGNED, OPEN, PENDING, SOLVED, UNDELIVERED)


@dataclass(frozen=True)
class InboxFilters:
    view: str = InboxView.OPEN
    shop_id: int | None = None
    status: str = ""
    priority: str = ""
    channel: str = ""
    assignee_id: int | None = None


@dataclass(frozen=True)
class InboxPage:
    tickets: list[Ticket]
    next_cursor: str | None


def encode_cursor(ticket: Ticket) -> str:
    raw = json.dumps([ticket.last_activity_at.isoformat(), ticket.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        activity, ticket_id = json.loads(base64.urlsafe_b64decode(padded))
        at, last_id = dt.datetime.fromisoformat(activity), int(ticket_id)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValidationError("The page link is not valid.") from error
    if at.tzinfo is None:
        raise ValidationError("The page link is not valid.")
    return at, last_id


def inbox_queryset(*, actor: Actor, filters: InboxFilters) -> QuerySet[Ticket]:
    """Return the tickets of the inbox view, newest activity first, within the actor's shops."""
    shop_ids: tuple[int, ...] = actor.shop_ids
    if filters.shop_id is not None:
        shop_ids = tuple(s for s in shop_ids if s == filters.shop_id)
    tickets = Ticket.objects.all()
    if not scope_within(shop_ids):
        tickets = tickets.filter(shop_id__in=shop_ids)
    view = filters.view
    if view == InboxView.MINE:
        user_id = actor.user.id if actor.user else 0
        tickets = tickets.assigned_to(user_id).unsolved()
    elif view == InboxView.UNASSIGNED:
        tickets = tickets.unassigned().unsolved()
    elif view == InboxView.OPEN:
        tickets = tickets.unsolved()
    elif view == InboxView.PENDING:
        tickets = tickets.filter(status=Ticket.Status.PENDING)
    elif view == InboxView.SOLVED:
        tickets = tickets.filter(status__in=(Ticket.Status.SOLVED, Ticket.Status.CLOSED))
    elif view == InboxView.UNDELIVERED:
        tickets = tickets.filter(has_failed_delivery=True)
    else:
        raise ValidationError("Unknown view.")
    if filters.status:
        tickets = tickets.filter(status=filters.status)
    if filters.priority:
        tickets = tickets.filter(priority=filters.priority)
    if filters.channel:
        tickets = tickets.filter(channel=filters.channel)
    if filters.assignee_id is not None:
        tickets = tickets.filter(assignee_id=filters.assignee_id)
    return tickets.by_activity()


# What an inbox row shows (see `madoguchi_ui.ticket_rows`); loading only these columns halves the
# cost of turning rows into model instances on the busiest page.
INBOX_ROW_FIELDS = (
    "shop_id",
    "number",
    "subject",
    "status",
    "priority",
    "channel",
    "last_activity_at",
    "has_failed_delivery",
    "customer_id",
    "assignee_id",
    "shop__slug",
    "shop__name",
    "shop__ticket_prefix",
    "customer__name",
    "assignee__display_name",
    "assignee__email",
)


def inbox_page(
    *, actor: Actor, filters: InboxFilters, cursor: str | None = None, page_size: int = 25
) -> InboxPage:
    """Return one page of the inbox after `cursor` (keyset pagination on activity, id)."""
    tickets = inbox_queryset(actor=actor, filters=filters)
    if cursor:
        activity, ticket_id = decode_cursor(cursor)
        # (activity, id) < cursor, written so that both engines range-scan the activity index:
        # the `<=` bound is sargable, the OR only breaks ties within one timestamp.
        tickets = tickets.filter(
            Q(last_activity_at__lte=activity),
            Q(last_activity_at__lt=activity) | Q(id__lt=ticket_id),
        )
    rows = list(
        tickets.select_related("shop", "customer", "assignee").only(*INBOX_ROW_FIELDS)[
            : page_size + 1
        ]
    )
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    return InboxPage(tickets=rows, next_cursor=encode_cursor(rows[-1]) if has_more else None)


def inbox_views(*, actor: Actor, shop_id: int | None = None) -> tuple[str, ...]:
    """Return the saved views that mean something to the actor (in one shop, if given).

    "My tickets" and "unassigned" are about who works a ticket: only the shop's staff are
    assigned tickets (`shop_staff`), so a client, who never is, gets the other views.
    """
    shop_ids = (shop_id,) if shop_id is not None else actor.shop_ids
    if any(actor.is_staff_for(each) for each in shop_ids):
        return InboxView.ALL
    assignment = (InboxView.MINE, InboxView.UNASSIGNED)
    return tuple(view for view in InboxView.ALL if view not in assignment)


def inbox_counts(
    *, actor: Actor, cap: int | None = None, shop_id: int | None = None
) -> dict[str, int]:
    """Return the number of tickets in each saved view (of one shop, if given), for the sidebar.

    With `cap`, each count stops at `cap` (show it as "999+" for a cap of 1000): the database
    then reads at most `cap` index entries per view instead of every open ticket.
    """
    counts: dict[str, int] = {}
    # A generic plan of the capped count reads every open ticket of the assignee's shops
    # (70 ms at a million tickets instead of 1 ms).
    with custom_plans():
        for view in inbox_views(actor=actor, shop_id=shop_id):
            if view == InboxView.SOLVED:
                continue
            filters = InboxFilters(view=view, shop_id=shop_id)
            tickets = inbox_queryset(actor=actor, filters=filters).order_by()
            counts[view] = (tickets[:cap] if cap is not None else tickets).count()
    return counts


def access_ticket(*, actor: Actor, shop_slug: str, number: int) -> Ticket:
    """Return the ticket `number` of the shop `shop_slug` if the actor may see it, else 404."""
    ticket: Ticket | None = (
        Ticket.objects.filter(shop__slug=shop_slug, number=number, shop_id__in=actor.shop_ids)
        .select_related("shop", "customer", "assignee", "category")
        .first()
    )
    if ticket is None:
        raise NotFoundError("Ticket not found")
    return ticket


def _visible_messages(actor: Actor, ticket: Ticket) -> QuerySet[Message]:
    """The ticket's messages the actor sees: internal notes only for staff."""
    messages = Message.objects.filter(ticket=ticket)
    if not actor.sees_internal_notes(ticket.shop_id):
        messages = messages.exclude(direction=Message.Direction.NOTE)
    return messages


def ticket_timeline(*, actor: Actor, ticket: Ticket, after_id: int = 0) -> list[Message]:
    """Return the ticket's messages oldest first; internal notes only for staff.

    With `after_id`, only the messages stored after that one (what a page that showed it lacks).
    """
    return list(
        _visible_messages(actor, ticket)
        .filter(id__gt=after_id)
        .select_related("author_user", "author_customer")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )


def ticket_message_count(*, actor: Actor, ticket: Ticket) -> int:
    """How many messages of the ticket the actor sees (as `ticket_timeline` lists them)."""
    return _visible_messages(actor, ticket).count()


def access_reply(*, ticket: Ticket, message_id: int) -> Message:
    """Return the reply `message_id` of `ticket` (from `access_ticket`), else `NotFoundError`."""
    message: Message | None = Message.objects.filter(
        ticket=ticket, pk=message_id, direction=Message.Direction.OUTBOUND
    ).first()
    if message is None:
        raise NotFoundError("Message not found")
    return message


def reply_delivery_notice(*, message_id: int) -> tuple[int, str]:
    """Say in words what happened to a reply just stored: queued, sent, or failed and why.

    Return a `django.contrib.messages` level and the text, read when the reply's transaction
    has committed (a chat reply is pushed, or refused, by then).
    """
    status, error = (
        Message.objects.filter(pk=message_id).values_list("delivery_status", "delivery_error").get()
    )
    if status == Message.DeliveryStatus.SENT:
        return messages.SUCCESS, gettext("Your reply was sent to the customer.")
    if status == Message.DeliveryStatus.QUEUED:
        return messages.SUCCESS, gettext(
            "Your reply is queued and will be sent shortly. If sending fails, the ticket shows it."
        )
    if status == Message.DeliveryStatus.FAILED:
        # The reason is stored as our English sentence (or a server's text): shown translated.
        reason = gettext(error) if error else gettext("no reason was given")
        text = gettext("Your reply was saved but could not be sent: %(reason)s")
        return messages.ERROR, text % {"reason": reason}
    return messages.WARNING, gettext(
        "Your reply was saved but not sent: this channel has no sending set up for the shop. "
        "Contact the customer another way."
    )


def access_attachment(*, actor: Actor, ticket: Ticket, attachment_id: int) -> Attachment:
    """Return the attachment `attachment_id` of a message of `ticket` if the actor may see it.

    `ticket` comes from `access_ticket`. An attachment of an internal note is seen by those who
    see the notes (as on the ticket page); any other attachment, or one of another ticket or
    shop, is a `NotFoundError`.
    """
    attachments = Attachment.objects.filter(
        pk=attachment_id, shop_id=ticket.shop_id, message__ticket_id=ticket.id
    )
    if not actor.sees_internal_notes(ticket.shop_id):
        attachments = attachments.exclude(message__direction=Message.Direction.NOTE)
    attachment: Attachment | None = attachments.select_related("shop").first()
    if attachment is None:
        raise NotFoundError("Attachment not found")
    return attachment


def customer_tickets(*, customer_id: int, shop_id: int) -> QuerySet[Ticket]:
    """Return a customer's tickets, newest activity first."""
    return (
        Ticket.objects.filter(shop_id=shop_id, customer_id=customer_id)
        .select_related("assignee")
        .order_by("-last_activity_at", "-id")
    )
