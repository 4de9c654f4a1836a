"""Orders beside tickets: which orders a message names, staff confirming a link, and the
notices that go only to the order's own customer (ADR 0009)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.commerce.models import (
    Order,
    OrderNotice,
    Shipment,
    TicketOrderLink,
)
from madoguchi.commerce.order_numbers import (
    OrderNumberMention,
    find_order_number_mentions,
)
from madoguchi.core.errors import ValidationError
from madoguchi.search.services import search_index_order_on_commit
from madoguchi.tenancy.access import require_staff

if TYPE_CHECKING:
    from madoguchi.conversations.models import Message, Ticket
    from madoguchi.tenancy.access import Actor

logger = logging.getLogger(__name__)


def _orders_mentioned(
    shop_ids: set[int], mentions: Sequence[OrderNumberMention]
) -> list[tuple[int, int, str, str]]:
    """Return (id, shop id, key, digits) of the shops' orders that any mention names: one query."""
    keys = {mention.key for mention in mentions}
    if not keys or not shop_ids:
        return []
    condition = Q(number_key__in=keys)
    digits = {mention.digits for mention in mentions if mention.digits}
    if digits:
        condition |= Q(number_digits__in=digits)
    return list(
        Order.objects.filter(condition, shop_id__in=shop_ids).values_list(
            "id", "shop_id", "number_key", "number_digits"
        )
    )


def _matching_order_ids(
    rows: Sequence[tuple[int, int, str, str]], shop_id: int, mentions: Sequence[OrderNumberMention]
) -> list[int]:
    """Return the ids of the shop's orders the mentions name, in the order they are mentioned."""
    found: list[int] = []
    for mention in mentions:
        for order_id, order_shop_id, key, digits in rows:
            if order_shop_id != shop_id or order_id in found:
                continue
            if key == mention.key or (mention.digits and digits == mention.digits):
                found.append(order_id)
    return found


def _link(ticket: Ticket, order_ids: Sequence[int], source: str) -> list[TicketOrderLink]:
    existing = set(TicketOrderLink.objects.filter(ticket=ticket).values_list("order_id", flat=True))
    wanted = [order_id for order_id in order_ids if order_id not in existing]
    if not wanted:
        return []
    orders = Order.objects.filter(shop_id=ticket.shop_id, id__in=wanted).in_bulk()
    created = []
    for order_id in wanted:
        order = orders[order_id]
        link = TicketOrderLink.objects.create(
            shop_id=ticket.shop_id, ticket=ticket, order=order, source=source
        )
        record(
            actor=None,
            action=actions.TICKET_ORDER_LINKED,
            target=link,
            shop=ticket.shop,
            actor_label="order-number recogniser",
            changes={"ticket": ticket.number, "order": order.number, "source": source},
        )
        created.append(link)
    return created


@transaction.atomic
def ticket_link_orders(
    *, ticket: Ticket, text: str, source: str = TicketOrderLink.Source.MENTION
) -> list[TicketOrderLink]:
    """Link the shop's orders whose numbers `text` mentions to the ticket; return new links.

    Numbers are recognised in the shop's own format ("YE-20260137", "ｙｅ２０２６０１３７",
    "注文番号 20260137"), see `commerce.order_numbers`. A mention is not a confirmation: the
    order is shown to staff, its notices still go to its own customer only.
    """
    mentions = find_order_number_mentions(text)
    rows = _orders_mentioned({ticket.shop_id}, mentions)
    return _link(ticket, _matching_order_ids(rows, ticket.shop_id, mentions), source)


