"""Rows of the chat for other apps' tests: a visitor's conversation on a ticket made in the test."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone

from madoguchi.connectors.chat.models import ChatConversation, ChatWidget
from madoguchi.conversations.models import Ticket


def conversation_on(ticket: Ticket, *, public_id: str, **fields: Any) -> ChatConversation:
    """The chat conversation whose ticket is `ticket` (the shop's widget made when needed).

    Runs in the ticket's shop scope; `fields` set more of the conversation (name, email...).
    """
    widget, _ = ChatWidget.objects.get_or_create(shop_id=ticket.shop_id)
    conversation = ChatConversation.objects.create(
        shop_id=ticket.shop_id,
        widget=widget,
        token_hash=hashlib.sha256(public_id.encode()).hexdigest(),
        public_id=public_id,
        customer_id=ticket.customer_id,
        ticket=ticket,
        created_at=fields.pop("created_at", None) or timezone.now(),
        **fields,
    )
    conversation.tickets.add(ticket)
    return conversation
