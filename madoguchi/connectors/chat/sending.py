"""Operator replies on chat tickets: pushed to the visitor's conversation after the commit."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from madoguchi.connectors.chat.groups import conversation_group, operators_group, push_all
from madoguchi.connectors.chat.models import ChatConversation
from madoguchi.connectors.chat.services import message_payload
from madoguchi.conversations.models import Message
from madoguchi.conversations.outbound import delivery_status_set
from madoguchi.tenancy.scoping import in_shop

NO_CONVERSATION = gettext_noop("No chat conversation belongs to this ticket.")

Status = Message.DeliveryStatus


def reply_push(message: Message) -> object:
    """The chat sender of the outbound registry: the stored reply reaches the widget live.

    Runs in the reply's transaction. The reply is durable once committed (the visitor's next
    connection resumes from its cursor and gets it), so it is "queued" until the commit pushes
    it and "sent" once pushed; "failed" at once when no chat conversation belongs to the
    ticket (a chat-channel ticket made by hand). What the push sends is read and built here,
    so that after the commit nothing stands between it and the visitor (issue 19).
    """
    message_id, shop_id = message.id, message.shop_id
    with in_shop(shop_id):
        conversation_ids = list(
            ChatConversation.objects.filter(tickets=message.ticket_id).values_list("id", flat=True)
        )
        if not conversation_ids:
            delivery_status_set(message_id=message_id, status=Status.FAILED, error=NO_CONVERSATION)
            return None
        # "Queued" until the commit pushes it: never "stored", which says no channel sends it.
        delivery_status_set(message_id=message_id, status=Status.QUEUED, replaces=Status.STORED)
    sends = _sends(message, conversation_ids)
    transaction.on_commit(lambda: push_reply(message_id=message_id, shop_id=shop_id, sends=sends))
    return None


def _sends(message: Message, conversation_ids: list[int]) -> list[tuple[str, dict[str, Any]]]:
    """The reply's events: to each of its conversations and to the shop's operators."""
    # One payload for both events, as for a visitor's message (the layers copy what they send).
    payload = message_payload(message)
    event = {"type": "chat.message", "message": payload}
    operator_event = {
        "type": "operator.event",
        "event": {
            "kind": "message",
            "shop_id": message.shop_id,
            "ticket_id": message.ticket_id,
            "message": payload,
        },
    }
    return [
        *((conversation_group(conversation_id), event) for conversation_id in conversation_ids),
        (operators_group(message.shop_id), operator_event),
    ]


def push_reply(*, message_id: int, shop_id: int, sends: list[tuple[str, dict[str, Any]]]) -> None:
    """Push the committed reply; recorded after, so the visitor does not wait for the write."""
    push_all(sends)
    with in_shop(shop_id):
        delivery_status_set(message_id=message_id, status=Status.SENT, replaces=Status.QUEUED)
