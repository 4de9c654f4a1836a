"""Reads of the privacy pages: the policy and its runs, erasure records, a customer's export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from madoguchi.core.errors import NotFoundError
from madoguchi.privacy.models import ErasureRecord, RetentionPolicy, RetentionRun

if TYPE_CHECKING:
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.access import Actor

RUNS_SHOWN = 20


def retention_policy(*, shop_id: int) -> RetentionPolicy | None:
    return RetentionPolicy.objects.filter(shop_id=shop_id).first()


def retention_runs(*, shop_id: int) -> QuerySet[RetentionRun]:
    return RetentionRun.objects.filter(shop_id=shop_id).order_by("-started_at", "-id")[:RUNS_SHOWN]


def customer_erasures(*, shop_id: int, customer_id: int) -> QuerySet[ErasureRecord]:
    return ErasureRecord.objects.filter(shop_id=shop_id, customer_id=customer_id).order_by(
        "-erased_at", "-id"
    )


def access_erasure(*, actor: Actor, shop_id: int, erasure_id: int) -> ErasureRecord:
    """Return the shop's erasure record for its leads; anyone else gets NotFoundError."""
    erasure = (
        ErasureRecord.objects.filter(shop_id=shop_id, id=erasure_id)
        .select_related("shop", "erased_by")
        .first()
    )
    if erasure is None or not actor.is_lead_for(shop_id):
        raise NotFoundError("Erasure record not found")
    return erasure


def _when(value: Any) -> str | None:
    return value.isoformat() if value else None


