"""Rising topics: the terms of new tickets' first customer message that rose against the
previous period of equal length, each with the drill-down to its tickets.

A ticket's terms come from the subject and the first customer message (its first
`MAX_TEXT_CHARS` characters) after the search normalisation (`search.normalize.normalize_text`:
NFKC, one dash, collapsed spaces), lower-cased:

- every two-character bigram of a run of kanji and kana (`search.tokens.CJK_RUN`, the runs
  ticket search indexes); kana are not folded, so a bigram of hiragana only (particles and
  inflections: です, ます, ので) is skipped as noise while katakana words (ヘンピン) stay;
  punctuation, digits and symbols never enter a run;
- for Latin text, words (not digits only, not a stop word, at least three letters) and the
  pairs of neighbouring words with no stop word or punctuation between them ("tracking
  number").

A term is counted once per ticket. The terms are stored with the ticket's fact
(`TopicTermFact`, with the ticket's dimensions) whenever the fact is made, by the periodic job and
by `analytics_rebuild` alike, and the per-day counts (`TopicDayCount`) are recounted for every day
a refresh touches, so the two always agree with a recount (ADR 0022). The unfiltered dashboard
ranks from the day counts (a few rows per shop, day and term); a period narrowed by channel,
category or operator, or not aligned on days, counts the per-ticket rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from madoguchi.analytics.models import TicketFact, TopicDayCount, TopicTermFact
from madoguchi.analytics.selectors import Filters
from madoguchi.conversations.models import Message, Ticket
from madoguchi.core.db import insert_all
from madoguchi.search.normalize import normalize_text
from madoguchi.search.tokens import CJK_RUN

MAX_TEXT_CHARS = 2000
MAX_TERMS_PER_TICKET = 150
MAX_TERM_CHARS = 64
MIN_COUNT = 3
FIGURE_PREFIX = "topic:"

# Hiragana, the iteration marks ゝゞ and the long-vowel mark: a bigram of these alone is grammar.
_KANA_NOISE = re.compile("[\u3041-\u309f\u30fc]+")
# Latin phrases: words joined by single spaces only (punctuation and scripts end a phrase).
_LATIN_PHRASE = re.compile(r"[0-9a-z\u00df-\u024f']+(?: [0-9a-z\u00df-\u024f']+)*")
_DIGITS = re.compile(r"[0-9']+")
_STOP_WORDS_TEXT = """
    a about above after again all also am an and any are as at be because been before being
    but by can could did do does doing dont down during each few for from further had has have
    having he her here hers him his how i if im in into is it its itself just me more most my
    no nor not now of off on once only or other our ours out over own please re fw fwd same she
    should so some such than thank thanks that the their them then there these they this those
    through to too under until up very was we were what when where which while who whom why
    will with would you your yours hello hi dear regards best kind http https www com co jp ne
    html mailto
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def _latin_terms(text: str) -> list[str]:
    terms: list[str] = []
    for phrase in _LATIN_PHRASE.finditer(text):
        run: list[str] = []
        for raw in [*phrase.group().split(" "), ""]:
            word = raw.strip("'")
            if len(word) >= 3 and word not in STOP_WORDS and not _DIGITS.fullmatch(word):
                terms.append(word)
                if run:
                    terms.append(f"{run[-1]} {word}")
                run.append(word)
            else:
                run = []
    return terms


def topic_terms(text: str) -> list[str]:
    """Return the distinct terms of `text`, in first-seen order, at most MAX_TERMS_PER_TICKET."""
    normalised = normalize_text(text[:MAX_TEXT_CHARS]).lower()
    terms: dict[str, None] = {}
    for match in CJK_RUN.finditer(normalised):
        run = match.group()
        for first, second in itertools.pairwise(run):
            bigram = first + second
            if not _KANA_NOISE.fullmatch(bigram):
                terms[bigram] = None
    for term in _latin_terms(normalised):
        if len(term) <= MAX_TERM_CHARS:
            terms[term] = None
    return list(terms)[:MAX_TERMS_PER_TICKET]


def first_customer_texts(*, shop_id: int, ticket_ids: Sequence[int]) -> dict[int, str]:
    """Return per ticket id its subject and the text of its first customer message."""
    first_body = (
        Message.objects.filter(ticket_id=OuterRef("id"), direction=Message.Direction.INBOUND)
        .order_by("created_at", "id")
        .values("body_text")[:1]
    )
    rows = (
        Ticket.objects.filter(shop_id=shop_id, id__in=list(ticket_ids))
        .annotate(first_body=Subquery(first_body))
        .values_list("id", "subject", "first_body")
    )
    return {
        ticket_id: f"{subject}\n{(body or '')[:MAX_TEXT_CHARS]}"
        for ticket_id, subject, body in rows
    }


def topic_days(*, shop_id: int, ticket_ids: Iterable[int]) -> set[dt.date]:
    """Return the days whose counts hold terms of these tickets' current facts."""
    return set(
        TopicTermFact.objects.filter(shop_id=shop_id, fact__ticket_id__in=list(ticket_ids))
        .values_list("created_on", flat=True)
        .distinct()
    )


