"""Every write of the knowledge app: articles and their revisions, settings, categories, votes,
the help-center suggestion events, FAQ candidates' decisions and the improvement list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.errors import ConflictError, PermissionDeniedError, ValidationError
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append
from madoguchi.knowledge import index, permissions
from madoguchi.knowledge.models import (
    Article,
    ArticleCategory,
    ArticleRevision,
    FaqCandidate,
    ImprovementItem,
    KnowledgeSettings,
    Language,
)
from madoguchi.tenancy.access import Actor, shop_staff

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.conversations.models import Message, Ticket
    from madoguchi.tenancy.models import Shop

SUGGESTION_SOURCES = ("webform", "chat", "help")
SUGGESTION_EVENTS = {
    "shown": "knowledge.suggestion_shown",
    "opened": "knowledge.suggestion_opened",
    "contacted": "knowledge.suggestion_contacted",
}


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDeniedError(message)


def _clean_text(title: str, body: str) -> tuple[str, str]:
    title, body = title.strip(), body.strip().replace("\r\n", "\n")
    if not title:
        raise ValidationError(gettext_noop("An article needs a title."), field="title")
    if not body:
        raise ValidationError(gettext_noop("An article needs a body."), field="body")
    return title, body


def _check_category(shop: Shop, category: ArticleCategory | None) -> None:
    if category is not None and category.shop_id != shop.id:
        raise ValidationError(gettext_noop("Choose a category of this shop."), field="category")


def _reindex(article: Article) -> None:
    if article.status == Article.Status.PUBLISHED:
        index.index_put(
            article_id=article.pk,
            shop_id=article.shop_id,
            language=article.language,
            visibility=article.visibility,
            title=article.title,
            body=article.body,
        )
    else:
        index.index_remove(article_id=article.pk)


@transaction.atomic
def knowledge_settings_save(
    *, actor: Actor, shop: Shop, is_help_center_enabled: bool, clients_may_edit: bool
) -> KnowledgeSettings:
    """Save the shop's knowledge settings (its leads only; audited)."""
    _require(
        actor.is_lead_for(shop.id),
        gettext_noop("Only a supervisor or admin may change the knowledge settings."),
    )
    current, _created = KnowledgeSettings.objects.get_or_create(shop=shop)
    changes = {
        name: [getattr(current, name), value]
        for name, value in (
            ("is_help_center_enabled", is_help_center_enabled),
            ("clients_may_edit", clients_may_edit),
        )
        if getattr(current, name) != value
    }
    current.is_help_center_enabled = is_help_center_enabled
    current.clients_may_edit = clients_may_edit
    current.updated_by = actor.user
    current.save()
    record(
        actor=actor.user, action=actions.KNOWLEDGE_SETTINGS_CHANGED, target=current, changes=changes
    )
    return current


@transaction.atomic
def category_save(
    *,
    actor: Actor,
    shop: Shop,
    name: str,
    position: int = 0,
    category: ArticleCategory | None = None,
) -> ArticleCategory:
    """Create or rename a category of the shop's articles (editors only; audited)."""
    _require(
        permissions.may_edit_articles(actor, shop.id),
        gettext_noop("You may not change this shop's articles."),
    )
    name = name.strip()
    if not name:
        raise ValidationError(gettext_noop("A category needs a name."), field="name")
    duplicate = ArticleCategory.objects.filter(shop=shop, name=name)
    if category is not None:
        duplicate = duplicate.exclude(pk=category.pk)
    if duplicate.exists():
        raise ValidationError(gettext_noop("This shop has a category of that name."), field="name")
    if category is None:
        category = ArticleCategory(shop=shop)
    category.name, category.position = name, position
    category.save()
    record(
        actor=actor.user,
        action=actions.KNOWLEDGE_CATEGORY_SAVED,
        target=category,
        changes={"name": name, "position": position},
    )
    return category