def customer_export(*, customer: Customer) -> dict[str, Any]:
    """Everything the shop holds on the customer, across every app, as plain JSON values."""
    from madoguchi.commerce.models import Order
    from madoguchi.connectors.chat.models import ChatConversation
    from madoguchi.connectors.line.models import LineEvent
    from madoguchi.connectors.phone.models import CallLog
    from madoguchi.connectors.webform.models import Submission
    from madoguchi.conversations.models import Attachment, Message, Ticket
    from madoguchi.customers.models import ContactIdentity

    shop = customer.shop
    identities = list(
        ContactIdentity.objects.filter(shop_id=shop.id, customer=customer).order_by("kind", "id")
    )
    emails = [i.value for i in identities if i.kind == ContactIdentity.Kind.EMAIL]
    line_ids = [i.value for i in identities if i.kind == ContactIdentity.Kind.LINE]
    tickets = list(
        Ticket.objects.filter(shop_id=shop.id, customer=customer).order_by("created_at", "id")
    )
    ticket_ids = [ticket.pk for ticket in tickets]
    messages_by_ticket: dict[int, list[dict[str, Any]]] = {}
    attachments_by_message: dict[int, list[dict[str, Any]]] = {}
    for attachment in Attachment.objects.filter(
        shop_id=shop.id, message__ticket_id__in=ticket_ids
    ).order_by("id"):
        attachments_by_message.setdefault(attachment.message_id, []).append(
            {
                "filename": attachment.filename,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
            }
        )
    for message in Message.objects.filter(shop_id=shop.id, ticket_id__in=ticket_ids).order_by(
        "created_at", "id"
    ):
        messages_by_ticket.setdefault(message.ticket_id, []).append(
            {
                "direction": message.direction,
                "direction_label": str(message.get_direction_display()),
                "channel": message.channel,
                "created_at": _when(message.created_at),
                "body_text": message.body_text,
                "attachments": attachments_by_message.get(message.pk, []),
            }
        )
    orders = []
    for order in (
        Order.objects.filter(shop_id=shop.id, customer=customer)
        .prefetch_related("lines", "shipments")
        .order_by("placed_at", "id")
    ):
        orders.append(
            {
                "number": order.number,
                "placed_at": _when(order.placed_at),
                "status": order.status,
                "status_label": str(order.get_status_display()),
                "payment_method": order.payment_method,
                "payment_status": order.payment_status,
                "total": order.total,
                "email": order.email,
                "shipping_postal_code": order.shipping_postal_code,
                "shipping_prefecture": order.shipping_prefecture,
                "shipping_address1": order.shipping_address1,
                "shipping_address2": order.shipping_address2,
                "shipping_name": order.shipping_name,
                "shipping_name_kana": order.shipping_name_kana,
                "shipping_phone": order.shipping_phone,
                "billing_name_kana": order.billing_name_kana,
                "note": order.note,
                "lines": [
                    {"name": line.name, "quantity": line.quantity, "unit_price": line.unit_price}
                    for line in order.lines.all()
                ],
                "shipments": [
                    {
                        "carrier": shipment.carrier,
                        "tracking_number": shipment.tracking_number,
                        "status": shipment.status,
                    }
                    for shipment in order.shipments.all()
                ],
            }
        )
    chats = ChatConversation.objects.filter(
        Q(customer=customer) | Q(ticket_id__in=ticket_ids), shop_id=shop.id
    ).order_by("created_at", "id")
    calls = CallLog.objects.filter(
        Q(customer=customer) | Q(ticket_id__in=ticket_ids), shop_id=shop.id
    ).order_by("created_at", "id")
    submissions = Submission.objects.filter(
        Q(ticket_id__in=ticket_ids) | Q(email__in=emails), shop_id=shop.id
    ).order_by("created_at", "id")
    line_events = LineEvent.objects.filter(shop_id=shop.id, source_id__in=line_ids).order_by(
        "occurred_at", "id"
    )
    return {
        "exported_at": timezone.now().isoformat(),
        "shop": {"name": shop.name, "slug": shop.slug},
        "customer": {
            "id": customer.pk,
            "name": customer.name,
            "name_kana": customer.name_kana,
            "note": customer.note,
            "created_at": _when(customer.created_at),
            "updated_at": _when(customer.updated_at),
        },
        "contact_identities": [
            {
                "kind": identity.kind,
                "kind_label": str(identity.get_kind_display()),
                "value": identity.display_value,
                "display_name": identity.display_name,
                "is_undeliverable": identity.is_undeliverable,
                "created_at": _when(identity.created_at),
            }
            for identity in identities
        ],
        "tickets": [
            {
                "reference": f"#{shop.ticket_prefix}-{ticket.number}",
                "subject": ticket.subject,
                "channel": ticket.channel,
                "channel_label": str(ticket.get_channel_display()),
                "status": ticket.status,
                "status_label": str(ticket.get_status_display()),
                "created_at": _when(ticket.created_at),
                "last_activity_at": _when(ticket.last_activity_at),
                "messages": messages_by_ticket.get(ticket.pk, []),
            }
            for ticket in tickets
        ],
        "orders": orders,
        "chat_conversations": [
            {
                "name": chat.name,
                "email": chat.email,
                "created_at": _when(chat.created_at),
                "closed_at": _when(chat.closed_at),
            }
            for chat in chats
        ],
        "line_events": [
            {
                "type": event.type,
                "outcome_label": str(event.get_outcome_display()),
                "occurred_at": _when(event.occurred_at),
            }
            for event in line_events
        ],
        "phone_calls": [
            {
                "direction": call.direction,
                "direction_label": str(call.get_direction_display()),
                "number": call.number,
                "result": call.result,
                "result_label": str(call.get_result_display()),
                "duration_seconds": call.duration_seconds,
                "notes": call.notes,
                "created_at": _when(call.created_at),
            }
            for call in calls
        ],
        "web_form_submissions": [
            {
                "name": submission.name,
                "email": submission.email,
                "phone": submission.phone,
                "order_number": submission.order_number,
                "category": submission.category,
                "message": submission.message,
                "privacy_consent_at": _when(submission.privacy_consent_at),
                "privacy_policy_url": submission.privacy_policy_url,
                "created_at": _when(submission.created_at),
            }
            for submission in submissions
        ],
    }
