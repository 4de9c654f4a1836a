"""Who may do what with a shop's knowledge, in one place the views, menu and services share.

- The shop's admins and supervisors edit, publish and archive every article.
- Its operators read internal and public articles and start drafts (from a reply, say); a
  draft is theirs to edit until a lead publishes it.
- Its client (the shop owner) reads the public articles, and edits and publishes them when the
  shop's knowledge settings allow (`KnowledgeSettings.clients_may_edit`); never internal ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Membership

if TYPE_CHECKING:
    from madoguchi.knowledge.models import Article


def clients_may_edit(shop_id: int) -> bool:
    from madoguchi.knowledge.models import KnowledgeSettings

    return KnowledgeSettings.objects.filter(shop_id=shop_id, clients_may_edit=True).exists()


def is_client(actor: Actor, shop_id: int) -> bool:
    return actor.role_for(shop_id) == Membership.Role.CLIENT


def may_read_articles(actor: Actor, shop_id: int) -> bool:
    return actor.role_for(shop_id) is not None


def may_read_internal(actor: Actor, shop_id: int) -> bool:
    return actor.is_staff_for(shop_id)


def may_edit_articles(actor: Actor, shop_id: int) -> bool:
    """Whether the actor edits, publishes and archives the shop's (public) articles."""
    if actor.is_lead_for(shop_id):
        return True
    return is_client(actor, shop_id) and clients_may_edit(shop_id)


def may_create_drafts(actor: Actor, shop_id: int) -> bool:
    return actor.is_staff_for(shop_id) or may_edit_articles(actor, shop_id)


def may_read_article(actor: Actor, article: Article) -> bool:
    if article.is_public:
        return may_read_articles(actor, article.shop_id)
    return may_read_internal(actor, article.shop_id)


def may_edit_article(actor: Actor, article: Article) -> bool:
    """Leads edit any article; a permitted client public ones; staff drafts."""
    if actor.is_lead_for(article.shop_id):
        return True
    if is_client(actor, article.shop_id):
        return article.is_public and clients_may_edit(article.shop_id)
    return actor.is_staff_for(article.shop_id) and article.status == article.Status.DRAFT


def may_publish_article(actor: Actor, article: Article) -> bool:
    if actor.is_lead_for(article.shop_id):
        return True
    return (
        is_client(actor, article.shop_id)
        and article.is_public
        and clients_may_edit(article.shop_id)
    )


def may_manage_candidates(actor: Actor, shop_id: int) -> bool:
    return actor.is_lead_for(shop_id)


def may_read_improvements(actor: Actor, shop_id: int) -> bool:
    return actor.role_for(shop_id) is not None


def may_edit_improvements(actor: Actor, shop_id: int) -> bool:
    return actor.is_lead_for(shop_id)
