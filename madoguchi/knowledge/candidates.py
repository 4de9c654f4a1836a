"""FAQ candidates: frequent recent questions that no article answers yet.

Each recent ticket becomes two sets of features: the bigrams and words of its subject, and of
the start of the customer's first message (NFKC and lower case as in search, but katakana kept
apart from hiragana, so that bigrams touching hiragana, mostly grammar such as について or の返,
can be left out; so are numbers, and what a subject quotes in brackets (「商品名」, （注文番号）),
which names a product or an order rather than the question).
Features weigh by rarity (smoothed idf), so greetings every mail shares count for little. Two
tickets are alike by the weighted Dice coefficient of their subjects (mostly) and messages. A
ticket joins the group whose first ticket it resembles most (at least `SIMILARITY`), else
starts one; groups of at least `MIN_GROUP` tickets become candidates, unless a published
article already holds the group's core (the features most of its subjects share) in its title
or text. Tickets already in a decided candidate (turned into an
article or dismissed) are left out, so a decision holds until the question comes back anew.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from madoguchi.knowledge import index
from madoguchi.knowledge.models import Article, FaqCandidate
from madoguchi.search.normalize import normalize_text
from madoguchi.search.tokens import index_tokens

RECENT_DAYS = 30
MAX_TICKETS = 2000
MIN_GROUP = 3
SIMILARITY = 0.4
SUBJECT_SHARE = 0.7
BODY_CHARS = 200


@dataclass
class _Question:
    ticket_id: int
    subject: str
    features: frozenset[str]
    body_features: frozenset[str]


@dataclass
class _Group:
    seed: _Question
    members: list[_Question]


_HIRAGANA = re.compile("[\u3041-\u309f]")
CORE_SHARE = 0.6


_QUOTED = re.compile(r"「[^」]*」|『[^』]*』|【[^】]*】|（[^）]*）|\([^)]*\)|\[[^\]]*\]")


def subject_features(subject: str) -> frozenset[str]:
    """The features of a subject without what it quotes (unless nothing else is left)."""
    return features(_QUOTED.sub(" ", subject)) or features(subject)


def features(text: str) -> frozenset[str]:
    """The content bigrams and words of `text`: no single characters, nothing touching
    hiragana, no bare numbers."""
    return frozenset(
        token
        for token in index_tokens(normalize_text(text).lower())
        if len(token) > 1 and not _HIRAGANA.search(token) and not token.isdigit()
    )


def weighted_dice(left: frozenset[str], right: frozenset[str], weights: dict[str, float]) -> float:
    """Twice the weight the sets share over their weights together (0 to 1)."""
    if not left or not right:
        return 0.0
    shared = sum(weights.get(token, 1.0) for token in left & right)
    total = sum(weights.get(token, 1.0) for token in left) + sum(
        weights.get(token, 1.0) for token in right
    )
    return 2 * shared / total


def similarity(left: _Question, right: _Question, weights: dict[str, float]) -> float:
    subjects = weighted_dice(left.features, right.features, weights)
    bodies = weighted_dice(left.body_features, right.body_features, weights)
    return SUBJECT_SHARE * subjects + (1 - SUBJECT_SHARE) * bodies


def _recent_questions(shop_id: int, since: dt.datetime) -> list[_Question]:
    from madoguchi.conversations.models import Message, Ticket

    decided = FaqCandidate.objects.filter(shop_id=shop_id).exclude(status=FaqCandidate.Status.OPEN)
    taken = set(
        FaqCandidate.tickets.through.objects.filter(faqcandidate__in=decided).values_list(
            "ticket_id", flat=True
        )
    )
    tickets = list(
        Ticket.objects.filter(shop_id=shop_id, created_at__gte=since)
        .order_by("-id")
        .values_list("id", "subject")[:MAX_TICKETS]
    )
    tickets = [(ticket_id, subject) for ticket_id, subject in tickets if ticket_id not in taken]
    first_message: dict[int, str] = {}
    messages = (
        Message.objects.filter(
            ticket_id__in=[ticket_id for ticket_id, _subject in tickets],
            direction=Message.Direction.INBOUND,
        )
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", "body_text")
    )
    for ticket_id, body in messages:
        first_message.setdefault(ticket_id, body[:BODY_CHARS])
    return [
        _Question(
            ticket_id,
            subject,
            subject_features(subject),
            features(_QUOTED.sub(" ", first_message.get(ticket_id, ""))),
        )
        for ticket_id, subject in tickets
    ]


def _idf(questions: list[_Question]) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for question in questions:
        counts.update(question.features | question.body_features)
    total = len(questions)
    return {token: math.log((1 + total) / (1 + count)) + 1 for token, count in counts.items()}


def group_questions(questions: list[_Question]) -> list[_Group]:
    """Group similar questions (oldest first, so a group's seed is its first question)."""
    weights = _idf(questions)
    groups: list[_Group] = []
    for question in sorted(questions, key=lambda found: found.ticket_id):
        best, best_score = None, SIMILARITY
        for group in groups:
            score = similarity(question, group.seed, weights)
            if score >= best_score:
                best, best_score = group, score
        if best is None:
            groups.append(_Group(seed=question, members=[question]))
        else:
            best.members.append(question)
    return groups


def _representative(group: _Group, weights: dict[str, float]) -> _Question:
    """The member most like the others: its subject names the group."""
    return max(
        group.members,
        key=lambda member: (
            sum(similarity(member, other, weights) for other in group.members),
            -member.ticket_id,
        ),
    )


def core_features(group: _Group) -> list[str]:
    """The subject features at least `CORE_SHARE` of the group's tickets share, most shared
    first."""
    counts: Counter[str] = Counter()
    for member in group.members:
        counts.update(member.features)
    needed = CORE_SHARE * len(group.members)
    return sorted(
        (token for token, count in counts.items() if count >= needed),
        key=lambda token: (-counts[token], token),
    )


def _is_answered(shop_id: int, core: list[str]) -> bool:
    """Whether a published article (public or internal) holds every core feature."""
    if not core:
        return False
    scope = index.IndexScope(
        shop_id=shop_id, languages=("ja", "en"), audiences=("public", "internal")
    )
    ids = index.similar_ids(" ".join(core), scope, limit=5, exclude_id=None)
    for title, body in Article.objects.filter(pk__in=ids).values_list("title", "body"):
        if set(core) <= features(f"{title} {body}"):
            return True
    return False


@transaction.atomic
def faq_candidates_refresh(*, shop_id: int, now: dt.datetime | None = None) -> list[FaqCandidate]:
    """Recompute the shop's open candidates from its recent tickets; return them.

    Open candidates are replaced; decided ones stay as they are.
    """
    now = now or timezone.now()
    questions = _recent_questions(shop_id, now - dt.timedelta(days=RECENT_DAYS))
    weights = _idf(questions)
    FaqCandidate.objects.filter(shop_id=shop_id, status=FaqCandidate.Status.OPEN).delete()
    created = []
    for group in group_questions(questions):
        if len(group.members) < MIN_GROUP:
            continue
        representative = _representative(group, weights)
        core = core_features(group)
        if _is_answered(shop_id, core):
            continue
        ticket_ids = sorted(member.ticket_id for member in group.members)
        candidate = FaqCandidate.objects.create(
            shop_id=shop_id,
            question=representative.subject[:255],
            keywords="・".join(core[:5])[:255],
            ticket_count=len(ticket_ids),
            first_ticket_id=ticket_ids[0],
        )
        candidate.tickets.set(ticket_ids)
        created.append(candidate)
    return created
