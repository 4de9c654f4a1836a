"""Empty tickets into anonymous shells: the one step retention and erasure share (ADR 0015).

A shell keeps the ticket row (number, channel, status, category, tags, times), its events and
SLA records, so volume and response-time reports still add up. Everything that quotes the
customer goes: messages (with their outbox rows, LINE reply tokens, mail references),
attachments, trainees' drafts, the raw mails and web-form submissions that made them, phone
call notes, and the personal values of the tickets' event payloads. The subject becomes
`ERASED_SUBJECT`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction

from madoguchi.commerce.models import OrderNotice
from madoguchi.connectors.chat.models import ChatConversation
from madoguchi.connectors.mail.models import OutboundMail, RawMail
from madoguchi.connectors.phone.models import CallLog
from madoguchi.connectors.webform.models import Submission
from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.core.storage import STORAGE_ERRORS
from madoguchi.csat.models import CsatSurvey
from madoguchi.events.services import event_payloads_scrub
from madoguchi.operations.models import ReplyDraft

logger = logging.getLogger(__name__)

# Stored text, not UI text: the shell's subject reads the same in every language's reports.
ERASED_SUBJECT = "（削除済み）"


@dataclass
class Emptied:
    """What emptying removed; `attachment_paths` are the storage names of the deleted files."""

    tickets: int = 0
    messages: int = 0
    attachments: int = 0
    raw_mails: int = 0
    submissions: int = 0
    call_logs: int = 0
    events: int = 0
    attachment_paths: list[str] = field(default_factory=list)


def tickets_empty(
    *, shop_id: int, ticket_ids: Sequence[int], addresses: Sequence[str] = ()
) -> Emptied:
    """Turn these tickets of the shop into shells (inside the caller's transaction).

    `addresses` (an erased customer's email addresses) also blanks them in ticketless events.
    The caller deletes the files (`files_delete(emptied.attachment_paths)`) once its
    transaction has committed, so a rollback never leaves rows without their files.
    """
    emptied = Emptied()
    ids = list(
        Ticket.objects.filter(shop_id=shop_id, id__in=list(ticket_ids)).values_list("id", flat=True)
    )
    if not ids and not addresses:
        return emptied
    messages = Message.objects.filter(shop_id=shop_id, ticket_id__in=ids)
    attachments = Attachment.objects.filter(shop_id=shop_id, message__ticket_id__in=ids)
    emptied.attachment_paths = [name for name in attachments.values_list("file", flat=True) if name]
    emptied.attachments = attachments.count()
    attachments.delete()
    emptied.messages = messages.count()
    # A notice's message goes with the messages; its text names the customer.
    OrderNotice.objects.filter(shop_id=shop_id, message__ticket_id__in=ids).update(body_text="")
    messages.delete()
    OutboundMail.objects.filter(shop_id=shop_id, ticket_id__in=ids).delete()
    ReplyDraft.objects.filter(shop_id=shop_id, ticket_id__in=ids).delete()
    emptied.raw_mails, _ = RawMail.objects.filter(shop_id=shop_id, ticket_id__in=ids).delete()
    submissions = Submission.objects.filter(shop_id=shop_id, ticket_id__in=ids)
    emptied.submissions = submissions.count()
    submissions.delete()
    calls = CallLog.objects.filter(shop_id=shop_id, ticket_id__in=ids)
    emptied.call_logs = calls.count()
    calls.delete()
    ChatConversation.objects.filter(shop_id=shop_id, ticket_id__in=ids).update(
        name="", email="", verified_user_id=""
    )
    # A survey's score stays for the shop's figures; the customer's own words go.
    CsatSurvey.objects.filter(shop_id=shop_id, ticket_id__in=ids).update(comment="")
    emptied.tickets = Ticket.objects.filter(id__in=ids).update(subject=ERASED_SUBJECT)
    emptied.events = event_payloads_scrub(shop_id=shop_id, ticket_ids=ids, values=addresses)
    transaction.on_commit(lambda: _reindex(ids))
    return emptied


def files_delete(paths: Sequence[str]) -> list[str]:
    """Delete these files from storage; return the errors (a missing file is no error)."""
    storage = Attachment._meta.get_field("file").storage
    errors = []
    for path in paths:
        try:
            storage.delete(path)
        except STORAGE_ERRORS as error:  # a full disk, a bucket refusing or out of reach
            logger.exception("Could not delete attachment file %s", path)
            errors.append(f"{path}: {error}")
    return errors


def _reindex(ticket_ids: list[int]) -> None:
    from madoguchi.search.services import search_index_tickets

    search_index_tickets(ticket_ids)
