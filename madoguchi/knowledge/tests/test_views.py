"""The staff pages: roles, the other shop's objects, the composer and reply-to-article."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from madoguchi.conversations.models import Message
from madoguchi.core.testing import factories
from madoguchi.knowledge.models import Article, FaqCandidate, ImprovementItem
from madoguchi.knowledge.tests import rows
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db


def _article_url(name: str, article: Article) -> str:
    return reverse(f"knowledge:{name}", args=[article.shop.slug, article.pk])


def test_operators_read_internal_articles_and_clients_only_public_ones(
    english: Any, world: Any
) -> None:
    rows.article(world, title="公開の記事", body="本文")
    internal = rows.article(
        world, title="社内マニュアル", body="手順", visibility=Article.Visibility.INTERNAL
    )
    url = reverse("knowledge:articles", args=[world.tea.slug])
    english.force_login(world.operator_tea)
    page = english.get(url).text
    assert "公開の記事" in page and "社内マニュアル" in page
    english.force_login(world.client_tea)
    page = english.get(url).text
    assert "公開の記事" in page and "社内マニュアル" not in page
    assert english.get(_article_url("article", internal)).status_code == 404


def test_the_other_shops_people_never_see_an_article(english: Any, world: Any) -> None:
    article = rows.article(world, title="山田園の秘密の記事", body="本文")
    for user in (world.operator_ceramics, world.client_ceramics):
        english.force_login(user)
        assert english.get(_article_url("article", article)).status_code == 404
        assert english.get(_article_url("article_edit", article)).status_code == 404
        assert english.post(_article_url("article_archive", article)).status_code == 404
        listing = english.get(reverse("knowledge:articles", args=[world.tea.slug]))
        assert listing.status_code == 404
    # Through the ceramics shop's URL the tea article does not exist either.
    english.force_login(world.supervisor)
    elsewhere = reverse("knowledge:article", args=[world.ceramics.slug, article.pk])
    assert english.get(elsewhere).status_code == 404
    with unscoped("test"):
        assert Article.objects.get(pk=article.pk).status == Article.Status.PUBLISHED


def test_a_supervisor_edits_and_the_revision_page_shows_the_diff(english: Any, world: Any) -> None:
    article = rows.article(world, title="送料", body="全国一律660円です。")
    english.force_login(world.supervisor)
    response = english.post(
        _article_url("article_edit", article),
        {
            "title": "送料",
            "body": "全国一律770円です。",
            "language": "ja",
            "visibility": "public",
            "category": "",
            "note": "値上げ",
            "expected_revision": "1",
        },
    )
    assert response.status_code == 302
    diff = english.get(reverse("knowledge:revision", args=[world.tea.slug, article.pk, 2])).text
    assert '<span class="diff__removed" data-kind="removed">- 全国一律660円です。</span>' in diff
    assert '<span class="diff__added" data-kind="added">+ 全国一律770円です。</span>' in diff


def test_an_operator_may_not_publish(english: Any, world: Any) -> None:
    draft = rows.article(world, title="下書き", body="本文", published=False)
    english.force_login(world.operator_tea)
    assert english.post(_article_url("article_publish", draft)).status_code == 403
    with unscoped("test"):
        assert Article.objects.get(pk=draft.pk).status == Article.Status.DRAFT


def test_the_composer_finds_articles_with_their_text_to_insert(english: Any, world: Any) -> None:
    rows.article(world, title="返品の方法", body="マイページから申請してください。")
    rows.article(world, shop=world.ceramics, title="返品（陶房）", body="陶房の返品")
    english.force_login(world.operator_tea)
    url = reverse("knowledge:composer_search", args=[world.tea.slug])
    page = english.get(url, {"q": "返品 申請"}, HTTP_HX_REQUEST="true").text
    assert 'data-knowledge-insert="マイページから申請してください。"' in page
    assert "陶房" not in page
    english.force_login(world.client_tea)
    assert english.get(url, {"q": "返品"}).status_code == 403


def test_the_ticket_page_has_the_knowledge_panel_for_staff_only(english: Any, world: Any) -> None:
    with unscoped("test setup"):
        reply = factories.MessageFactory(
            ticket=world.tea_ticket, direction=Message.Direction.OUTBOUND, body_text="返信です"
        )
    url = reverse("conversations:ticket", args=[world.tea.slug, world.tea_ticket.number])
    english.force_login(world.operator_tea)
    page = english.get(url).text
    assert 'data-panel="knowledge"' in page
    assert reverse("knowledge:article_from_reply", args=[world.tea.slug, reply.pk]) in page
    english.force_login(world.client_tea)
    assert 'data-panel="knowledge"' not in english.get(url).text


def test_reply_to_draft_article_in_two_clicks(english: Any, world: Any) -> None:
    with unscoped("test setup"):
        reply = factories.MessageFactory(
            ticket=world.tea_ticket,
            direction=Message.Direction.OUTBOUND,
            body_text="3営業日以内に発送します。",
        )
        inbound = Message.objects.filter(
            ticket=world.tea_ticket, direction=Message.Direction.INBOUND
        ).first()
    english.force_login(world.operator_tea)
    response = english.post(
        reverse("knowledge:article_from_reply", args=[world.tea.slug, reply.pk])
    )
    with unscoped("test"):
        article = Article.objects.get(source_ticket=world.tea_ticket)
    assert response.status_code == 302
    assert response["Location"] == _article_url("article_edit", article)
    assert (article.title, article.body, article.status) == (
        "お茶が届きません",
        "3営業日以内に発送します。",
        "draft",
    )
    assert inbound is not None
    refused = english.post(
        reverse("knowledge:article_from_reply", args=[world.tea.slug, inbound.pk])
    )
    assert refused.status_code == 404
    english.force_login(world.operator_ceramics)
    other = english.post(reverse("knowledge:article_from_reply", args=[world.tea.slug, reply.pk]))
    assert other.status_code == 404


def test_candidates_are_for_leads_and_convert_opens_the_draft(english: Any, world: Any) -> None:
    with unscoped("test setup"):
        candidate = FaqCandidate.objects.create(
            shop=world.tea, question="ギフト包装はできますか", first_ticket_id=world.tea_ticket.pk
        )
        candidate.tickets.set([world.tea_ticket])
    url = reverse("knowledge:candidates", args=[world.tea.slug])
    english.force_login(world.operator_tea)
    assert english.get(url).status_code == 403
    english.force_login(world.supervisor)
    page = english.get(url).text
    assert "ギフト包装はできますか" in page and "TEA-1" in page
    response = english.post(
        reverse("knowledge:candidate_convert", args=[world.tea.slug, candidate.pk])
    )
    with unscoped("test"):
        article = Article.objects.get(title="ギフト包装はできますか")
    assert response["Location"] == _article_url("article_edit", article)
    english.force_login(world.operator_ceramics)
    other = english.post(
        reverse("knowledge:candidate_dismiss", args=[world.tea.slug, candidate.pk])
    )
    assert other.status_code == 404


def test_improvement_items_are_added_with_tickets_and_read_by_the_client(
    english: Any, world: Any
) -> None:
    url = reverse("knowledge:improvements", args=[world.tea.slug])
    english.force_login(world.supervisor)
    response = english.post(
        url,
        {
            "title": "配送日数を商品ページに明記",
            "kind": "product_page",
            "status": "open",
            "owner": str(world.operator_tea.pk),
            "ticket_numbers": f"TEA-{world.tea_ticket.number}",
        },
    )
    assert response.status_code == 302
    with unscoped("test"):
        item = ImprovementItem.objects.get()
        assert list(item.tickets.all()) == [world.tea_ticket]
    english.force_login(world.client_tea)
    page = english.get(url).text
    assert "配送日数を商品ページに明記" in page
    assert english.post(url, {"title": "x", "kind": "terms", "status": "open"}).status_code == 403
    english.force_login(world.client_ceramics)
    assert english.get(url).status_code == 404


def test_settings_let_the_client_edit_when_allowed(english: Any, world: Any) -> None:
    url = reverse("knowledge:settings", args=[world.tea.slug])
    english.force_login(world.client_tea)
    assert english.get(url).status_code == 403
    new_url = reverse("knowledge:article_new", args=[world.tea.slug])
    assert english.get(new_url).status_code == 403
    english.force_login(world.supervisor)
    saved = english.post(url, {"is_help_center_enabled": "on", "clients_may_edit": "on"})
    assert saved.status_code == 302
    english.force_login(world.client_tea)
    assert english.get(new_url).status_code == 200
