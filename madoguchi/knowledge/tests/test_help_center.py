"""The public help center: published public articles only, search, votes, sitemap, suggestions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from madoguchi.events.models import Event
from madoguchi.knowledge.models import Article
from madoguchi.knowledge.services import article_archive, knowledge_settings_save
from madoguchi.knowledge.tests import rows
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db


def test_the_front_page_lists_published_public_articles_only(client: Any, world: Any) -> None:
    rows.article(world, title="送料について", body="全国一律です。")
    rows.article(world, title="未公開の下書き", body="本文", published=False)
    rows.article(world, title="社内手順", body="本文", visibility=Article.Visibility.INTERNAL)
    rows.article(world, shop=world.ceramics, title="陶房の記事", body="本文")
    page = client.get(reverse("knowledge:help", args=[world.tea.slug])).text
    assert "送料について" in page
    for hidden in ("未公開の下書き", "社内手順", "陶房の記事"):
        assert hidden not in page


def test_a_draft_archived_or_internal_article_is_not_found(client: Any, world: Any) -> None:
    draft = rows.article(world, title="下書き", body="本文", published=False)
    internal = rows.article(world, title="社内", body="本文", visibility="internal")
    other = rows.article(world, shop=world.ceramics, title="陶房", body="本文")
    for article in (draft, internal):
        url = reverse("knowledge:help_article", args=[world.tea.slug, article.pk])
        assert client.get(url).status_code == 404
    elsewhere = reverse("knowledge:help_article", args=[world.tea.slug, other.pk])
    assert client.get(elsewhere).status_code == 404


def test_an_article_page_has_its_canonical_link_and_related_articles(
    client: Any, world: Any
) -> None:
    article = rows.article(world, title="配送日の指定", body="ご注文時に指定できます。")
    rows.article(world, title="配送業者について", body="ヤマト運輸です。")
    url = reverse("knowledge:help_article", args=[world.tea.slug, article.pk])
    page = client.get(url + "?from=webform").text
    assert f'<link rel="canonical" href="http://testserver{url}">' in page
    assert "配送業者について" in page


def test_search_uses_the_ticket_search_normalisation(client: Any, world: Any) -> None:
    rows.article(world, title="ポイントの使い方", body="1ポイント1円として使えます。")
    url = reverse("knowledge:help_search", args=[world.tea.slug])
    for query in ("ぽいんと", "ﾎﾟｲﾝﾄ", "ポイント"):
        assert 'data-testid="help-result"' in client.get(url, {"q": query}).text, query
    assert 'data-testid="help-no-results"' in client.get(url, {"q": "送料"}).text


def test_a_vote_counts_once_per_address_and_day(client: Any, world: Any) -> None:
    article = rows.article(world, title="返品", body="本文")
    url = reverse("knowledge:help_vote", args=[world.tea.slug, article.pk])
    assert client.post(url, {"helpful": "yes"}).status_code == 302
    assert client.post(url, {"helpful": "no"}).status_code == 302
    with unscoped("test"):
        stored = Article.objects.get(pk=article.pk)
    assert (stored.helpful_count, stored.not_helpful_count) == (1, 0)


def test_the_sitemap_lists_the_published_public_articles(client: Any, world: Any) -> None:
    article = rows.article(world, title="送料", body="本文")
    draft = rows.article(world, title="下書き", body="本文", published=False)
    response = client.get(reverse("knowledge:help_sitemap", args=[world.tea.slug]))
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    body = response.text
    assert f"<loc>http://testserver/help/tea/articles/{article.pk}/</loc>" in body
    assert f"/articles/{draft.pk}/" not in body
    assert body.count("<url>") == 2  # the front page and the one article


def test_a_closed_help_center_is_not_found(client: Any, world: Any) -> None:
    rows.article(world, title="送料", body="本文")
    with in_shop(world.tea.id):
        knowledge_settings_save(
            actor=actor_for_user(world.supervisor),
            shop=world.tea,
            is_help_center_enabled=False,
            clients_may_edit=False,
        )
    assert client.get(reverse("knowledge:help", args=[world.tea.slug])).status_code == 404
    assert client.get(reverse("knowledge:help", args=[world.ceramics.slug])).status_code == 200


def test_suggest_answers_json_for_any_site_and_events_are_appended(client: Any, world: Any) -> None:
    article = rows.article(world, title="ギフト包装について", body="無料で承ります。")
    rows.article(world, shop=world.ceramics, title="陶房のギフト", body="本文")
    url = reverse("knowledge:help_suggest", args=[world.tea.slug])
    response = client.get(url, {"q": "こんにちは、お願いしたいのですが", "source": "chat"})
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response.json() == {"articles": []}  # no content word: nothing to suggest
    response = client.get(url, {"q": "ギフト包装をお願いしたいのですが", "source": "chat"})
    assert response.json() == {
        "articles": [
            {
                "id": article.pk,
                "title": "ギフト包装について",
                "excerpt": "無料で承ります。",
                "url": f"/help/tea/articles/{article.pk}/?from=chat",
            }
        ]
    }
    events_url = reverse("knowledge:help_suggestion_event", args=[world.tea.slug])
    body = {"kind": "opened", "visitor": "abc", "source": "chat", "article_ids": [article.pk]}
    sent = client.post(events_url, json.dumps(body), content_type="text/plain")
    assert sent.status_code == 204
    bad = client.post(events_url, json.dumps({"kind": "hacked"}), content_type="text/plain")
    assert bad.status_code == 400
    with unscoped("test"):
        events = list(
            Event.objects.filter(type__startswith="knowledge.").values("shop_id", "type", "payload")
        )
    assert events == [
        {
            "shop_id": world.tea.id,
            "type": "knowledge.suggestion_opened",
            "payload": {"visitor": "abc", "source": "chat", "article_id": article.pk},
        }
    ]


def test_the_web_form_carries_the_suggestion_box_and_its_script_nonce(
    client: Any, world: Any
) -> None:
    from madoguchi.connectors.webform.models import WebForm

    with unscoped("test setup"):
        WebForm.objects.create(shop=world.tea, public_key="tea-form-key")
    url = reverse("webform:public", args=["tea-form-key"])
    before = client.get(url)
    assert "data-help-suggest" not in before.text
    assert "script-src 'none'" in before["Content-Security-Policy"]
    rows.article(world, title="送料", body="本文")
    after = client.get(url)
    assert 'data-help-suggest="/help/tea/suggest/"' in after.text
    nonce = after["Content-Security-Policy"].split("script-src 'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in after.text


def test_hidden_articles_are_reachable_by_no_public_path(client: Any, world: Any) -> None:
    """Security checklist 46: a draft, an archived, an internal or another shop's article is
    not retrievable by id, sitemap, search, suggestions or "related articles"."""
    shown = rows.article(world, title="ギフト包装の合言葉", body="ギフト包装は無料で承ります。")
    rows.article(world, title="ギフト包装の送料", body="ギフト包装の送料は無料です。")
    hidden = {
        "draft": rows.article(
            world, title="ギフト包装の下書き", body="ギフト包装の新料金", published=False
        ),
        "internal": rows.article(
            world, title="ギフト包装の社内手順", body="ギフト包装の手順", visibility="internal"
        ),
        "archived": rows.article(world, title="ギフト包装の旧案内", body="ギフト包装の旧料金"),
        "other shop": rows.article(
            world, shop=world.ceramics, title="陶房のギフト包装", body="ギフト包装の案内"
        ),
    }
    with in_shop(world.tea.id):
        article_archive(actor=actor_for_user(world.supervisor), article=hidden["archived"])
    slug = world.tea.slug
    pages = {
        "front page": client.get(reverse("knowledge:help", args=[slug])).text,
        "search": client.get(
            reverse("knowledge:help_search", args=[slug]), {"q": "ギフト包装"}
        ).text,
        # JSON: the titles as text (the body escapes them as \uXXXX).
        "suggestions": json.dumps(
            client.get(
                reverse("knowledge:help_suggest", args=[slug]), {"q": "ギフト包装をお願いしたい"}
            ).json(),
            ensure_ascii=False,
        ),
        "related": client.get(reverse("knowledge:help_article", args=[slug, shown.pk])).text,
        "sitemap": client.get(reverse("knowledge:help_sitemap", args=[slug])).text,
    }
    assert "ギフト包装の合言葉" in pages["search"]
    assert "ギフト包装の合言葉" in pages["suggestions"]
    assert "ギフト包装の送料" in pages["related"]  # related articles are listed, visible ones
    for kind, article in hidden.items():
        url = reverse("knowledge:help_article", args=[slug, article.pk])
        assert client.get(url).status_code == 404, kind
        assert client.post(url + "vote/", {"helpful": "yes"}).status_code == 404, kind
        for where, page in pages.items():
            assert article.title not in page, (kind, where)
            assert f"/articles/{article.pk}/" not in page, (kind, where)
