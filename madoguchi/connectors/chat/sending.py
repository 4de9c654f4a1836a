"""Operator replies on chat tickets: pushed to the visitor's conversation after the commit."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_noop

from madoguchi.connectors.chat.groups import conversation_group, operators_group, push_all
from madoguchi.connectors.chat.models import ChatConversation
from madoguchi.connectors.chat.services import message_payload
from madoguchi.conversations.models import Message
from madoguchi.conversations.outbound import delivery_status_set
from madoguchi.tenancy.scoping import in_shop

NO_CONVERSATION = gettext_noop("No chat conversation belongs to this ticket.")


def reply_push(message: Message) -> object:
    """The chat sender of the outbound registry: the stored reply reaches the widget live.

    The reply is already durable (the visitor's next connection resumes from its cursor and
    gets it), so delivery is "sent" once it is pushed, "failed" when no chat conversation
    belongs to the ticket (a chat-channel ticket made by hand).
    """
    message_id, shop_id = message.id, message.shop_id
    # "Queued" until the commit pushes it: never "stored", which says no channel sends it.
    delivery_status_set(message_id=message_id, status=Message.DeliveryStatus.QUEUED)
    transaction.on_commit(lambda: push_reply(message_id=message_id, shop_id=shop_id))
    return None


def push_reply(*, message_id: int, shop_id: int) -> bool:
    with in_shop(shop_id):
        message = Message.objects.filter(pk=message_id).select_related("ticket").first()
        if message is None:
            return False
        conversation_ids = list(
            ChatConversation.objects.filter(tickets=message.ticket_id).values_list("id", flat=True)
        )
        if not conversation_ids:
            delivery_status_set(
                message_id=message_id, status=Message.DeliveryStatus.FAILED, error=NO_CONVERSATION
            )
            return False
        # One payload for both events, as for a visitor's message (the layers copy what they send).
        payload = message_payload(message)
        event = {"type": "chat.message", "message": payload}
        operator_event = {
            "type": "operator.event",
            "event": {
                "kind": "message",
                "shop_id": shop_id,
                "ticket_id": message.ticket_id,
                "message": payload,
            },
        }
        # Pushed first, recorded after: the visitor does not wait for the status's write.
        push_all(
            [
                *(
                    (conversation_group(conversation_id), event)
                    for conversation_id in conversation_ids
                ),
                (operators_group(shop_id), operator_event),
            ]
        )
        delivery_status_set(message_id=message_id, status=Message.DeliveryStatus.SENT)
    return True
