"""The CSAT section of the ticket page's side panel: the survey's state, score and comment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from madoguchi.conversations.ticket_panels import TicketPanel
from madoguchi.csat.selectors import customer_opted_out, ticket_csat

if TYPE_CHECKING:
    from madoguchi.conversations.models import Ticket
    from madoguchi.tenancy.access import Actor


def panel_context(actor: Actor, ticket: Ticket) -> Mapping[str, Any] | None:
    """Everyone who sees the ticket sees its CSAT; staff also get the opt-out switch."""
    is_staff = actor.is_staff_for(ticket.shop_id)
    return {
        "survey": ticket_csat(ticket_id=ticket.id),
        "is_staff": is_staff,
        "opted_out": (
            customer_opted_out(shop_id=ticket.shop_id, customer_id=ticket.customer_id)
            if is_staff
            else False
        ),
        "scores": range(1, 6),
    }


PANEL = TicketPanel(key="csat", template="csat/_ticket_panel.html", context=panel_context, order=60)
