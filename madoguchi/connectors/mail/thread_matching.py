"""Find the ticket an inbound mail continues, never looking outside the mail's own shop.

Order (reference/japan-ec.md §2.5): In-Reply-To / References against the Message-IDs we stored
(inbound mail and our outbound mail), then the mail's own Message-ID against the references of
mail stored before it (a reply that arrived before its parent opened the ticket; the parent
joins it), then the ticket tag in the subject (`[#TEA-1234]`), then, when the shop turns it on,
the normalised subject from the same customer within `SUBJECT_THREADING_WINDOW` of the mail's
own time (its Date for imported mail). Every query filters on the shop, so a reference to
another shop's ticket simply matches nothing there.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from madoguchi.connectors.mail.models import MailReference, OutboundMail
from madoguchi.conversations.models import Channel, Message, Ticket
from madoguchi.customers.models import ContactIdentity
from madoguchi.customers.normalize import identity_digest, normalize_identity
from madoguchi.tenancy.models import Shop

SUBJECT_THREADING_WINDOW = dt.timedelta(days=14)

_TAG = re.compile(r"\[#([A-Za-z0-9]{1,10})-(\d{1,9})\]")
# Reply and forward prefixes after NFKC (full-width forms become ASCII): Western and Japanese
# words (Re, Fwd, FW, AW/WG German, SV/VS Nordic, TR French, RIF Italian, Antw Dutch, 返信,
# 転送, 回答, 回复/答复/转发 Chinese), with a half- or full-width colon, possibly counted (`Re[2]:`,
# `Re^3:`, `Re(2):`), possibly repeated; the same words in brackets without a colon (`[Re]`,
# `［Ｒｅ］`, `【転送】`, `(Fwd)`); mailing-list tags such as `[shop:01234]`.
_PREFIX_WORDS = r"re|fw|fwd|aw|wg|sv|vs|tr|rif|antw|返信|転送|回答|回复|答复|转发|回覆|轉寄"
_PREFIX = re.compile(
    rf"^\s*(?:(?:{_PREFIX_WORDS})\s*(?:\[\d+\]|\^\d+|\(\d+\))?\s*[:：>]"
    rf"|[\[(【〔](?:{_PREFIX_WORDS})(?:\s*\d+)?[\])】〕]\s*:?"
    r"|\[[^\]\s]{1,30}:\d+\])\s*",
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
    """Return, per query, the ticket of the newest Message-ID it references that we stored;
    failing that, what stored mail referenced (`_by_stored_references`)."""
    wanted = [query.message_ids()[:50] for query in queries]
    every = {message_id for ids in wanted for message_id in ids}
    ticket_of: dict[str, int] = {}
    if every:
        # Inbound mail we stored and our own outbound mail, in one query (both indexed).
        inbound = Message.objects.filter(
            shop=shop, channel=Channel.EMAIL, external_id__in=every
        ).values_list("external_id", "ticket_id")
        outbound = OutboundMail.objects.filter(
            shop=shop, internet_message_id__in=every
        ).values_list("internet_message_id", "ticket_id")
        for message_id, ticket_id in inbound.union(outbound, all=True):
            if ticket_id is not None:
                ticket_of.setdefault(message_id, ticket_id)
    chosen: list[int | None] = []
    for ids in wanted:
        # The newest reference (the parent) first: the end of References is the closest ancestor.
        chosen.append(next((ticket_of[i] for i in reversed(ids) if i in ticket_of), None))
    unmatched = [
        position
        for position, ticket_id in enumerate(chosen)
        if ticket_id is None and (queries[position].message_id or wanted[position])
    ]
    if unmatched:
        chosen = _by_stored_references(shop, queries, wanted, chosen, unmatched)
    tickets = Ticket.objects.filter(shop=shop).in_bulk(
        {ticket_id for ticket_id in chosen if ticket_id is not None}
    )
    return [tickets.get(ticket_id) if ticket_id is not None else None for ticket_id in chosen]


def _by_stored_references(
    shop: Shop,
    queries: Sequence[ThreadQuery],
    wanted: Sequence[Sequence[str]],
    chosen: list[int | None],
    unmatched: Sequence[int],
) -> list[int | None]:
    """For mails none of whose references we stored, the references stored mail made.

    A parent arriving after its reply: the reply named the parent's Message-ID, so the parent
    joins the reply's ticket (whoever wrote it, as the reply would have joined the parent's).
    A second reply to a parent still unknown: it names what the first reply named, and joins
    the first reply's ticket when the same customer wrote both (two customers answering the
    same old newsletter stay apart).
    """
    lookup: set[str] = set()
    for position in unmatched:
        lookup.update(wanted[position])
        if queries[position].message_id:
            lookup.add(queries[position].message_id)
    tickets_naming: dict[str, list[tuple[int, int]]] = {}
    for referenced_id, ticket_id, writer_id in MailReference.objects.filter(
        shop=shop, referenced_id__in=lookup
    ).values_list("referenced_id", "message__ticket_id", "message__ticket__customer_id"):
        tickets_naming.setdefault(referenced_id, []).append((ticket_id, writer_id))
    if not tickets_naming:
        return chosen
    result = list(chosen)
    for position in unmatched:
        query = queries[position]
        # Several replies may name it: the oldest ticket, whatever order they came in.
        children = tickets_naming.get(query.message_id) if query.message_id else None
        if children:
            result[position] = min(ticket_id for ticket_id, _customer in children)
            continue
        shared = [i for i in reversed(wanted[position]) if i in tickets_naming]
        if not shared:
            continue
        customer_id = _customer_id_for(shop, query.sender)
        if customer_id is None:
            continue
        for referenced_id in shared:  # the closest ancestor first
            same = [t for t, customer in tickets_naming[referenced_id] if customer == customer_id]
            if same:
                result[position] = min(same)
                break
    return result


def _customer_id_for(shop: Shop, sender: str) -> int | None:
    value = normalize_identity(ContactIdentity.Kind.EMAIL, sender)
    if not value:
        return None
    return (
        ContactIdentity.objects.filter(
            shop=shop,
            kind=ContactIdentity.Kind.EMAIL,
            value_digest=identity_digest(ContactIdentity.Kind.EMAIL, value),
        )
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
    # The mail's own Message-ID (without brackets), "" when it has none.
    message_id: str = ""
    # When the mail was written (imported mail) or received; subject threading's window ends
    # here. None: now.
    at: dt.datetime | None = None

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
    until = query.at or timezone.now()
    candidates: list[Ticket] = list(
        Ticket.objects.filter(
            shop=shop,
            customer_id=customer_id,
            channel=Channel.EMAIL,
            status__in=Ticket.UNSOLVED_STATUSES,
            last_activity_at__gte=until - SUBJECT_THREADING_WINDOW,
            last_activity_at__lte=until + SUBJECT_THREADING_WINDOW,
        ).order_by("-last_activity_at")[:20]
    )
    for candidate in candidates:
        if normalize_subject(candidate.subject) == normalized:
            return candidate
    return None
