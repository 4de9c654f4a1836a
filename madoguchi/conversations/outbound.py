"""Hand a stored reply to the connector of its channel, without conversations importing them.

Each connector registers one sender per channel from its `AppConfig.ready`. `message_reply`
calls `dispatch_outbound` inside its transaction: the connector writes its own durable outbox
row in the same commit as the reply (so a crash right after the commit loses nothing) and
enqueues the actual sending after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from madoguchi.conversations.models import Message

logger = logging.getLogger(__name__)

Sender = Callable[[Message], object]

_SENDERS: dict[str, Sender] = {}


def register_sender(channel: str, sender: Sender) -> None:
    """Let `sender(message)` queue outbound messages of `channel` (called from `ready()`)."""
    _SENDERS[channel] = sender


def dispatch_outbound(message: Message) -> bool:
    """Queue `message` with its channel's connector; return False when none is registered."""
    sender = _SENDERS.get(message.channel)
    if sender is None:
        return False
    sender(message)
    return True


def delivery_status_set(*, message_id: int, status: str) -> None:
    """Record how far the channel got with delivering an outbound message."""
    if status not in Message.DeliveryStatus.values:
        raise ValueError(f"Unknown delivery status {status!r}")
    Message.objects.filter(pk=message_id, direction=Message.Direction.OUTBOUND).update(
        delivery_status=status
    )
