"""What upper apps add to the LINE channel without LINE importing them (CSAT, later others).

- Quick replies: `register_quick_reply_source(source)`; `source(message)` returns the quick reply
  items (LINE's `quickReply.items`) an outbound message carries, or None. The sender asks each
  source when it sends, so a message stored by another app goes out with its buttons.
- Postbacks: `register_postback_handler(prefix, handler)`; a postback whose data starts with
  `prefix` goes to `handler(PostbackContext)` instead of becoming a customer message (which would
  reopen a solved ticket). The handler runs in the event's transaction and returns whether it
  took the postback; one that returns False leaves it to the usual path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from madoguchi.conversations.models import Message
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.models import Shop

QuickReplySource = Callable[["Message"], list[dict[str, Any]] | None]

MAX_QUICK_REPLY_ITEMS = 13  # LINE's limit


@dataclass(frozen=True)
class PostbackContext:
    """A postback from a known LINE user of the shop (the signature was checked)."""

    shop: Shop
    customer: Customer
    data: str
    occurred_at: dt.datetime


PostbackHandler = Callable[[PostbackContext], bool]

_quick_reply_sources: list[QuickReplySource] = []
_postback_handlers: dict[str, PostbackHandler] = {}


def register_quick_reply_source(source: QuickReplySource) -> None:
    """Let `source(message)` give an outbound message its quick reply items (from `ready()`)."""
    if source not in _quick_reply_sources:
        _quick_reply_sources.append(source)


def quick_reply_items(message: Message) -> list[dict[str, Any]]:
    """Return the quick reply items of an outbound message (empty: none)."""
    for source in _quick_reply_sources:
        items = source(message)
        if items:
            return items[:MAX_QUICK_REPLY_ITEMS]
    return []


def register_postback_handler(prefix: str, handler: PostbackHandler) -> None:
    """Send postbacks whose data starts with `prefix` to `handler` (from `ready()`)."""
    _postback_handlers[prefix] = handler


def postback_handler(data: str) -> PostbackHandler | None:
    """Return the handler registered for this postback data, if any."""
    for prefix, handler in _postback_handlers.items():
        if data.startswith(prefix):
            return handler
    return None
