"""Rows the knowledge tests share: articles made through the services, as staff would."""

from __future__ import annotations

from typing import Any

from madoguchi.knowledge.models import Article
from madoguchi.knowledge.services import article_create, article_publish
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop


def article(
    world: Any,
    *,
    shop: Any = None,
    title: str,
    body: str,
    published: bool = True,
    visibility: str = Article.Visibility.PUBLIC,
    language: str = "ja",
    category: Any = None,
) -> Article:
    """Create (and by default publish) an article as the agency's supervisor."""
    shop = shop or world.tea
    actor = actor_for_user(world.supervisor)
    with in_shop(shop.id):
        created = article_create(
            actor=actor,
            shop=shop,
            title=title,
            body=body,
            language=language,
            visibility=visibility,
            category=category,
        )
        if published:
            created = article_publish(actor=actor, article=created)
    return created
