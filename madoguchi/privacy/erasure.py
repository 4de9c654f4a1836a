"""APPI erasure (個人情報の削除請求): remove one customer's personal data from every app.

`customer_erase` empties the customer's tickets into anonymous shells (`privacy.tickets`),
deletes their contact identities, chats, calls, form submissions, raw mails and LINE
deliveries, blanks their orders' contact and shipping fields through the model (so field
encryption stays transparent), blanks the customer's name and memo, re-indexes search, and
leaves an `ErasureRecord` with counts and digests. The customer row stays as a nameless shell:
its tickets (and the reports that count them) point at it. `erasure_verify` proves later that
nothing of the customer remains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.commerce.models import Deposit, Order, OrderNotice, OrderRequest
from madoguchi.connectors.chat.models import ChatConversation
from madoguchi.connectors.line.models import LineEvent, LineWebhook
from madoguchi.connectors.mail.models import AutoReplyLog, RawMail
from madoguchi.connectors.phone.models import CallLog
from madoguchi.connectors.webform.models import Submission
from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.events.models import Event
from madoguchi.events.services import PERSONAL_PAYLOAD_KEYS
from madoguchi.privacy.digests import (
    DIGESTS,
    ORDER_PERSONAL_FIELDS,
    SCANNED,
    combined_digest,
    fingerprint,
    fingerprints,
    new_salt,
    scanned_values,
)
from madoguchi.privacy.models import ErasureRecord
from madoguchi.privacy.tickets import ERASED_SUBJECT, files_delete, tickets_empty
from madoguchi.search.models import SearchDocument

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor

# What the lead types to confirm when the customer has no name.
CONFIRMATION_WORD = "削除"


def customer_erase(
    *, actor: Actor, customer: Customer, reason: str, confirmation: str
) -> ErasureRecord:
    """Erase the customer's personal data in every app; return the record (leads only)."""
    shop = customer.shop
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(
            gettext_noop("Only a supervisor or admin may erase a customer's data.")
        )
    reason = reason.strip()
    if not reason:
        raise ValidationError(gettext_noop("Say why the data is erased."), field="reason")
    typed = confirmation.strip()
    if typed != CONFIRMATION_WORD and (not customer.name or typed != customer.name.strip()):
        raise ValidationError(
            gettext_noop("Type the customer's name or 削除 to confirm."), field="confirmation"
        )
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk, shop=shop)
        erased = _erase(customer)
        salt = new_salt()
        digests = fingerprints(salt, erased.identifiers)
        erasure = ErasureRecord.objects.create(
            shop=shop,
            customer_id=customer.pk,
            erased_by=actor.user,
            erased_at=timezone.now(),
            reason=reason,
            counts=erased.counts,
            salt=salt,
            digests=digests,
            digest=combined_digest(digests),
            ticket_ids=erased.ticket_ids,
            order_ids=erased.order_ids,
            attachment_paths=erased.attachment_paths,
        )
        record(
            actor=actor.user,
            action=actions.PRIVACY_CUSTOMER_ERASED,
            target=erasure,
            shop=shop,
            changes={
                "customer_id": customer.pk,
                "reason": reason,
                "counts": erased.counts,
                "digest": erasure.digest,
            },
        )
        paths, customer_id, order_ids = erased.attachment_paths, customer.pk, erased.order_ids
        transaction.on_commit(lambda: files_delete(paths))
        transaction.on_commit(lambda: _reindex(customer_id, order_ids))
    return erasure


class _Erased:
    def __init__(self) -> None:
        self.identifiers: set[str] = set()
        self.counts: dict[str, int] = {}
        self.ticket_ids: list[int] = []
        self.order_ids: list[int] = []
        self.attachment_paths: list[str] = []

    def keep(self, *values: object) -> None:
        self.identifiers.update(str(value) for value in values if value)


