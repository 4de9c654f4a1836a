"""`{% help_suggestions shop language source inputs %}`: the help-article suggestion box and its
script for a customer-facing form (the web form), shown only when the shop's help center is
open and has published public articles in that language."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from madoguchi.knowledge.models import Article
from madoguchi.knowledge.selectors import knowledge_settings
from madoguchi.tenancy.models import Shop

register = template.Library()


def suggestions_available(shop: Shop, language: str) -> bool:
    if not knowledge_settings(shop_id=shop.id).is_help_center_enabled:
        return False
    return Article.objects.filter(
        shop=shop,
        status=Article.Status.PUBLISHED,
        visibility=Article.Visibility.PUBLIC,
        language=language,
    ).exists()


@register.inclusion_tag("knowledge/_suggestions.html", takes_context=True)
def help_suggestions(
    context: template.Context, shop: Shop, language: str, source: str, inputs: str
) -> dict[str, Any]:
    if not suggestions_available(shop, language):
        return {"enabled": False}
    return {
        "enabled": True,
        "suggest_url": reverse("knowledge:help_suggest", args=[shop.slug]),
        "events_url": reverse("knowledge:help_suggestion_event", args=[shop.slug]),
        "source": source,
        "language": language,
        "inputs": inputs,
        "csp_nonce": context.get("csp_nonce", ""),
    }


@register.simple_tag
def chat_help_attribute(shop: Shop) -> str:
    """` data-help-center="<slug>"` for the chat widget's script tag when the shop's help
    center is open (the widget then suggests its articles), else nothing. Escaped by the
    template like any text: the settings page shows the tag as text to copy."""
    if not knowledge_settings(shop_id=shop.id).is_help_center_enabled:
        return ""
    return f' data-help-center="{shop.slug}"'