@transaction.atomic
def ticket_order_link_confirm(*, actor: Actor, ticket: Ticket, order: Order) -> TicketOrderLink:
    """Confirm that the ticket is about this order of its sender (staff only).

    From now on the order's notices may be sent on this ticket. An order without a customer
    (taken on the phone, imported) becomes the ticket's customer's.
    """
    require_staff(actor=actor, shop_id=order.shop_id)
    if ticket.shop_id != order.shop_id:
        raise ValidationError(gettext_noop("The ticket belongs to another shop."))
    link = TicketOrderLink.objects.filter(ticket=ticket, order=order).first()
    old_source = link.source if link is not None else ""
    if link is None:
        link = TicketOrderLink.objects.create(
            shop_id=order.shop_id,
            ticket=ticket,
            order=order,
            source=TicketOrderLink.Source.MANUAL,
        )
    elif link.source != TicketOrderLink.Source.MANUAL:
        link.source = TicketOrderLink.Source.MANUAL
        link.save(update_fields=["source"])
    changes: dict[str, object] = {
        "ticket": ticket.number,
        "order": order.number,
        "source": [old_source, TicketOrderLink.Source.MANUAL],
    }
    if order.customer_id is None and ticket.customer_id is not None:
        Order.objects.filter(pk=order.pk).update(
            customer_id=ticket.customer_id, updated_at=timezone.now()
        )
        order.customer_id = ticket.customer_id
        changes["customer"] = ticket.customer_id
        search_index_order_on_commit(order.id)
    record(
        actor=actor.user,
        action=actions.TICKET_ORDER_LINKED,
        target=link,
        shop=ticket.shop,
        changes=changes,
    )
    return link


@dataclass(frozen=True)
class NoticeDestination:
    """Where an order's notice goes: a ticket of the order's own customer, or why nowhere."""

    ticket: Ticket | None
    unsent_reason: str = ""

    @property
    def unsent_reason_text(self) -> str:
        if not self.unsent_reason:
            return ""
        return str(OrderNotice.UnsentReason(self.unsent_reason).label)


def notice_destination(order: Order) -> NoticeDestination:
    """Return the ticket an order's notices are sent on, or the reason there is none.

    Only the order's own customer gets its details: the latest ticket of the order's customer
    on a channel they used that replies can be sent on (not a phone call), or a ticket staff
    confirmed as theirs. A ticket that merely mentions the number (anyone can type one) never
    gets them.
    """
    from madoguchi.conversations.models import Ticket
    from madoguchi.conversations.outbound import sending_channels

    confirmed = TicketOrderLink.objects.filter(
        order=order, source=TicketOrderLink.Source.MANUAL
    ).values("ticket_id")
    condition = Q(id__in=confirmed)
    if order.customer_id is not None:
        condition |= Q(customer_id=order.customer_id)
    ticket: Ticket | None = (
        Ticket.objects.filter(condition, shop_id=order.shop_id, channel__in=sending_channels())
        .select_related("shop")
        .order_by("-last_activity_at", "-id")
        .first()
    )
    if ticket is not None:
        return NoticeDestination(ticket=ticket)
    if order.customer_id is None:
        return NoticeDestination(ticket=None, unsent_reason=OrderNotice.UnsentReason.NO_CUSTOMER)
    return NoticeDestination(ticket=None, unsent_reason=OrderNotice.UnsentReason.NO_TICKET)


def _notice_context(order: Order) -> dict[str, object]:
    shipments = list(order.shipments.all())
    on_the_way = (Shipment.Status.SHIPPED, Shipment.Status.IN_TRANSIT, Shipment.Status.DELIVERED)
    return {
        "order": order,
        "shop": order.shop,
        "shipments": shipments,
        # The text follows the order's state: never "we will ship shortly" once it has left.
        "is_shipped": order.status in (Order.Status.SHIPPED, Order.Status.DELIVERED)
        or any(shipment.status in on_the_way for shipment in shipments),
        "is_delivered": order.status == Order.Status.DELIVERED,
        "is_cancelled": order.status in (Order.Status.CANCELLED, Order.Status.RETURNED),
    }


