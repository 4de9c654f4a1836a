"""Reads of the knowledge app, each shaped for one page or one caller (the monthly report)."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from madoguchi.core.errors import NotFoundError
from madoguchi.events.models import Event
from madoguchi.knowledge import index, permissions
from madoguchi.knowledge.models import (
    Article,
    ArticleCategory,
    ArticleRevision,
    FaqCandidate,
    ImprovementItem,
    KnowledgeSettings,
)
from madoguchi.search.normalize import search_form
from madoguchi.search.query import parse_query
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop

HELP_SEARCH_LIMIT = 20


def knowledge_settings(*, shop_id: int) -> KnowledgeSettings:
    """Return the shop's settings row, or an unsaved one holding the defaults."""
    found = KnowledgeSettings.objects.filter(shop_id=shop_id).first()
    return found or KnowledgeSettings(shop_id=shop_id)


def categories(*, shop_id: int) -> QuerySet[ArticleCategory]:
    return ArticleCategory.objects.filter(shop_id=shop_id).order_by("position", "name")


def access_article(*, actor: Actor, shop: Shop, article_id: int) -> Article:
    """Return the shop's article if the actor may read it; otherwise raise NotFoundError."""
    article = (
        Article.objects.filter(shop=shop, pk=article_id)
        .select_related("shop", "category", "updated_by", "source_ticket")
        .first()
    )
    if article is None or not permissions.may_read_article(actor, article):
        raise NotFoundError("Article not found")
    return article


def article_list(
    *, actor: Actor, shop: Shop, status: str = "", language: str = "", query: str = ""
) -> list[Article]:
    """Return the shop's articles this actor reads, newest change first, filtered."""
    articles = Article.objects.filter(shop=shop).select_related("category", "updated_by")
    if not permissions.may_read_internal(actor, shop.id):
        articles = articles.filter(visibility=Article.Visibility.PUBLIC)
    if status:
        articles = articles.filter(status=status)
    if language:
        articles = articles.filter(language=language)
    found = list(articles.order_by("-updated_at", "-id")[:500])
    if query.strip():
        wanted = search_form(query)
        found = [
            article for article in found if wanted in search_form(f"{article.title} {article.body}")
        ]
    return found


def revisions(*, article: Article) -> QuerySet[ArticleRevision]:
    return ArticleRevision.objects.filter(article=article).select_related("author")


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed", "context", "hunk"
    text: str


