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
from dataclasses import dataclass

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


def _by_message_ids(shop: Shop, queries: Sequence[ThreadQuery]) -> list[Ticket | None]:
    """Return, per query, the ticket of the newest Message-ID it references that we stored."""
    wanted = [query.message_ids()[:50] for query in queries]
    every = {message_id for ids in wanted for message_id in ids}
    if not every:
        return [None] * len(queries)
    # Inbound mail we stored and our own outbound mail, in one query (both indexed).
    inbound = Message.objects.filter(
        shop=shop, channel=Channel.EMAIL, external_id__in=every
    ).values_list("external_id", "ticket_id")
    outbound = OutboundMail.objects.filter(shop=shop, internet_message_id__in=every).values_list(
        "internet_message_id", "ticket_id"
    )
    ticket_of: dict[str, int] = {}
    for message_id, ticket_id in inbound.union(outbound, all=True):
        if ticket_id is not None:
            ticket_of.setdefault(message_id, ticket_id)
    chosen: list[int | None] = []
    for ids in wanted:
        # The newest reference (the parent) first: the end of References is the closest ancestor.
        chosen.append(next((ticket_of[i] for i in reversed(ids) if i in ticket_of), None))
    tickets = Ticket.objects.filter(shop=shop).in_bulk(
        {ticket_id for ticket_id in chosen if ticket_id is not None}
    )
    return [tickets.get(ticket_id) if ticket_id is not None else None for ticket_id in chosen]


def _customer_id_for(shop: Shop, sender: str) -> int | None:
    value = normalize_identity(ContactIdentity.Kind.EMAIL, sender)
    if not value:
        return None
    return (
        ContactIdentity.objects.filter(shop=shop, kind=ContactIdentity.Kind.EMAIL, value=value)
        .values_list("customer_id", flat=True)
        .first()
    )


@dataclass(frozen=True)
class ThreadQuery:
    """What of an inbound mail threading reads."""

    in_reply_to: str | None
    references: Sequence[str]
    subject: str
    sender: str

    def message_ids(self) -> list[str]:
        ids = [*self.references, *([self.in_reply_to] if self.in_reply_to else [])]
        return [message_id for message_id in ids if message_id]


def find_tickets(
    *, shop: Shop, queries: Sequence[ThreadQuery], thread_by_subject: bool = False
) -> list[Ticket | None]:
    """Return, per mail, the shop's ticket it answers, or None for a new conversation.

    The Message-IDs of all the mails are looked up with one query. A subject tag or subject
    match only counts when the sender is the ticket's customer: a stranger quoting a tag opens
    a ticket of their own instead of writing into someone else's.
    """
    found = _by_message_ids(shop, queries)
    return [
        ticket if ticket is not None else _by_subject(shop, query, thread_by_subject)
        for ticket, query in zip(found, queries, strict=True)
    ]


def _by_subject(shop: Shop, query: ThreadQuery, thread_by_subject: bool) -> Ticket | None:
    """The ticket tag in the subject, then (when the shop threads so) the subject itself."""
    subject = query.subject
    number = ticket_tag_in(subject, shop=shop)
    if number is None and not thread_by_subject:
        return None  # nothing else could match: no need to look the sender up
    customer_id = _customer_id_for(shop, query.sender)
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
