"""Channel-layer group names and pushes from synchronous code (services, senders, tasks)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
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
    return push_all([(group, event)])


def push_all(sends: Sequence[tuple[str, dict[str, Any]]]) -> bool:
    """Send each `(group, event)`, all at once in one hand-over to the event loop; False (each
    failure logged) when any could not be sent."""
    layer = get_channel_layer()
    if layer is None:
        return False

    async def send_all() -> list[BaseException | None]:
        outcomes: list[BaseException | None] = await asyncio.gather(
            *(layer.group_send(group, event) for group, event in sends), return_exceptions=True
        )
        return outcomes

    try:
        outcomes = async_to_sync(send_all)()
    except Exception:  # the messages are stored: a reconnecting client gets them from its cursor
        logger.warning("chat: could not push to %s", [group for group, _ in sends], exc_info=True)
        return False
    failed = [
        (group, error)
        for (group, _), error in zip(sends, outcomes, strict=True)
        if error is not None
    ]
    for group, error in failed:
        logger.warning("chat: could not push to %s", group, exc_info=error)
    return not failed
