"""The index's walks (FTS5 doclists on SQLite, the posting table on PostgreSQL) answer exactly
what reading every article would: the articles in scope holding every required word and no
excluded one, those with the words in the title first, each newest first, cut at the limit."""

from __future__ import annotations

import random
from typing import Any

import pytest

from madoguchi.knowledge import index, selectors
from madoguchi.knowledge.models import Article
from madoguchi.knowledge.tests import rows
from madoguchi.search.normalize import search_form
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db

WORDS = ["送料", "返品", "交換", "在庫", "包装"]
QUERIES = [
    (["送料"], []),
    (["返品", "交換"], []),
    (["在庫"], ["包装"]),
    (["交換", "送料", "返品"], []),
    (["包装", "返品"], ["送料", "在庫"]),
    (["未知"], []),
]


def _expected(
    articles: list[Article], scope: index.IndexScope, words: list[str], excluded: list[str]
) -> list[int]:
    def holds(text: str, word: str) -> bool:
        return word in search_form(text)

    matching = [
        article
        for article in articles
        if article.status == Article.Status.PUBLISHED
        and article.language in scope.languages
        and article.visibility in scope.audiences
        and all(holds(f"{article.title} {article.body}", word) for word in words)
        and not any(holds(f"{article.title} {article.body}", word) for word in excluded)
    ]
    in_title = [a.pk for a in matching if all(holds(a.title, word) for word in words)]
    others = [a.pk for a in matching if a.pk not in in_title]
    return sorted(in_title, reverse=True) + sorted(others, reverse=True)


def test_the_walks_answer_what_reading_every_article_would(world: Any) -> None:
    rng = random.Random(16)
    articles = []
    for number in range(36):
        title = "と".join(rng.sample(WORDS, rng.randint(1, 2))) + "について"
        body = "。".join(f"{word}のご案内です" for word in rng.sample(WORDS, rng.randint(0, 3)))
        articles.append(
            rows.article(
                world,
                title=title,
                body=body or "ご案内",
                published=number % 9 != 4,
                visibility=Article.Visibility.INTERNAL if number % 5 == 3 else "public",
                language="en" if number % 7 == 6 else "ja",
            )
        )
    # Another shop's articles with the same words must never come back.
    rows.article(world, shop=world.ceramics, title="送料と返品について", body="交換。在庫。包装。")
    scopes = [
        index.IndexScope(shop_id=world.tea.id, languages=("ja",), audiences=("public",)),
        index.IndexScope(
            shop_id=world.tea.id, languages=("ja", "en"), audiences=("public", "internal")
        ),
    ]
    checked = 0
    with in_shop(world.tea.id):
        for scope in scopes:
            for words, excluded in QUERIES:
                query = " ".join([*words, *(f"-{word}" for word in excluded)])
                expected = _expected(articles, scope, words, excluded)
                for limit in (3, 50):
                    found = selectors.article_search(scope=scope, query=query, limit=limit)
                    assert [hit.pk for hit in found] == expected[:limit], (query, scope, limit)
                checked += len(expected)
    assert checked > 40  # the queries do find articles, in both scopes
