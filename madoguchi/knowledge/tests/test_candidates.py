from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from madoguchi.conversations.models import Message
from madoguchi.core.errors import ConflictError
from madoguchi.core.testing import factories
from madoguchi.knowledge.candidates import faq_candidates_refresh
from madoguchi.knowledge.models import Article, FaqCandidate
from madoguchi.knowledge.services import candidate_convert, candidate_dismiss
from madoguchi.knowledge.tests import rows
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db

GREETING = "お世話になっております。"
QUESTIONS = [
    ("ギフト包装はできますか", "母の日の贈り物にしたいのでギフト包装をお願いできますか。"),
    ("ギフト包装について", "ギフト包装は有料でしょうか。"),
    ("ギフト包装をお願いしたい", "プレゼント用にギフト包装してほしいです。"),
    ("領収書の発行", "領収書を発行していただけますか。"),
    ("注文のキャンセル", "注文をキャンセルしたいです。"),
]


def _tickets(world: Any, questions: list[tuple[str, str]]) -> list[Any]:
    created = []
    with unscoped("test setup"):
        for subject, body in questions:
            ticket = factories.TicketFactory(shop=world.tea, subject=subject)
            factories.MessageFactory(ticket=ticket, body_text=GREETING + body)
            created.append(ticket)
    return created


def test_similar_questions_group_into_one_candidate_with_their_tickets(world: Any) -> None:
    tickets = _tickets(world, QUESTIONS)
    with in_shop(world.tea.id):
        found = faq_candidates_refresh(shop_id=world.tea.id)
        assert len(found) == 1
        candidate = found[0]
        assert candidate.ticket_count == 3
        assert sorted(candidate.tickets.values_list("pk", flat=True)) == [
            ticket.pk for ticket in tickets[:3]
        ]
        assert candidate.question in {subject for subject, _body in QUESTIONS[:3]}
        assert "ぎふ" in candidate.keywords or "包装" in candidate.keywords


def test_a_question_an_article_answers_is_no_candidate(world: Any) -> None:
    _tickets(world, QUESTIONS)
    rows.article(world, title="ギフト包装について", body="無料で承ります。")
    with in_shop(world.tea.id):
        assert faq_candidates_refresh(shop_id=world.tea.id) == []


def test_old_tickets_and_other_shops_do_not_count(world: Any) -> None:
    old = timezone.now() - dt.timedelta(days=45)
    with unscoped("test setup"):
        for subject, body in QUESTIONS[:3]:
            ticket = factories.TicketFactory(shop=world.tea, subject=subject, created_at=old)
            factories.MessageFactory(ticket=ticket, body_text=body)
            other = factories.TicketFactory(shop=world.ceramics, subject=subject)
            factories.MessageFactory(ticket=other, body_text=body)
    with in_shop(world.tea.id):
        assert faq_candidates_refresh(shop_id=world.tea.id) == []


def test_convert_makes_a_draft_from_the_first_reply_and_dismissed_groups_stay_away(
    world: Any,
) -> None:
    tickets = _tickets(world, QUESTIONS)
    with unscoped("test setup"):
        factories.MessageFactory(
            ticket=tickets[1],
            direction=Message.Direction.OUTBOUND,
            body_text="ギフト包装は1点110円で承ります。",
        )
    supervisor = actor_for_user(world.supervisor)
    with in_shop(world.tea.id):
        candidate = faq_candidates_refresh(shop_id=world.tea.id)[0]
        article = candidate_convert(actor=supervisor, candidate=candidate)
        assert (article.title, article.body, article.status) == (
            candidate.question,
            "ギフト包装は1点110円で承ります。",
            Article.Status.DRAFT,
        )
        stored = FaqCandidate.objects.get(pk=candidate.pk)
        assert (stored.status, stored.article_id) == (FaqCandidate.Status.CONVERTED, article.pk)
        with pytest.raises(ConflictError):
            candidate_dismiss(actor=supervisor, candidate=stored)
        # The converted group's tickets are not grouped again (the draft is not published yet).
        assert faq_candidates_refresh(shop_id=world.tea.id) == []


def test_a_dismissed_group_is_not_proposed_again(world: Any) -> None:
    _tickets(world, QUESTIONS)
    supervisor = actor_for_user(world.supervisor)
    with in_shop(world.tea.id):
        candidate = faq_candidates_refresh(shop_id=world.tea.id)[0]
        candidate_dismiss(actor=supervisor, candidate=candidate)
        assert faq_candidates_refresh(shop_id=world.tea.id) == []
        assert FaqCandidate.objects.get(pk=candidate.pk).status == FaqCandidate.Status.DISMISSED
