"""The ticket page's warning about mails whose sender claims the shop's own domain unverified."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from madoguchi.connectors.mail.models import RawMail
from madoguchi.conversations.models import Channel
from madoguchi.conversations.ticket_panels import TicketPanel

if TYPE_CHECKING:
    from madoguchi.conversations.models import Ticket
    from madoguchi.tenancy.access import Actor


def panel_context(actor: Actor, ticket: Ticket) -> Mapping[str, Any] | None:
    """The ticket's flagged mails (one query), or None when there are none."""
    if ticket.channel != Channel.EMAIL:
        return None
    flagged = list(
        RawMail.objects.filter(shop_id=ticket.shop_id, ticket_id=ticket.id)
        .exclude(authentication_warning="")
        .order_by("received_at", "id")
        .only("id", "from_address", "authentication_warning", "received_at", "message_id")
    )
    if not flagged:
        return None
    return {"flagged_mails": flagged}


PANEL = TicketPanel(
    key="mail_sender_authentication",
    template="mail/_sender_warning_panel.html",
    context=panel_context,
    order=5,
)
