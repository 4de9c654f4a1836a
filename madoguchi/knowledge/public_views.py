"""The public help center of a shop (`/help/<shop>/`): server-rendered, no sign-in.

Only published public articles are ever read here (`selectors.help_center_*`), inside the
shop's scope. Writes are two: a reader's "was this helpful" (a form with its CSRF token,
counted once per address and article a day) and the suggestion script's events (shown,
opened, contacted), a CSRF-exempt POST because the chat widget sends it from the shop's own
site; it only appends events and is rate-limited per address.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.text import Truncator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from madoguchi.core.client_address import client_address
from madoguchi.core.errors import ValidationError
from madoguchi.core.rate_limits import hit
from madoguchi.knowledge import selectors
from madoguchi.knowledge.models import Language
from madoguchi.knowledge.services import article_vote, suggestion_event_record
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop

SUGGEST_PER_MINUTE = 120
EVENTS_PER_MINUTE = 60
SUGGESTIONS = 5


def _language(request: HttpRequest) -> str:
    language = request.GET.get("lang", "ja")
    return language if language in Language.values else "ja"


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], language: str
) -> HttpResponse:
    with translation.override(language):
        return render(request, template, {"language": language, **context})


@require_GET
def home(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The help center's front page: the search box and the articles by category."""
    shop = selectors.help_center_shop(slug=shop_slug)
    language = _language(request)
    with in_shop(shop.id):
        sections = selectors.help_center_sections(shop=shop, language=language)
    canonical = request.build_absolute_uri(reverse("knowledge:help", args=[shop.slug]))
    if language != "ja":
        canonical += f"?lang={language}"
    return _render(
        request,
        "knowledge/help/home.html",
        {"shop": shop, "sections": sections, "canonical": canonical},
        language,
    )


@require_GET
def search(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Search the help center (the same normalisation as the inbox search)."""
    shop = selectors.help_center_shop(slug=shop_slug)
    language = _language(request)
    query = request.GET.get("q", "")[:200]
    with in_shop(shop.id):
        found = selectors.help_search(shop=shop, query=query, language=language) if query else []
    return _render(
        request,
        "knowledge/help/search.html",
        {"shop": shop, "query": query, "articles": found},
        language,
    )


@require_GET
def article(request: HttpRequest, shop_slug: str, article_id: int) -> HttpResponse:
    """One article with its canonical link, the helpful question and related articles."""
    shop = selectors.help_center_shop(slug=shop_slug)
    with in_shop(shop.id):
        found = selectors.help_center_article(shop=shop, article_id=article_id)
        related = selectors.related_articles(article=found)
    canonical = request.build_absolute_uri(
        reverse("knowledge:help_article", args=[shop.slug, found.pk])
    )
    return _render(
        request,
        "knowledge/help/article.html",
        {
            "shop": shop,
            "article": found,
            "related": related,
            "canonical": canonical,
            "voted": request.GET.get("voted") == "1",
        },
        found.language,
    )


@require_POST
def vote(request: HttpRequest, shop_slug: str, article_id: int) -> HttpResponse:
    """Count "was this helpful": once per address and article a day."""
    shop = selectors.help_center_shop(slug=shop_slug)
    with in_shop(shop.id):
        found = selectors.help_center_article(shop=shop, article_id=article_id)
        address = client_address(request) or "unknown"
        if hit(f"help-vote:{address}:{found.pk}", window=86400) == 1:
            article_vote(article=found, is_helpful=request.POST.get("helpful") == "yes")
    url = reverse("knowledge:help_article", args=[shop.slug, found.pk])
    return redirect(f"{url}?voted=1")


@require_GET
def sitemap(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The sitemap of the shop's help center (sitemaps.org 0.9)."""
    shop = selectors.help_center_shop(slug=shop_slug)
    with in_shop(shop.id):
        articles = selectors.help_center_sitemap(shop=shop)
    entries = [
        (
            request.build_absolute_uri(
                reverse("knowledge:help_article", args=[shop.slug, found.pk])
            ),
            found.updated_at.date().isoformat(),
        )
        for found in articles
    ]
    home_url = request.build_absolute_uri(reverse("knowledge:help", args=[shop.slug]))
    return render(
        request,
        "knowledge/help/sitemap.xml",
        {"home": home_url, "entries": entries},
        content_type="application/xml; charset=utf-8",
    )


def _cors(response: HttpResponse) -> HttpResponse:
    # Public articles only, no cookies read: any site (the shop's own, with the chat widget)
    # may ask.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _limited(request: HttpRequest, name: str, per_minute: int) -> bool:
    address = client_address(request) or "unknown"
    # `make bench` raises every limit (settings.bench: RATE_LIMIT_MULTIPLIER).
    multiplier = int(settings.MADOGUCHI.get("RATE_LIMIT_MULTIPLIER", 1))
    return hit(f"{name}:{address}", window=60) > per_minute * multiplier


def _suggestions(shop: Shop, query: str, language: str, source: str) -> list[dict[str, Any]]:
    found = selectors.suggest_articles(shop=shop, text=query, language=language, limit=SUGGESTIONS)
    return [
        {
            "id": item.pk,
            "title": item.title,
            "excerpt": Truncator(" ".join(item.body.split())).chars(80),
            "url": reverse("knowledge:help_article", args=[shop.slug, item.pk]) + f"?from={source}",
        }
        for item in found
    ]


@require_GET
def suggest(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Suggest articles for what a customer is typing (JSON: articles with title, excerpt, url)."""
    shop = selectors.help_center_shop(slug=shop_slug)
    if _limited(request, "help-suggest", SUGGEST_PER_MINUTE):
        return _cors(JsonResponse({"articles": []}, status=429))
    source = request.GET.get("source", "help")
    source = source if source in ("webform", "chat", "help") else "help"
    query = request.GET.get("q", "")[:300]
    with in_shop(shop.id):
        found = _suggestions(shop, query, _language(request), source) if query else []
    return _cors(JsonResponse({"articles": found}))


@csrf_exempt
@require_POST
def suggestion_event(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Record a suggestion event sent by the suggestion script (a JSON body, often a beacon)."""
    shop = selectors.help_center_shop(slug=shop_slug)
    if _limited(request, "help-events", EVENTS_PER_MINUTE):
        return _cors(HttpResponse(status=429))
    try:
        data = json.loads(request.body[:4096] or b"{}")
        if not isinstance(data, dict):
            raise TypeError
        raw_ids = data.get("article_ids") or []
        article_ids = [int(value) for value in raw_ids[:10]] if isinstance(raw_ids, list) else []
        with in_shop(shop.id):
            suggestion_event_record(
                shop=shop,
                kind=str(data.get("kind", "")),
                visitor=str(data.get("visitor", "")),
                source=str(data.get("source", "")),
                article_ids=article_ids,
            )
    except (ValueError, TypeError, ValidationError):
        return _cors(HttpResponse(status=400))
    return _cors(HttpResponse(status=204))
