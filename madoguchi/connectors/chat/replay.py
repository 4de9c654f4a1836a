"""What a chat socket missed: the stored messages after its cursor, read from the database.

Every chat message is committed before anyone hears of it, and its id is the cursor of the
sockets that show it (docs/adr/0018-chat-cursors.md). A socket that reconnects, or that the
channel layer tells about a gap, is sent the page of messages after its cursor from here, in id
order; a page holds at most CHAT_HISTORY_LIMIT messages and says whether more remain, so one
catch-up is bounded and the client asks for the next page with its new cursor.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from madoguchi.connectors.chat.models import ChatConversation
from madoguchi.connectors.chat.services import limit, message_payload
from madoguchi.conversations.models import Channel, Message
from madoguchi.tenancy.scoping import unscoped


@dataclass(frozen=True)
class Page:
    """One page of a catch-up: the items, the cursor after them and whether it reached the end."""

    items: list[dict[str, Any]]
    cursor: int
    is_complete: bool


def _page(items: list[dict[str, Any]], ids: list[int], cursor: int, size: int) -> Page:
    return Page(items=items, cursor=ids[-1] if ids else cursor, is_complete=len(ids) < size)


def visitor_page(*, conversation: ChatConversation, cursor: int) -> Page:
    """The conversation's messages (never notes) after `cursor`, oldest first, one page."""
    size = limit("CHAT_HISTORY_LIMIT")
    ticket_ids = list(conversation.tickets.values_list("id", flat=True))
    if not ticket_ids:
        return Page(items=[], cursor=cursor, is_complete=True)
    messages = list(
        Message.objects.filter(ticket_id__in=ticket_ids, id__gt=cursor)
        .exclude(direction=Message.Direction.NOTE)
        .order_by("id")[:size]
    )
    items = [message_payload(message) for message in messages]
    return _page(items, [message.id for message in messages], cursor, size)


def operator_notice(message: Message, *, client_id: str = "") -> dict[str, Any]:
    """The operator socket's event for one chat message (the inbox feed and the ticket page)."""
    ticket = message.ticket
    return {
        "kind": "message",
        "shop_id": message.shop_id,
        "ticket_id": ticket.id,
        "reference": ticket.reference,
        "url": reverse(
            "conversations:ticket",
            kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number},
        ),
        "message": message_payload(message, client_id=client_id),
    }


def operator_page(*, shop_ids: list[int], cursor: int) -> Page:
    """The chat messages (never notes) of these shops after `cursor`, oldest first, one page.

    Called inside a scope of exactly `shop_ids`: an operator's cursor names only their shops'
    messages, whatever number it holds.
    """
    size = limit("CHAT_HISTORY_LIMIT")
    messages = list(
        Message.objects.filter(shop_id__in=shop_ids, channel=Channel.CHAT, id__gt=cursor)
        .exclude(direction=Message.Direction.NOTE)
        .select_related("ticket", "ticket__shop")
        .order_by("id")[:size]
    )
    items = [operator_notice(message) for message in messages]
    return _page(items, [message.id for message in messages], cursor, size)


def operator_head() -> int:
    """The newest message id of the deployment (0 when none): a page's starting cursor.

    Any id at or above the newest one the page shows will do, and the newest of all is one read
    of the primary key's index, where the newest of some shops' chats may scan a long table.
    Message ids already reach operators in every payload, so this one tells them nothing new.
    """
    with unscoped("chat: the newest message id is a cursor, not a message"):
        newest = Message.objects.order_by("-id").values_list("id", flat=True).first()
    return int(newest or 0)


class Shown:
    """The message ids one socket has sent: its cursor (the highest) and the recent ones.

    A live event whose message the socket already sent (from a catch-up, or twice from the
    layer) is dropped. A gap replays from `floor`, not from the cursor: ids are not always
    committed, pushed or queued in their order (a message that expired unread in the layer was
    older than the ones behind it), so the replay starts at the first catch-up's cursor, or at
    the oldest recent id once RECENT ids were sent, and skips what was sent.
    """

    RECENT = 2048

    def __init__(self) -> None:
        self.cursor = 0
        self.base: int | None = None
        self.is_window_full = False
        self._recent: set[int] = set()
        self._order: deque[int] = deque()

    def begin(self, cursor: int) -> None:
        """A catch-up starts at `cursor`: the first one is where this socket's view begins."""
        if self.base is None:
            self.base = cursor

    @property
    def floor(self) -> int:
        if self.is_window_full and self._recent:
            return min(self._recent)
        return self.base if self.base is not None else self.cursor

    def is_new(self, message_id: int) -> bool:
        return message_id not in self._recent

    def add(self, message_id: int) -> None:
        if message_id in self._recent:
            return
        self.cursor = max(self.cursor, message_id)
        self._recent.add(message_id)
        self._order.append(message_id)
        if len(self._order) > self.RECENT:
            self._recent.discard(self._order.popleft())
            self.is_window_full = True
