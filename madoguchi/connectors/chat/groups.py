"""Channel-layer group names and pushes from synchronous code (services, senders, tasks)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def conversation_group(conversation_id: int) -> str:
    return f"chat.conversation.{conversation_id}"


def visitors_group(shop_id: int) -> str:
    return f"chat.visitors.{shop_id}"


def operators_group(shop_id: int) -> str:
    return f"chat.operators.{shop_id}"


def push(group: str, event: dict[str, Any]) -> bool:
    """Send `event` to `group`; False (logged) when the layer is unreachable."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:  # the message is stored: a reconnecting client gets it from its cursor
        logger.warning("chat: could not push to %s", group, exc_info=True)
        return False
    return True
