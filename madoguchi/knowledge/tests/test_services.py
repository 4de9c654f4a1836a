from __future__ import annotations

from typing import Any

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.core.errors import ConflictError, PermissionDeniedError, ValidationError
from madoguchi.knowledge import selectors
from madoguchi.knowledge.models import Article, ArticleRevision
from madoguchi.knowledge.services import (
    article_archive,
    article_create,
    article_from_message,
    article_publish,
    article_update,
    knowledge_settings_save,
)
from madoguchi.knowledge.tests import rows
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db


def _titles(found: list[Any]) -> list[str]:
    return [article.title for article in found]


def test_create_edit_publish_archive_keeps_revisions_and_audits(world: Any) -> None:
    actor = actor_for_user(world.supervisor)
    with in_shop(world.tea.id):
        draft = article_create(
            actor=actor,
            shop=world.tea,
            title="返品について",
            body="商品到着後7日以内にご連絡ください。",
        )
        edited = article_update(
            actor=actor,
            article=draft,
            title="返品・交換について",
            body="商品到着後8日以内にご連絡ください。\n送料は当店が負担します。",
            language="ja",
            visibility=Article.Visibility.PUBLIC,
            category=None,
            expected_revision=1,
            note="期限を変更",
        )
        published = article_publish(actor=actor, article=edited)
        archived = article_archive(actor=actor, article=published)
        revisions = list(ArticleRevision.objects.filter(article=draft).order_by("number"))
        revision, lines = selectors.revision_diff(article=draft, number=2)
    assert edited.revision_number == 2
    assert [(found.number, found.title, found.note) for found in revisions] == [
        (1, "返品について", ""),
        (2, "返品・交換について", "期限を変更"),
    ]
    assert [(line.kind, line.text) for line in lines if line.kind != "hunk"] == [
        ("removed", "返品について"),
        ("added", "返品・交換について"),
        ("context", ""),
        ("removed", "商品到着後7日以内にご連絡ください。"),
        ("added", "商品到着後8日以内にご連絡ください。"),
        ("added", "送料は当店が負担します。"),
    ]
    assert revision.number == 2
    assert published.status == Article.Status.PUBLISHED
    assert archived.status == Article.Status.ARCHIVED
    with unscoped("test"):
        actions = list(
            AuditEntry.objects.filter(target_id=str(draft.pk))
            .order_by("id")
            .values_list("action", flat=True)
        )
    assert actions == [
        "knowledge.article_created",
        "knowledge.article_updated",
        "knowledge.article_published",
        "knowledge.article_archived",
    ]


def test_a_stale_edit_is_refused(world: Any) -> None:
    actor = actor_for_user(world.supervisor)
    created = rows.article(world, title="送料", body="全国一律660円です。", published=False)
    with in_shop(world.tea.id):
        article_update(
            actor=actor,
            article=created,
            title="送料",
            body="全国一律770円です。",
            language="ja",
            visibility="public",
            category=None,
            expected_revision=1,
        )
        with pytest.raises(ConflictError):
            article_update(
                actor=actor,
                article=created,
                title="送料",
                body="全国一律880円です。",
                language="ja",
                visibility="public",
                category=None,
                expected_revision=1,
            )
        assert Article.objects.get(pk=created.pk).body == "全国一律770円です。"


def test_roles_operators_draft_clients_edit_only_when_allowed(world: Any) -> None:
    operator = actor_for_user(world.operator_tea)
    client = actor_for_user(world.client_tea)
    with in_shop(world.tea.id):
        draft = article_create(actor=operator, shop=world.tea, title="下書き", body="本文")
        with pytest.raises(PermissionDeniedError):
            article_publish(actor=operator, article=draft)
        with pytest.raises(PermissionDeniedError):
            article_create(actor=client, shop=world.tea, title="店主の記事", body="本文")
        knowledge_settings_save(
            actor=actor_for_user(world.supervisor),
            shop=world.tea,
            is_help_center_enabled=True,
            clients_may_edit=True,
        )
        own = article_create(actor=client, shop=world.tea, title="店主の記事", body="本文")
        assert article_publish(actor=client, article=own).status == Article.Status.PUBLISHED
        with pytest.raises(PermissionDeniedError):
            article_create(
                actor=client,
                shop=world.tea,
                title="社内マニュアル",
                body="本文",
                visibility=Article.Visibility.INTERNAL,
            )


