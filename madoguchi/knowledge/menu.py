"""The knowledge pages in the one menu, each shown to exactly the people its view lets in, and
the composer's panel on the ticket page (staff only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from madoguchi.core import navigation
from madoguchi.knowledge import permissions

if TYPE_CHECKING:
    from madoguchi.conversations.models import Ticket
    from madoguchi.tenancy.access import Actor


def is_lead(actor: Actor, shop_id: int) -> bool:
    return actor.is_lead_for(shop_id)


def open_candidates(actor: Actor, shop_id: int) -> int:
    """Count the shop's open FAQ candidates (0 for anyone but its leads)."""
    if not actor.is_lead_for(shop_id):
        return 0
    from madoguchi.knowledge.models import FaqCandidate

    return FaqCandidate.objects.filter(shop_id=shop_id, status=FaqCandidate.Status.OPEN).count()


def composer_context(actor: Actor, ticket: Ticket) -> Mapping[str, Any] | None:
    """The knowledge panel of the ticket page: article search for the reply, and the ticket's
    replies that can become draft articles (staff only)."""
    if not actor.is_staff_for(ticket.shop_id):
        return None
    from madoguchi.conversations.models import Message

    replies = list(
        Message.objects.filter(ticket=ticket, direction=Message.Direction.OUTBOUND)
        .order_by("-created_at", "-id")
        .only("id", "body_text", "created_at")[:3]
    )
    return {"shop": ticket.shop, "replies": replies}


ENTRIES = (
    navigation.MenuEntry(
        section=navigation.WORK,
        label=_("Articles"),
        url_name="knowledge:articles",
        visible=permissions.may_read_articles,
        order=60,
    ),
    navigation.MenuEntry(
        section=navigation.WORK,
        label=_("FAQ candidates"),
        url_name="knowledge:candidates",
        visible=permissions.may_manage_candidates,
        order=61,
    ),
    navigation.MenuEntry(
        section=navigation.REPORTS,
        label=_("Improvement list"),
        url_name="knowledge:improvements",
        visible=permissions.may_read_improvements,
        order=60,
    ),
    navigation.MenuEntry(
        section=navigation.SHOP_SETTINGS,
        label=_("Help center"),
        url_name="knowledge:settings",
        visible=is_lead,
        order=70,
    ),
)


def register() -> None:
    from madoguchi.conversations.ticket_panels import TicketPanel, register_ticket_panel

    for entry in ENTRIES:
        navigation.register_menu_entry(entry)
    navigation.register_menu_count(
        navigation.MenuCount(
            name="knowledge_candidates",
            label=_("FAQ candidates"),
            url_name="knowledge:candidates",
            count=open_candidates,
        )
    )
    register_ticket_panel(
        TicketPanel(
            key="knowledge",
            template="knowledge/_ticket_panel.html",
            context=composer_context,
            order=300,
        )
    )