@transaction.atomic
def article_create(
    *,
    actor: Actor,
    shop: Shop,
    title: str,
    body: str,
    language: str = Language.JAPANESE,
    visibility: str = Article.Visibility.PUBLIC,
    category: ArticleCategory | None = None,
    source_ticket: Ticket | None = None,
    note: str = "",
) -> Article:
    """Start a draft article with its first revision (staff, or editors; audited)."""
    _require(
        permissions.may_create_drafts(actor, shop.id),
        gettext_noop("You may not change this shop's articles."),
    )
    if visibility == Article.Visibility.INTERNAL and not actor.is_staff_for(shop.id):
        raise PermissionDeniedError(gettext_noop("Only staff write internal articles."))
    title, body = _clean_text(title, body)
    _check_category(shop, category)
    article = Article.objects.create(
        shop=shop,
        title=title,
        body=body,
        language=language,
        visibility=visibility,
        category=category,
        source_ticket=source_ticket,
        created_by=actor.user,
        updated_by=actor.user,
    )
    ArticleRevision.objects.create(
        shop=shop, article=article, number=1, title=title, body=body, note=note, author=actor.user
    )
    record(
        actor=actor.user,
        action=actions.KNOWLEDGE_ARTICLE_CREATED,
        target=article,
        changes={"title": title, "language": language, "visibility": visibility},
    )
    return article


@transaction.atomic
def article_update(
    *,
    actor: Actor,
    article: Article,
    title: str,
    body: str,
    language: str,
    visibility: str,
    category: ArticleCategory | None,
    expected_revision: int,
    note: str = "",
) -> Article:
    """Save an edit as a new revision; a published article is re-indexed at once.

    `expected_revision` is the revision the editor started from: a newer one means someone
    else saved meanwhile, and the edit is refused rather than silently overwriting theirs.
    """
    article = Article.objects.select_for_update().get(pk=article.pk)
    _require(
        permissions.may_edit_article(actor, article),
        gettext_noop("You may not edit this article."),
    )
    if visibility == Article.Visibility.INTERNAL and not actor.is_staff_for(article.shop_id):
        raise PermissionDeniedError(gettext_noop("Only staff write internal articles."))
    if article.revision_number != expected_revision:
        raise ConflictError(
            gettext_noop(
                "Someone saved this article while you were editing it. Reload it and edit again."
            )
        )
    title, body = _clean_text(title, body)
    _check_category(article.shop, category)
    changes: dict[str, object] = {}
    for name, value in (
        ("language", language),
        ("visibility", visibility),
        ("category_id", category.pk if category else None),
    ):
        if getattr(article, name) != value:
            changes[name] = [getattr(article, name), value]
    text_changed = (title, body) != (article.title, article.body)
    if text_changed:
        article.revision_number += 1
        ArticleRevision.objects.create(
            shop_id=article.shop_id,
            article=article,
            number=article.revision_number,
            title=title,
            body=body,
            note=note.strip(),
            author=actor.user,
        )
        changes["revision"] = article.revision_number
    if not changes:
        return article
    article.title, article.body = title, body
    article.language, article.visibility, article.category = language, visibility, category
    article.updated_by = actor.user
    article.save()
    _reindex(article)
    record(
        actor=actor.user, action=actions.KNOWLEDGE_ARTICLE_UPDATED, target=article, changes=changes
    )
    return article


@transaction.atomic
def article_publish(*, actor: Actor, article: Article) -> Article:
    """Publish the article (a draft or an archived one): it enters the index and, when public,
    the help center."""
    article = Article.objects.select_for_update().get(pk=article.pk)
    _require(
        permissions.may_publish_article(actor, article),
        gettext_noop("You may not publish this article."),
    )
    if article.status == Article.Status.PUBLISHED:
        return article
    old = article.status
    article.status = Article.Status.PUBLISHED
    article.published_at = timezone.now()
    article.updated_by = actor.user
    article.save()
    _reindex(article)
    record(
        actor=actor.user,
        action=actions.KNOWLEDGE_ARTICLE_PUBLISHED,
        target=article,
        changes={"status": [old, article.status], "revision": article.revision_number},
    )
    return article