def _erase(customer: Customer) -> _Erased:
    erased = _Erased()
    shop_id = customer.shop_id
    erased.keep(customer.name, customer.name_kana)
    identities = list(ContactIdentity.objects.filter(shop_id=shop_id, customer=customer))
    for identity in identities:
        erased.keep(identity.value, identity.display_value, identity.display_name)
    kinds = ContactIdentity.Kind
    emails = sorted({i.value.lower() for i in identities if i.kind == kinds.EMAIL})
    phones = sorted({i.value for i in identities if i.kind == kinds.PHONE})
    line_ids = sorted({i.value for i in identities if i.kind == kinds.LINE})
    chat_ids = sorted({i.value for i in identities if i.kind == kinds.CHAT})
    erased.ticket_ids = list(
        Ticket.objects.filter(shop_id=shop_id, customer=customer)
        .order_by("id")
        .values_list("id", flat=True)
    )
    ticket_ids = erased.ticket_ids

    # Rows that quote the customer outside the tickets: chats, calls, forms, raw mails, LINE.
    chats = ChatConversation.objects.filter(
        Q(customer=customer) | Q(ticket_id__in=ticket_ids) | Q(public_id__in=chat_ids),
        shop_id=shop_id,
    )
    for chat in chats:
        erased.keep(chat.name, chat.email, chat.verified_user_id)
    calls = CallLog.objects.filter(
        Q(customer=customer) | Q(ticket_id__in=ticket_ids) | Q(number_normalized__in=phones),
        shop_id=shop_id,
    )
    for call in calls:
        erased.keep(call.number, call.number_normalized)
    submissions = Submission.objects.filter(
        Q(ticket_id__in=ticket_ids) | Q(email__in=emails), shop_id=shop_id
    )
    for submission in submissions:
        erased.keep(submission.name, submission.email, submission.phone)
    raw_mails = RawMail.objects.filter(
        Q(ticket_id__in=ticket_ids) | Q(from_address__in=emails), shop_id=shop_id
    )
    for from_address, reply_to in raw_mails.values_list("from_address", "reply_to_address"):
        erased.keep(from_address, reply_to)
    line_events = LineEvent.objects.filter(shop_id=shop_id, source_id__in=line_ids)
    webhook_ids = [i for i in line_events.values_list("webhook_id", flat=True) if i]

    orders = list(Order.objects.filter(shop_id=shop_id, customer=customer).order_by("id"))
    erased.order_ids = [order.pk for order in orders]
    deposits = Deposit.objects.filter(shop_id=shop_id, payments__order__in=orders).distinct()
    for order in orders:
        # contact_email and contact_phone are keyed digests of email and shipping_phone.
        erased.keep(
            *(getattr(order, name) for name in ORDER_PERSONAL_FIELDS if name not in DIGESTS)
        )
    erased.keep(*deposits.values_list("remitter_name", flat=True))

    emptied = tickets_empty(shop_id=shop_id, ticket_ids=ticket_ids, addresses=emails)
    erased.attachment_paths = emptied.attachment_paths
    # Fresh counts (`.all()`): the querysets above were read before the tickets were emptied.
    counts = {
        "tickets": emptied.tickets,
        "messages": emptied.messages,
        "attachments": emptied.attachments,
        "events": emptied.events,
        "identities": len(identities),
        "chat_conversations": chats.all().count(),
        "call_logs": emptied.call_logs + calls.all().count(),
        "submissions": emptied.submissions + submissions.all().count(),
        "raw_mails": emptied.raw_mails + raw_mails.all().count(),
        "line_deliveries": len(set(webhook_ids)),
        "orders": len(orders),
        "deposits": deposits.all().count(),
    }
    chats.delete()
    calls.delete()
    submissions.delete()
    raw_mails.delete()
    AutoReplyLog.objects.filter(shop_id=shop_id, address__in=emails).delete()
    line_events.update(source_id="")
    LineWebhook.objects.filter(shop_id=shop_id, id__in=webhook_ids).delete()
    for order in orders:
        for name in ORDER_PERSONAL_FIELDS:
            setattr(order, name, "")
        order.save()
    OrderRequest.objects.filter(shop_id=shop_id, order__in=orders).update(reason="", details={})
    OrderNotice.objects.filter(shop_id=shop_id, order__in=orders).update(body_text="")
    Deposit.objects.filter(id__in=list(deposits.values_list("id", flat=True))).update(
        remitter_name=""
    )
    ContactIdentity.objects.filter(shop_id=shop_id, customer=customer).delete()
    customer.name = ""
    customer.name_kana = ""
    customer.note = ""
    customer.note_updated_at = None
    customer.note_updated_by = None
    customer.save()
    erased.counts = counts
    return erased