@transaction.atomic
def order_notice_send(*, order: Order, kind: str, actor: Actor | None = None) -> OrderNotice:
    """Render a notice from its template; reply on a ticket of the order's customer.

    The notice is only stored, with the reason (`OrderNotice.unsent_reason`), when the order
    has no customer, the customer no conversation, or nobody sends it (automatic
    reconciliation, or an actor who may not reply): sending mail to customers without a
    conversation belongs to the mail connector.
    """
    from madoguchi.conversations.services import message_reply

    if kind not in OrderNotice.Kind.values:
        raise ValidationError(
            gettext_noop("Unknown notice %(value)s."), extra={"value": kind}, field="kind"
        )
    message: Message | None = None
    destination = notice_destination(order)
    # In the customer's language, whatever the language of the person who pressed the button.
    language = destination.ticket.language if destination.ticket else order.shop.default_language
    with translation.override(language or None):
        body = render_to_string(f"commerce/notices/{kind}.txt", _notice_context(order)).strip()
    reason = destination.unsent_reason
    if destination.ticket is not None:
        if actor is None:
            reason = OrderNotice.UnsentReason.NO_SENDER
        elif not actor.can_reply(order.shop_id):
            reason = OrderNotice.UnsentReason.NOT_ALLOWED
        else:
            message = message_reply(actor=actor, ticket=destination.ticket, body_text=body)
    notice = OrderNotice.objects.create(
        shop_id=order.shop_id,
        order=order,
        kind=kind,
        body_text=body,
        message=message,
        unsent_reason=reason,
        created_by=actor.user if actor else None,
    )
    record(
        actor=actor.user if actor else None,
        action=actions.ORDER_NOTICE_SENT,
        target=notice,
        shop=order.shop,
        changes={
            "order": order.number,
            "kind": kind,
            "message": message.id if message else None,
            "ticket": destination.ticket.number if destination.ticket and message else None,
            "unsent_reason": reason,
        },
    )
    return notice


def _message_text(message: Message) -> str:
    return f"{message.ticket.subject}\n{message.body_text}"


def link_orders_mentioned_batch(messages: list[Message]) -> None:
    """Inbound batch hook: link the orders each message mentions to its ticket.

    The orders all messages mention are looked up with one query; a message is linked (in its
    own transaction, a failure logged) only when one of its numbers is an order of its shop.
    """
    mentioned = {
        message.id: find_order_number_mentions(_message_text(message)) for message in messages
    }
    every_mention = [mention for found in mentioned.values() for mention in found]
    rows = _orders_mentioned({message.shop_id for message in messages}, every_mention)
    if not rows:
        return
    for message in messages:
        order_ids = _matching_order_ids(rows, message.shop_id, mentioned[message.id])
        if not order_ids:
            continue
        try:
            with transaction.atomic():
                _link(message.ticket, order_ids, TicketOrderLink.Source.MENTION)
        except Exception:
            logger.exception("Linking the orders of message %s failed", message.id)


def orders_attach_to_senders(messages: list[Message]) -> None:
    """Inbound batch hook: give orders without a customer to the sender who owns their contacts.

    An order taken on the phone or imported before its customer ever wrote keeps its email and
    phone (`Order.contact_email`, `contact_phone`: keyed digests of the normalised values, as
    the contacts' `value_digest`); when a customer with the same address or number writes or
    calls, the order becomes theirs (email first). One query reads the senders' contacts, one
    the orders; each order is updated in its own transaction.
    """
    from madoguchi.customers.selectors import contact_digests

    senders = {message.ticket.customer_id for message in messages}
    by_contact: dict[tuple[str, str], int] = {}
    for customer_id, kind, value in contact_digests(customer_ids=senders):
        by_contact.setdefault((kind, value), customer_id)
    emails = {value for kind, value in by_contact if kind == "email"}
    phones = {value for kind, value in by_contact if kind == "phone"}
    if not emails and not phones:
        return
    orders = Order.objects.filter(
        Q(contact_email__in=emails) | Q(contact_phone__in=phones),
        shop_id__in={message.shop_id for message in messages},
        customer__isnull=True,
    ).select_related("shop")
    for order in orders:
        matched_by = "email" if ("email", order.contact_email) in by_contact else "phone"
        value = order.contact_email if matched_by == "email" else order.contact_phone
        try:
            with transaction.atomic():
                _order_attach_customer(order, by_contact[(matched_by, value)], matched_by)
        except Exception:
            logger.exception("Attaching order %s to its customer failed", order.id)


def _order_attach_customer(order: Order, customer_id: int, matched_by: str) -> None:
    updated = Order.objects.filter(pk=order.pk, customer__isnull=True).update(
        customer_id=customer_id, updated_at=timezone.now()
    )
    if not updated:
        return
    record(
        actor=None,
        action=actions.ORDER_UPDATED,
        target=order,
        actor_label="customer matching",
        changes={"customer": [None, customer_id], "matched_by": matched_by},
    )
    search_index_order_on_commit(order.id)


def orders_beside_new_messages(messages: list[Message]) -> None:
    """Inbound batch hook: the orders a message mentions, and its sender's customer-less orders."""
    orders_attach_to_senders(messages)
    link_orders_mentioned_batch(messages)