def revision_diff(*, article: Article, number: int) -> tuple[ArticleRevision, list[DiffLine]]:
    """Return revision `number` and its line diff against the revision before it."""
    revision = ArticleRevision.objects.filter(article=article, number=number).first()
    if revision is None:
        raise NotFoundError("Revision not found")
    previous = ArticleRevision.objects.filter(article=article, number=number - 1).first()
    before = [previous.title, "", *previous.body.splitlines()] if previous else []
    after = [revision.title, "", *revision.body.splitlines()]
    lines: list[DiffLine] = []
    for line in difflib.unified_diff(before, after, lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            lines.append(DiffLine("added", line[1:]))
        elif line.startswith("-"):
            lines.append(DiffLine("removed", line[1:]))
        else:
            lines.append(DiffLine("context", line[1:]))
    return revision, lines


# --- the public help center ----------------------------------------------------------------


def help_center_shop(*, slug: str) -> Shop:
    """Return the shop whose help center is open at `slug`; otherwise raise NotFoundError."""
    shop = Shop.objects.filter(slug=slug, archived_at__isnull=True).first()
    if shop is None:
        raise NotFoundError("Help center not found")
    # Anonymous visitors hold no shop scope; the shop's own settings are read inside its scope.
    with in_shop(shop.id):
        is_open = knowledge_settings(shop_id=shop.id).is_help_center_enabled
    if not is_open:
        raise NotFoundError("Help center not found")
    return shop


def _on_help_center(shop_id: int, language: str) -> QuerySet[Article]:
    return Article.objects.filter(
        shop_id=shop_id,
        status=Article.Status.PUBLISHED,
        visibility=Article.Visibility.PUBLIC,
        language=language,
    )


def help_center_article(*, shop: Shop, article_id: int) -> Article:
    """Return a published public article of the shop; anything else is NotFoundError."""
    article = (
        Article.objects.filter(
            shop=shop,
            pk=article_id,
            status=Article.Status.PUBLISHED,
            visibility=Article.Visibility.PUBLIC,
        )
        .select_related("category")
        .first()
    )
    if article is None:
        raise NotFoundError("Article not found")
    return article


@dataclass(frozen=True)
class CategorySection:
    name: str
    articles: list[Article]


def help_center_sections(*, shop: Shop, language: str) -> list[CategorySection]:
    """Return the help center's front page: each category with its articles, then the rest."""
    articles = list(
        _on_help_center(shop.id, language)
        .select_related("category")
        .order_by("category__position", "category__name", "title")
        .only("id", "title", "category__name", "category__position")
    )
    sections: dict[str, list[Article]] = {}
    for article in articles:
        sections.setdefault(article.category.name if article.category else "", []).append(article)
    return [CategorySection(name, found) for name, found in sections.items()]


def help_center_sitemap(*, shop: Shop) -> list[Article]:
    return list(
        Article.objects.filter(
            shop=shop, status=Article.Status.PUBLISHED, visibility=Article.Visibility.PUBLIC
        )
        .only("id", "updated_at")
        .order_by("id")
    )


@dataclass(frozen=True)
class ArticleHit:
    """An article a search found: what result lists and suggestions show."""

    pk: int
    title: str
    body: str
    visibility: str


def _ranked_articles(ids: list[int], *, verify: list[str], limit: int) -> list[ArticleHit]:
    """Return the articles of `ids` in that order, those holding every `verify` text, at most
    `limit` (plain rows: a results page needs no model instances)."""
    rows = {
        row[0]: ArticleHit(*row)
        for row in Article.objects.filter(pk__in=ids).values_list(
            "id", "title", "body", "visibility"
        )
    }
    found = []
    for article_id in ids:
        hit = rows.get(article_id)
        if hit is None:
            continue
        if verify:
            text = search_form(f"{hit.title} {hit.body}")
            if not all(term in text for term in verify):
                continue
        found.append(hit)
        if len(found) == limit:
            break
    return found


def article_search(
    *, scope: index.IndexScope, query: str, limit: int = HELP_SEARCH_LIMIT
) -> list[ArticleHit]:
    """Return up to `limit` published articles in scope matching `query`: title matches
    first, then the others, newest first (`index.matching_ids`).

    Several words must all occur; a longer Japanese term must occur as written (its bigrams
    are checked side by side on the candidates), "-word" excludes.
    """
    parsed = parse_query(query)
    if parsed.is_empty:
        return []
    verify = [term.text for term in parsed.required if term.needs_verification]
    wanted = limit * 3 if verify else limit
    ids = index.matching_ids(parsed, scope, limit=wanted)
    return _ranked_articles(ids, verify=verify, limit=limit)


def help_search(
    *, shop: Shop, query: str, language: str, limit: int = HELP_SEARCH_LIMIT
) -> list[ArticleHit]:
    """Search the help center: the shop's published public articles in `language`."""
    scope = index.IndexScope(shop_id=shop.id, languages=(language,), audiences=("public",))
    return article_search(scope=scope, query=query, limit=limit)


def suggest_articles(*, shop: Shop, text: str, language: str, limit: int = 5) -> list[ArticleHit]:
    """Suggest help articles for what a customer is writing (a message, not a query): the
    articles sharing most of its content words and bigrams (`candidates.features`: nothing
    touching hiragana, so grammar such as してほしい does not count), best first."""
    from madoguchi.knowledge.candidates import features
    from madoguchi.search.normalize import fold

    # Index tokens are folded (katakana as hiragana); the content features are not.
    tokens = [fold(token) for token in features(text)]
    scope = index.IndexScope(shop_id=shop.id, languages=(language,), audiences=("public",))
    return _ranked_articles(index.ids_with_any(tokens, scope, limit=limit), verify=[], limit=limit)


def staff_article_search(
    *, actor: Actor, shop: Shop, query: str, limit: int = 10
) -> list[ArticleHit]:
    """Search the shop's published articles for the composer: internal ones too for staff."""
    audiences = (
        ("public", "internal") if permissions.may_read_internal(actor, shop.id) else ("public",)
    )
    scope = index.IndexScope(shop_id=shop.id, languages=("ja", "en"), audiences=audiences)
    return article_search(scope=scope, query=query, limit=limit)


def related_articles(*, article: Article, limit: int = 5) -> list[ArticleHit]:
    """Return published public articles of the same shop and language like this one."""
    scope = index.IndexScope(
        shop_id=article.shop_id, languages=(article.language,), audiences=("public",)
    )
    ids = index.similar_ids(article.title, scope, limit=limit, exclude_id=article.pk)
    return _ranked_articles(ids, verify=[], limit=limit)


# --- deflection ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeflectionSummary:
    """Suggestion figures of a period: visitors shown suggestions, visitors who opened one, and
    of those the visitors who did not contact the shop within the window after opening."""

    shown_visitors: int
    opened_visitors: int
    deflected_visitors: int
    window_hours: int

    @property
    def deflection_rate(self) -> float | None:
        if not self.opened_visitors:
            return None
        return self.deflected_visitors / self.opened_visitors


def deflection_summary(
    *, shop_id: int, start: dt.datetime, end: dt.datetime, window_hours: int = 24
) -> DeflectionSummary:
    """Count the period's suggestion visitors and the deflected ones (opened, then no contact
    from the same browser within `window_hours`). Analytics and the knowledge page read it."""
    window = dt.timedelta(hours=window_hours)
    events = Event.objects.filter(
        shop_id=shop_id,
        type__in=[
            "knowledge.suggestion_shown",
            "knowledge.suggestion_opened",
            "knowledge.suggestion_contacted",
        ],
        occurred_at__gte=start,
        occurred_at__lt=end + window,
    ).values_list("type", "occurred_at", "payload")
    shown: set[str] = set()
    first_open: dict[str, dt.datetime] = {}
    contacts: dict[str, list[dt.datetime]] = {}
    for event_type, occurred_at, payload in events:
        visitor = str((payload or {}).get("visitor", ""))
        if not visitor:
            continue
        if event_type == "knowledge.suggestion_contacted":
            contacts.setdefault(visitor, []).append(occurred_at)
        elif occurred_at < end:
            if event_type == "knowledge.suggestion_shown":
                shown.add(visitor)
            elif visitor not in first_open or occurred_at < first_open[visitor]:
                first_open[visitor] = occurred_at
    deflected = sum(
        1
        for visitor, opened_at in first_open.items()
        if not any(opened_at <= moment < opened_at + window for moment in contacts.get(visitor, []))
    )
    return DeflectionSummary(
        shown_visitors=len(shown | set(first_open)),
        opened_visitors=len(first_open),
        deflected_visitors=deflected,
        window_hours=window_hours,
    )


# --- FAQ candidates and the improvement list -------------------------------------------------


def faq_candidates(*, shop_id: int, status: str = FaqCandidate.Status.OPEN) -> list[FaqCandidate]:
    from madoguchi.conversations.models import Ticket

    return list(
        FaqCandidate.objects.filter(shop_id=shop_id, status=status)
        .prefetch_related(Prefetch("tickets", queryset=Ticket.objects.order_by("-number")))
        .select_related("article", "decided_by")
        .order_by("-ticket_count", "-id")
    )


def access_candidate(*, actor: Actor, shop: Shop, candidate_id: int) -> FaqCandidate:
    candidate = (
        FaqCandidate.objects.filter(shop=shop, pk=candidate_id).select_related("shop").first()
    )
    if candidate is None or not permissions.may_manage_candidates(actor, shop.id):
        raise NotFoundError("Candidate not found")
    return candidate


def improvement_items(*, shop_id: int, status: str = "") -> list[ImprovementItem]:
    items = ImprovementItem.objects.filter(shop_id=shop_id)
    if status:
        items = items.filter(status=status)
    return list(
        items.select_related("owner").prefetch_related("tickets").order_by("status", "-updated_at")
    )


def access_improvement(*, actor: Actor, shop: Shop, item_id: int) -> ImprovementItem:
    item = ImprovementItem.objects.filter(shop=shop, pk=item_id).first()
    if item is None or not permissions.may_read_improvements(actor, shop.id):
        raise NotFoundError("Improvement item not found")
    return item


@dataclass(frozen=True)
class ReportImprovement:
    """One improvement item as the monthly client report shows it."""

    title: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    owner: str
    ticket_numbers: tuple[int, ...]
    done_at: dt.datetime | None


def improvement_items_for_report(
    *, shop_id: int, start: dt.datetime, end: dt.datetime
) -> list[ReportImprovement]:
    """Return the items a monthly report lists: open or in progress at the end of the period,
    and those done or dropped during it (changed between `start` and `end`)."""
    items = (
        ImprovementItem.objects.filter(shop_id=shop_id, created_at__lt=end)
        .filter(
            Q(status__in=[ImprovementItem.Status.OPEN, ImprovementItem.Status.IN_PROGRESS])
            | Q(updated_at__gte=start, updated_at__lt=end)
        )
        .select_related("owner")
        .prefetch_related("tickets")
        .order_by("status", "title")
    )
    return [
        ReportImprovement(
            title=item.title,
            kind=item.kind,
            kind_label=str(item.get_kind_display()),
            status=item.status,
            status_label=str(item.get_status_display()),
            owner=(item.owner.display_name or item.owner.email) if item.owner else "",
            ticket_numbers=tuple(sorted(ticket.number for ticket in item.tickets.all())),
            done_at=item.done_at,
        )
        for item in items
    ]