def test_an_empty_title_is_refused_on_its_field(world: Any) -> None:
    with in_shop(world.tea.id), pytest.raises(ValidationError) as refused:
        article_create(
            actor=actor_for_user(world.supervisor), shop=world.tea, title="  ", body="本文"
        )
    assert refused.value.field == "title"


def test_help_search_folds_width_kana_and_case_and_never_finds_drafts(world: Any) -> None:
    rows.article(world, title="ギフト包装はできますか", body="ラッピングは無料で承ります。Gift OK.")
    rows.article(world, title="下書きのギフト記事", body="ラッピング", published=False)
    rows.article(
        world,
        title="社内: ギフト対応手順",
        body="ラッピング",
        visibility=Article.Visibility.INTERNAL,
    )
    rows.article(world, shop=world.ceramics, title="陶器のギフト", body="ラッピング")
    with in_shop(world.tea.id):
        for query in ("ぎふと", "ｷﾞﾌﾄ", "GIFT", "ラッピング", "らっぴんぐ　無料"):
            found = selectors.help_search(shop=world.tea, query=query, language="ja")
            assert _titles(found) == ["ギフト包装はできますか"], query
        assert selectors.help_search(shop=world.tea, query="包装 -無料", language="ja") == []
        assert selectors.help_search(shop=world.tea, query="ギフト", language="en") == []
        staff = selectors.staff_article_search(
            actor=actor_for_user(world.operator_tea), shop=world.tea, query="ラッピング"
        )
    assert sorted(_titles(staff)) == ["ギフト包装はできますか", "社内: ギフト対応手順"]


def test_a_long_term_must_occur_as_written(world: Any) -> None:
    # 東京都 needs 東京 and 京都 side by side; this body has both bigrams apart.
    rows.article(world, title="京都と東京の配送", body="京都へも東京へも翌日届きます。")
    rows.article(world, title="東京都への配送", body="東京都内は当日配送です。")
    with in_shop(world.tea.id):
        found = selectors.help_search(shop=world.tea, query="東京都", language="ja")
    assert _titles(found) == ["東京都への配送"]


def test_title_matches_rank_first(world: Any) -> None:
    rows.article(
        world, title="お支払い方法", body="クレジットカード、銀行振込、代金引換。返品は別記事。"
    )
    rows.article(world, title="返品の方法", body="マイページから申請してください。")
    with in_shop(world.tea.id):
        found = selectors.help_search(shop=world.tea, query="返品", language="ja")
    assert _titles(found) == ["返品の方法", "お支払い方法"]


def test_editing_a_published_article_reindexes_it_and_archiving_removes_it(world: Any) -> None:
    actor = actor_for_user(world.supervisor)
    created = rows.article(world, title="営業時間", body="平日10時から17時です。")
    with in_shop(world.tea.id):
        article_update(
            actor=actor,
            article=created,
            title="営業時間とお休み",
            body="土日祝はお休みです。",
            language="ja",
            visibility="public",
            category=None,
            expected_revision=1,
        )
        assert selectors.help_search(shop=world.tea, query="平日", language="ja") == []
        assert _titles(selectors.help_search(shop=world.tea, query="土日", language="ja")) == [
            "営業時間とお休み"
        ]
        article_archive(actor=actor, article=created)
        assert selectors.help_search(shop=world.tea, query="土日", language="ja") == []


def test_related_articles_share_words_of_the_title(world: Any) -> None:
    main = rows.article(world, title="配送日の指定", body="ご注文時に指定できます。")
    rows.article(world, title="配送業者について", body="ヤマト運輸でお届けします。")
    rows.article(world, title="ポイントの使い方", body="1ポイント1円です。")
    with in_shop(world.tea.id):
        related = selectors.related_articles(article=main)
    assert _titles(related) == ["配送業者について"]


def test_a_reply_becomes_a_draft_article(world: Any) -> None:
    from madoguchi.conversations.models import Message
    from madoguchi.core.testing import factories

    with unscoped("test setup"):
        reply = factories.MessageFactory(
            ticket=world.tea_ticket,
            direction=Message.Direction.OUTBOUND,
            body_text="お届けまで3日ほどかかります。",
        )
    with in_shop(world.tea.id):
        draft = article_from_message(actor=actor_for_user(world.operator_tea), message=reply)
    assert (draft.title, draft.body, draft.status, draft.source_ticket_id) == (
        "お茶が届きません",
        "お届けまで3日ほどかかります。",
        Article.Status.DRAFT,
        world.tea_ticket.pk,
    )
