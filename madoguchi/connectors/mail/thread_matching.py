"""Find the ticket an inbound mail continues, never looking outside the mail's own shop.

Order (reference/japan-ec.md §2.5): In-Reply-To / References against the Message-IDs we stored
(inbound mail and our outbound mail), then the ticket tag in the subject (`[#TEA-1234]`), then,
when the shop turns it on, the normalised subject from the same customer. Every query filters on
the shop, so a reference to another shop's ticket simply matches nothing there.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence

from django.utils import timezone

from madoguchi.connectors.mail.models import OutboundMail
from madoguchi.conversations.models import Channel, Message, Ticket
from madoguchi.customers.models import ContactIdentity
from madoguchi.customers.normalize import normalize_identity
from madoguchi.tenancy.models import Shop

SUBJECT_THREADING_WINDOW = dt.timedelta(days=14)

_TAG = re.compile(r"\[#([A-Za-z0-9]{1,10})-(\d{1,9})\]")
# Reply and forward prefixes, ASCII and Japanese, with half- or full-width colons, possibly
# counted (`Re[2]:`, `Re^3:`), possibly repeated; also mailing-list tags such as `[shop:01234]`.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|sv|返信|転送|回答)\s*(?:\[\d+\]|\^\d+)?\s*[:：]|\[[^\]\s]{1,30}:\d+\])\s*",
    re.IGNORECASE,
)


def strip_reply_prefixes(subject: str) -> str:
    """Return the subject (NFKC) without reply/forward prefixes and ticket tags."""
    text = unicodedata.normalize("NFKC", subject)
    text = _TAG.sub(" ", text)
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return " ".join(text.split())


def normalize_subject(subject: str) -> str:
    """Return the subject as compared for threading: no prefixes or tags, case-folded."""
    return strip_reply_prefixes(subject).casefold()


def ticket_tag_in(subject: str, *, shop: Shop) -> int | None:
    """Return the ticket number of the first tag of `shop` in the subject (`[#TEA-12]`)."""
    text = unicodedata.normalize("NFKC", subject)
    for match in _TAG.finditer(text):
        if match.group(1).upper() == shop.ticket_prefix.upper():
            return int(match.group(2))
    return None


def _by_message_ids(shop: Shop, message_ids: Sequence[str]) -> Ticket | None:
    ids = [message_id for message_id in message_ids if message_id][:50]
    if not ids:
        return None
    # The newest reference (the parent) first: the end of References is the closest ancestor.
    order = {message_id: position for position, message_id in enumerate(reversed(ids))}
    # Inbound mail we stored and our own outbound mail, in one query (both indexed).
    inbound = Message.objects.filter(
        shop=shop, channel=Channel.EMAIL, external_id__in=ids
    ).values_list("external_id", "ticket_id")
    outbound = OutboundMail.objects.filter(shop=shop, internet_message_id__in=ids).values_list(
        "internet_message_id", "ticket_id"
    )
    found = [
        (order[message_id], ticket_id)
        for message_id, ticket_id in inbound.union(outbound, all=True)
        if ticket_id is not None
    ]
    if not found:
        return None
    _, ticket_id = min(found)
    return Ticket.objects.filter(shop=shop, pk=ticket_id).first()


def _customer_id_for(shop: Shop, sender: str) -> int | None:
    value = normalize_identity(ContactIdentity.Kind.EMAIL, sender)
    if not value:
        return None
    return (
        ContactIdentity.objects.filter(shop=shop, kind=ContactIdentity.Kind.EMAIL, value=value)
        .values_list("customer_id", flat=True)
        .first()
    )


def find_ticket(
    *,
    shop: Shop,
    in_reply_to: str | None,
    references: Sequence[str],
    subject: str,
    sender: str,
    thread_by_subject: bool = False,
) -> Ticket | None:
    """Return the shop's ticket this mail answers, or None for a new conversation.

    A subject tag or subject match only counts when the sender is the ticket's customer: a
    stranger quoting a tag opens a ticket of their own instead of writing into someone else's.
    """
    ids = [*references, *([in_reply_to] if in_reply_to else [])]
    ticket = _by_message_ids(shop, ids)
    if ticket is not None:
        return ticket
    number = ticket_tag_in(subject, shop=shop)
    if number is None and not thread_by_subject:
        return None  # nothing else could match: no need to look the sender up
    customer_id = _customer_id_for(shop, sender)
    if customer_id is None:
        return None
    if number is not None:
        return Ticket.objects.filter(shop=shop, number=number, customer_id=customer_id).first()
    normalized = normalize_subject(subject)
    if not normalized:
        return None
    since = timezone.now() - SUBJECT_THREADING_WINDOW
    candidates: list[Ticket] = list(
        Ticket.objects.filter(
            shop=shop,
            customer_id=customer_id,
            channel=Channel.EMAIL,
            status__in=Ticket.UNSOLVED_STATUSES,
            last_activity_at__gte=since,
        ).order_by("-last_activity_at")[:20]
    )
    for candidate in candidates:
        if normalize_subject(candidate.subject) == normalized:
            return candidate
    return None