@transaction.atomic
def article_archive(*, actor: Actor, article: Article) -> Article:
    """Withdraw the article: it leaves the help center and the index, its history stays."""
    article = Article.objects.select_for_update().get(pk=article.pk)
    _require(
        permissions.may_publish_article(actor, article),
        gettext_noop("You may not archive this article."),
    )
    if article.status == Article.Status.ARCHIVED:
        return article
    old = article.status
    article.status = Article.Status.ARCHIVED
    article.updated_by = actor.user
    article.save()
    _reindex(article)
    record(
        actor=actor.user,
        action=actions.KNOWLEDGE_ARTICLE_ARCHIVED,
        target=article,
        changes={"status": [old, article.status]},
    )
    return article


@transaction.atomic
def article_from_message(*, actor: Actor, message: Message) -> Article:
    """Start a draft article from a staff reply: the ticket's subject as title, the reply as
    body, the ticket remembered as its source."""
    if message.direction != message.Direction.OUTBOUND:
        raise ValidationError(gettext_noop("Only a reply to the customer becomes an article."))
    ticket = message.ticket
    return article_create(
        actor=actor,
        shop=ticket.shop,
        title=ticket.subject[:200] or gettext_noop("Untitled"),
        body=message.body_text,
        language=ticket.language if ticket.language in Language.values else Language.JAPANESE,
        source_ticket=ticket,
        note=f"#{ticket.number}",
    )


@transaction.atomic
def article_vote(*, article: Article, is_helpful: bool) -> None:
    """Count a reader's "was this helpful" answer (public, rate-limited by the view)."""
    field = "helpful_count" if is_helpful else "not_helpful_count"
    Article.objects.filter(pk=article.pk).update(**{field: F(field) + 1})


@transaction.atomic
def suggestion_event_record(
    *,
    shop: Shop,
    kind: str,
    visitor: str,
    source: str,
    article_ids: Sequence[int] = (),
    occurred_at: dt.datetime | None = None,
) -> None:
    """Append a suggestion fact to the shop's event log (shown, opened, contacted).

    `visitor` is the random id the suggestion script keeps in the visitor's browser; the
    deflection figure (`selectors.deflection_summary`) pairs a visitor's opens and contacts.
    """
    if kind not in SUGGESTION_EVENTS or source not in SUGGESTION_SOURCES:
        raise ValidationError(gettext_noop("Unknown suggestion event."))
    visitor = visitor.strip()[:64]
    if not visitor:
        raise ValidationError(gettext_noop("Unknown suggestion event."))
    payload: dict[str, object] = {"visitor": visitor, "source": source}
    if kind == "shown":
        payload["article_ids"] = list(article_ids)[:10]
    elif kind == "opened":
        if len(article_ids) != 1:
            raise ValidationError(gettext_noop("Unknown suggestion event."))
        payload["article_id"] = article_ids[0]
    event_append(
        shop=shop,
        type=SUGGESTION_EVENTS[kind],
        actor_kind=ActorKind.CUSTOMER,
        payload=payload,
        occurred_at=occurred_at,
    )