# The record page's names of the counted kinds.
COUNT_LABELS = {
    "tickets": gettext_noop("Tickets emptied (kept as anonymous records)"),
    "messages": gettext_noop("Messages deleted"),
    "attachments": gettext_noop("Attachments deleted"),
    "events": gettext_noop("Event log entries scrubbed"),
    "identities": gettext_noop("Contact details deleted"),
    "chat_conversations": gettext_noop("Chats deleted"),
    "call_logs": gettext_noop("Phone calls deleted"),
    "submissions": gettext_noop("Web form submissions deleted"),
    "raw_mails": gettext_noop("Raw mails deleted"),
    "line_deliveries": gettext_noop("LINE deliveries deleted"),
    "orders": gettext_noop("Orders anonymised"),
    "deposits": gettext_noop("Bank deposits anonymised"),
}


def _reindex(customer_id: int, order_ids: list[int]) -> None:
    from madoguchi.search.services import search_index_customers, search_index_order

    search_index_customers([customer_id])
    for order_id in order_ids:
        search_index_order(order_id)


def erasure_verify(*, erasure: ErasureRecord) -> ErasureRecord:
    """Look for anything of the erased customer still stored; save and return the result.

    Findings name the place (an English msgid) and the row, never the value found.
    """
    findings: list[dict[str, str]] = []
    shop_id = erasure.shop_id
    wanted = set(erasure.digests)

    def matches(value: str) -> bool:
        return fingerprint(erasure.salt, value) in wanted

    def found(place: str, ref: object = "") -> None:
        findings.append({"place": place, "ref": str(ref)})

    for scanned in SCANNED:
        for row_id, value in scanned_values(scanned, shop_id=shop_id, record=erasure):
            if matches(value):
                found(scanned.label, f"#{row_id}")
    if ContactIdentity.objects.filter(shop_id=shop_id, customer_id=erasure.customer_id).exists():
        found(gettext_noop("contact identities"), f"#{erasure.customer_id}")
    for message_id in Message.objects.filter(
        shop_id=shop_id, ticket_id__in=erasure.ticket_ids
    ).values_list("id", flat=True):
        found(gettext_noop("messages"), f"#{message_id}")
    for attachment_id in Attachment.objects.filter(
        shop_id=shop_id, message__ticket_id__in=erasure.ticket_ids
    ).values_list("id", flat=True):
        found(gettext_noop("attachments"), f"#{attachment_id}")
    named = Ticket.objects.filter(shop_id=shop_id, id__in=erasure.ticket_ids).exclude(
        subject=ERASED_SUBJECT
    )
    for ticket_id in named.values_list("id", flat=True):
        found(gettext_noop("ticket subjects"), f"#{ticket_id}")
    storage = Attachment._meta.get_field("file").storage
    for path in erasure.attachment_paths:
        if storage.exists(path):
            found(gettext_noop("attachment files"), path)
    events = Event.objects.filter(shop_id=shop_id, type__in=list(PERSONAL_PAYLOAD_KEYS))
    for event_id, event_type, payload in events.values_list("id", "type", "payload").iterator(
        chunk_size=1000
    ):
        for key in PERSONAL_PAYLOAD_KEYS[event_type]:
            stored = (payload or {}).get(key)
            if isinstance(stored, str) and stored and matches(stored):
                found(gettext_noop("event log"), f"#{event_id}")
    documents = SearchDocument.objects.filter(
        Q(kind=SearchDocument.Kind.CUSTOMER, object_id=erasure.customer_id)
        | Q(kind=SearchDocument.Kind.TICKET, object_id__in=erasure.ticket_ids)
        | Q(kind=SearchDocument.Kind.ORDER, object_id__in=erasure.order_ids),
        shop_id=shop_id,
    )
    for document_id, title, content in documents.values_list("id", "title", "content"):
        words = [title, content, *title.split(), *content.split()]
        if any(word and matches(word) for word in words):
            found(gettext_noop("search index"), f"#{document_id}")
    erasure.findings = findings
    erasure.is_verified = not findings
    erasure.verified_at = timezone.now()
    erasure.save(update_fields=["findings", "is_verified", "verified_at"])
    return erasure