def topic_facts_delete(*, fact_ids: Sequence[int]) -> None:
    TopicTermFact.objects.filter(fact_id__in=list(fact_ids)).delete()


def topic_facts_store(
    *,
    shop_id: int,
    facts: Sequence[TicketFact],
    days: set[dt.date],
) -> None:
    """Store the terms of these new facts and recount `days` and the facts' days.

    `facts` are saved (they have ids); `days` are the days the replaced facts counted on
    (`topic_days`, read before they were deleted).
    """
    texts = first_customer_texts(shop_id=shop_id, ticket_ids=[fact.ticket_id for fact in facts])
    rows = [
        TopicTermFact(
            shop_id=shop_id,
            fact_id=fact.pk,
            term=term,
            created_at=fact.created_at,
            created_on=fact.created_on,
            channel=fact.channel,
            category_id=fact.category_id,
            assignee_id=fact.assignee_id,
        )
        for fact in facts
        for term in topic_terms(texts.get(fact.ticket_id, ""))
    ]
    insert_all(rows)
    topic_days_recount(shop_id=shop_id, days=days | {fact.created_on for fact in facts})


def topic_days_recount(*, shop_id: int, days: Iterable[dt.date]) -> None:
    """Recount the shop's day counts of these days from the per-ticket terms."""
    wanted = sorted(set(days))
    if not wanted:
        return
    TopicDayCount.objects.filter(shop_id=shop_id, day__in=wanted).delete()
    counts = (
        TopicTermFact.objects.filter(shop_id=shop_id, created_on__in=wanted)
        .values("created_on", "term")
        .annotate(tickets=Count("id"))
        .order_by()
        .values_list("created_on", "term", "tickets")
    )
    insert_all(
        [
            TopicDayCount(shop_id=shop_id, day=day, term=term, tickets=tickets)
            for day, term, tickets in counts
        ]
    )


@dataclass(frozen=True)
class RisingTopic:
    """A term with its tickets in the period and in the previous one; `drilldown` holds the
    query parameters (added to the filters' own) of the list of its tickets in the period."""

    term: str
    count: int
    previous: int
    drilldown: dict[str, str] = field(default_factory=dict)

    @property
    def rise(self) -> int:
        """Tickets above what the previous period of equal length predicts."""
        return self.count - self.previous


def topic_figure(term: str) -> str:
    """The drill-down figure (`selectors.drilldown_q`) of the tickets containing `term`."""
    return FIGURE_PREFIX + term


def _is_midnight(moment: dt.datetime) -> bool:
    return moment.timetz().replace(tzinfo=None) == dt.time(0)


def _counts(filters: Filters) -> QuerySet[Any, dict[str, Any]]:
    """Per term, its tickets in the period (`count`) and in the previous one (`previous`)."""
    previous = filters.previous()
    has_dimensions = bool(
        filters.channel or filters.category_id is not None or filters.assignee_id is not None
    )
    if not has_dimensions and _is_midnight(filters.start) and _is_midnight(filters.end):
        zone = filters.start.tzinfo
        start_day = filters.start.date()
        return (
            TopicDayCount.objects.filter(
                shop_id__in=filters.shop_ids,
                day__gte=previous.start.astimezone(zone).date(),
                day__lt=filters.end.astimezone(zone).date(),
            )
            .values("term")
            .annotate(
                count=Coalesce(Sum("tickets", filter=Q(day__gte=start_day)), Value(0)),
                previous=Coalesce(Sum("tickets", filter=Q(day__lt=start_day)), Value(0)),
            )
        )
    return (
        TopicTermFact.objects.filter(
            filters.dimension_q(), created_at__gte=previous.start, created_at__lt=filters.end
        )
        .values("term")
        .annotate(
            count=Count("id", filter=Q(created_at__gte=filters.start)),
            previous=Count("id", filter=Q(created_at__lt=filters.start)),
        )
    )


def rising_topics(
    filters: Filters, *, limit: int = 10, min_count: int = MIN_COUNT
) -> list[RisingTopic]:
    """Return the terms that rose most against the previous period of equal length.

    A term counts tickets created in the period whose first customer message holds it; it
    ranks by rise (count minus the previous period's count), then count, then term, and only
    terms with at least `min_count` tickets that rose at all are listed.
    """
    rows = (
        _counts(filters)
        .annotate(rise=F("count") - F("previous"))
        .filter(count__gte=min_count, rise__gt=0)
        .order_by("-rise", "-count", "term")
        .values_list("term", "count", "previous")[:limit]
    )
    return [
        RisingTopic(
            term=term,
            count=int(count),
            previous=int(previous),
            drilldown={"figure": topic_figure(term)},
        )
        for term, count, previous in rows
    ]


def rising_topics_context(filters: Filters, tickets_url: Callable[..., str]) -> dict[str, Any]:
    """The dashboard's `rising_topics`: each topic with the URL of its tickets
    (`tickets_url(**changes)` adds the changes to the dashboard's filters)."""
    return {
        "rising_topics": [
            (topic, tickets_url(**topic.drilldown)) for topic in rising_topics(filters)
        ]
    }
