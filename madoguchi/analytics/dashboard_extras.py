"""The dashboard's handle-time and deflection cards, and its "recomputing" notice.

Kept apart from `views` so the cards add to the dashboard's context in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.urls import reverse

from madoguchi.analytics import handle_time, selectors
from madoguchi.analytics.recompute import shops_recomputing
from madoguchi.knowledge import permissions as knowledge_permissions
from madoguchi.knowledge.selectors import deflection_summary
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop


@dataclass(frozen=True)
class DeflectionCard:
    """Suggestion visitors of the shops over the period, summed."""

    shown: int
    opened: int
    deflected: int
    window_hours: int

    @property
    def rate(self) -> Decimal | None:
        """Deflected among the visitors who opened a suggestion, in percent."""
        if not self.opened:
            return None
        return (Decimal(self.deflected) * 100 / self.opened).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )


def deflection_card(filters: selectors.Filters) -> DeflectionCard:
    """Sum `knowledge.selectors.deflection_summary` over the filtered shops and period."""
    shown = opened = deflected = 0
    window_hours = 24
    for shop_id in filters.shop_ids:
        summary = deflection_summary(shop_id=shop_id, start=filters.start, end=filters.end)
        shown += summary.shown_visitors
        opened += summary.opened_visitors
        deflected += summary.deflected_visitors
        window_hours = summary.window_hours
    return DeflectionCard(shown, opened, deflected, window_hours)


def dashboard_extras(
    *,
    actor: Actor,
    shops: list[Shop],
    filters: selectors.Filters,
    with_operators: bool,
    tickets_url: Callable[..., str],
) -> dict[str, Any]:
    """Return the cards' context: handle time (this and the previous period, per operator when
    names are shown), deflection with links to each shop's knowledge pages, recomputing shops."""
    handle = handle_time.handle_time(filters)
    previous = handle_time.handle_time(filters.previous())
    by_operator = (
        [
            (row, tickets_url(figure=f"handle:{row.key}") if row.key else "")
            for row in handle_time.handle_by_operator(filters)
        ]
        if with_operators
        else []
    )
    by_id = {shop.id: shop for shop in shops}
    knowledge_links = [
        {
            "shop": by_id[shop_id],
            "help_url": reverse("knowledge:help", args=[by_id[shop_id].slug]),
            "articles_url": reverse("knowledge:articles", args=[by_id[shop_id].slug])
            if knowledge_permissions.may_read_articles(actor, shop_id)
            else "",
        }
        for shop_id in filters.shop_ids
        if shop_id in by_id
    ]
    recomputing = shops_recomputing(shop_ids=filters.shop_ids)
    return {
        "handle": handle,
        "handle_text": {
            "median": handle_time.clock(handle.median),
            "p90": handle_time.clock(handle.p90),
            "total": handle_time.clock(handle.total if handle.tickets else None),
            "composing": handle_time.clock(handle.composing_total if handle.tickets else None),
            "previous_median": handle_time.clock(previous.median),
            "previous_p90": handle_time.clock(previous.p90),
        },
        "handle_url": tickets_url(figure="handle"),
        "handle_operators": [
            (row, handle_time.clock(row.seconds), handle_time.clock(row.composing_seconds), url)
            for row, url in by_operator
        ],
        "deflection": deflection_card(filters),
        "knowledge_links": knowledge_links,
        "recomputing_shops": [by_id[shop_id] for shop_id in recomputing if shop_id in by_id],
    }