@transaction.atomic
def candidate_convert(*, actor: Actor, candidate: FaqCandidate) -> Article:
    """Turn a FAQ candidate into a draft article: the question as title, the first staff reply
    in its tickets as the body to start from (leads only; audited)."""
    from madoguchi.conversations.models import Message

    candidate = FaqCandidate.objects.select_for_update().get(pk=candidate.pk)
    _require(
        permissions.may_manage_candidates(actor, candidate.shop_id),
        gettext_noop("Only a supervisor or admin may decide on FAQ candidates."),
    )
    if candidate.status != FaqCandidate.Status.OPEN:
        raise ConflictError(gettext_noop("This candidate was already decided."))
    reply = (
        Message.objects.filter(
            ticket__in=candidate.tickets.all(), direction=Message.Direction.OUTBOUND
        )
        .order_by("created_at", "id")
        .first()
    )
    article = article_create(
        actor=actor,
        shop=candidate.shop,
        title=candidate.question[:200],
        body=reply.body_text if reply is not None else candidate.question,
        note=gettext_noop("From a FAQ candidate"),
    )
    candidate.status = FaqCandidate.Status.CONVERTED
    candidate.article = article
    candidate.decided_at = timezone.now()
    candidate.decided_by = actor.user
    candidate.save()
    record(
        actor=actor.user,
        action=actions.KNOWLEDGE_CANDIDATE_CONVERTED,
        target=candidate,
        changes={"article": article.pk, "tickets": candidate.ticket_count},
    )
    return article


@transaction.atomic
def candidate_dismiss(*, actor: Actor, candidate: FaqCandidate) -> FaqCandidate:
    """Dismiss a FAQ candidate; the same group of tickets is not proposed again."""
    candidate = FaqCandidate.objects.select_for_update().get(pk=candidate.pk)
    _require(
        permissions.may_manage_candidates(actor, candidate.shop_id),
        gettext_noop("Only a supervisor or admin may decide on FAQ candidates."),
    )
    if candidate.status != FaqCandidate.Status.OPEN:
        raise ConflictError(gettext_noop("This candidate was already decided."))
    candidate.status = FaqCandidate.Status.DISMISSED
    candidate.decided_at = timezone.now()
    candidate.decided_by = actor.user
    candidate.save()
    record(actor=actor.user, action=actions.KNOWLEDGE_CANDIDATE_DISMISSED, target=candidate)
    return candidate


@transaction.atomic
def improvement_save(
    *,
    actor: Actor,
    shop: Shop,
    title: str,
    kind: str,
    status: str,
    description: str = "",
    owner: User | None = None,
    ticket_numbers: Sequence[int] = (),
    item: ImprovementItem | None = None,
) -> ImprovementItem:
    """Create or change an improvement item with the tickets that motivated it (leads only)."""
    from madoguchi.conversations.models import Ticket

    _require(
        permissions.may_edit_improvements(actor, shop.id),
        gettext_noop("Only a supervisor or admin may change the improvement list."),
    )
    title = title.strip()
    if not title:
        raise ValidationError(gettext_noop("An item needs a title."), field="title")
    numbers = sorted(set(ticket_numbers))
    tickets = list(Ticket.objects.filter(shop=shop, number__in=numbers))
    missing = sorted(set(numbers) - {ticket.number for ticket in tickets})
    if missing:
        raise ValidationError(
            gettext_noop("This shop has no ticket number %(numbers)s."),
            extra={"numbers": ", ".join(str(number) for number in missing)},
            field="ticket_numbers",
        )
    if owner is not None and owner.pk not in {person.pk for person in shop_staff(shop_id=shop.id)}:
        raise ValidationError(gettext_noop("The owner must work on this shop."), field="owner")
    if item is None:
        item = ImprovementItem(shop=shop)
    old_status = item.status if item.pk else ""
    item.title, item.kind, item.status = title, kind, status
    item.description = description.strip()
    item.owner = owner
    if status == ImprovementItem.Status.DONE and old_status != status:
        item.done_at = timezone.now()
    elif status != ImprovementItem.Status.DONE:
        item.done_at = None
    item.save()
    item.tickets.set(tickets)
    record(
        actor=actor.user,
        action=actions.KNOWLEDGE_IMPROVEMENT_SAVED,
        target=item,
        changes={
            "title": title,
            "kind": kind,
            "status": status,
            "owner": owner.pk if owner else None,
            "tickets": numbers,
        },
    )
    return item
