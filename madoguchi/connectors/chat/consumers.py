"""Websockets of the live chat: the visitor's conversation and the operators' live feed.

Visitor: `/ws/chat/<token>/`. The token (from opening the conversation) is the credential; the
handshake's Origin must be one of the shop's allowed origins (no Origin, or another, is refused
before the socket is accepted). The client says `hello` (or `resume`) with its cursor (the
highest message id it has) and gets the later messages once, a page at a time, then `ready`
(with `complete` false when another page waits); messages carry the client's id (dedupe) and
the server's id (the cursor). A message is committed before its `ack`. `delivered` says up to
which id an operator's page has received the visitor's messages. A `stream.gap` from the
channel layer (it dropped events for this socket) replays from the socket's own cursor, as a
hello would (docs/adr/0018-chat-cursors.md); replayed messages carry `replayed`, and that
catch-up's `ready` carries `gap`. Frames above CHAT_MAX_FRAME_BYTES close the
socket; more than CHAT_RATE_MESSAGES messages in CHAT_RATE_SECONDS are refused. At most
CHAT_SOCKETS_PER_CONVERSATION sockets may be open on one token and CHAT_SOCKETS_PER_ADDRESS from
one client address (counted across processes, `chat.sockets`); one more is accepted and closed
at once with CLOSE_TOO_MANY, so the widget can tell it from a refused token.

Operator: `/ws/operator/`, session-authenticated, same-origin only; the shops come from
`actor_for_user` at connect and are re-checked on every ping, resume and typing frame. The page
says `resume` with the cursor it was rendered with (or last saw) and gets the chat messages of
its shops after it, a page at a time, then `ready`; `received` with a visitor message's id marks
it delivered to the visitor. A `stream.gap` replays from the socket's cursor.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from channels.generic.websocket import AsyncWebsocketConsumer

from madoguchi.accounts.sessions import CLOSE_SESSION_ENDED, session_survives, user_group
from madoguchi.connectors.chat import replay, services, sockets
from madoguchi.connectors.chat.db import chat_database
from madoguchi.connectors.chat.groups import (
    conversation_group,
    operators_group,
    push,
    visitors_group,
)
from madoguchi.connectors.chat.models import ChatConversation, ChatWidget
from madoguchi.conversations.services import ShopArchivedError
from madoguchi.core.client_address import scope_client_address
from madoguchi.core.deferred_commit import DeferredHooks, atomic_deferring_hooks
from madoguchi.core.errors import ApplicationError
from madoguchi.core.websockets import CLOSE_TOO_BIG, frame_too_big, json_object
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, shop_scope

logger = logging.getLogger(__name__)

CLOSE_DENIED = 4403
CLOSE_TOO_MANY = 4429  # like HTTP 429: too many sockets open on this token or address
CLOSE_UNSUPPORTED = 1003
TYPING_INTERVAL_SECONDS = 2.0


def header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _visitor_conversation(token: str) -> ChatConversation | None:
    conversation = services.conversation_by_token(token)
    if conversation is None or not conversation.widget.is_enabled:
        return None
    return conversation


def _lock_and_refresh(conversation: ChatConversation) -> None:
    """Lock the conversation's row for this transaction and read its ticket again."""
    current = (
        ChatConversation.objects.select_for_update()
        .filter(pk=conversation.pk)
        .values("ticket_id", "customer_id", "email")
        .first()
    )
    if current is not None:
        conversation.ticket_id = current["ticket_id"]
        conversation.customer_id = current["customer_id"]
        conversation.email = current["email"]


def _availability(widget: ChatWidget) -> bool:
    with in_shop(widget.shop_id):
        return services.is_available(widget)


def broadcast_availability(shop_id: int) -> None:
    """Tell the shop's visitors whether live chat is on now (after an operator came or went)."""
    with in_shop(shop_id):
        widget = ChatWidget.objects.filter(shop_id=shop_id).first()
        if widget is None:
            return
        available = services.is_available(widget)
    push(visitors_group(shop_id), {"type": "chat.presence", "available": available})


class VisitorConsumer(AsyncWebsocketConsumer):
    conversation: ChatConversation | None = None
    is_counted = False

    async def connect(self) -> None:
        token = str(self.scope["url_route"]["kwargs"].get("token", ""))
        conversation = await chat_database(_visitor_conversation)(token)
        origin = header(self.scope, b"origin")
        if conversation is None or not conversation.widget.allows_origin(origin):
            logger.info("chat: visitor socket refused (unknown token or origin)")
            await self.close(code=CLOSE_DENIED)
            return
        exceeded = await chat_database(sockets.visitor_socket_open)(
            conversation=conversation,
            address=scope_client_address(self.scope),
            channel_name=self.channel_name,
        )
        if exceeded is not None:
            logger.info("chat: visitor socket refused (too many open per %s)", exceeded)
            await self.accept()
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.is_counted = True
        sockets.heartbeat.add(self.channel_name)
        self.conversation = conversation
        self.shown = replay.Shown()
        self.has_said_hello = False
        self.sent: deque[float] = deque()
        self.last_typing = 0.0
        await self.channel_layer.group_add(conversation_group(conversation.id), self.channel_name)
        await self.channel_layer.group_add(visitors_group(conversation.shop_id), self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.is_counted:
            self.is_counted = False
            sockets.closer.add(self.channel_name)  # its row goes with the next batch
        if self.conversation is not None:
            await self.channel_layer.group_discard(
                conversation_group(self.conversation.id), self.channel_name
            )
            await self.channel_layer.group_discard(
                visitors_group(self.conversation.shop_id), self.channel_name
            )

    async def send_json(self, data: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(data, ensure_ascii=False))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.conversation is None:
            return
        if text_data is None:
            await self.close(code=CLOSE_UNSUPPORTED)
            return
        if frame_too_big(text_data, services.limit("CHAT_MAX_FRAME_BYTES")):
            await self.close(code=CLOSE_TOO_BIG)
            return
        frame = json_object(text_data)
        if frame is None:
            await self.send_json({"type": "error", "code": "bad_frame"})
            return
        kind = frame.get("type")
        if kind in ("hello", "resume"):
            if self._rate_limited():  # each hello reads the history: counted like a message
                await self.send_json({"type": "error", "code": "rate_limited"})
                return
            cursor = frame.get("cursor")
            self.has_said_hello = True
            await self._catch_up(cursor if isinstance(cursor, int) and cursor >= 0 else 0)
        elif kind == "message":
            await self._message(frame)
        elif kind == "typing":
            await self._typing()
        elif kind == "close":
            await self._close_conversation(frame)
        else:
            await self.send_json({"type": "error", "code": "bad_frame"})

    async def _catch_up(self, cursor: int, *, is_gap: bool = False) -> None:
        """Send the stored messages after `cursor` this socket has not sent, then `ready`.

        Replayed messages carry `replayed`, and a catch-up after a layer's gap ends with a
        `ready` marked `gap` (the load benchmark counts them from what the clients receive).
        """
        assert self.conversation is not None
        conversation = self.conversation
        self.shown.begin(cursor)

        def load() -> tuple[replay.Page, bool]:
            with in_shop(conversation.shop_id):
                conversation.refresh_from_db(fields=["ticket", "customer", "email", "delivered_id"])
                return (
                    replay.visitor_page(conversation=conversation, cursor=cursor),
                    services.is_available(conversation.widget),
                )

        page, available = await chat_database(load)()
        for message in page.items:
            await self._show(message, is_replayed=True)
        ready = {
            "type": "ready",
            "available": available,
            "has_email": bool(conversation.email),
            "cursor": page.cursor,
            "complete": page.is_complete,
            "delivered": conversation.delivered_id,
        }
        await self.send_json({**ready, "gap": True} if is_gap else ready)

    async def _show(self, message: dict[str, Any], *, is_replayed: bool = False) -> None:
        if self.shown.is_new(message["id"]):
            self.shown.add(message["id"])
            frame = {"type": "message", **message}
            await self.send_json({**frame, "replayed": True} if is_replayed else frame)

    def _rate_limited(self) -> bool:
        now = time.monotonic()
        window = services.limit("CHAT_RATE_SECONDS")
        while self.sent and now - self.sent[0] > window:
            self.sent.popleft()
        if len(self.sent) >= services.limit("CHAT_RATE_MESSAGES"):
            return True
        self.sent.append(now)
        return False

    async def _message(self, frame: dict[str, Any]) -> None:
        assert self.conversation is not None
        client_id = frame.get("client_id")
        text = frame.get("text")
        email = frame.get("email") or ""
        if not isinstance(client_id, str) or not isinstance(text, str):
            await self.send_json({"type": "error", "code": "bad_frame"})
            return
        if not isinstance(email, str):
            email = ""
        if self._rate_limited():
            await self.send_json({"type": "error", "code": "rate_limited", "client_id": client_id})
            return
        conversation = self.conversation

        def store() -> tuple[services.Received, dict[str, Any], DeferredHooks]:
            # The after-commit work (search indexing, inbound hooks) runs after the push
            # (core.deferred_commit): it took two thirds of the time to the operator.
            with in_shop(conversation.shop_id), atomic_deferring_hooks() as hooks:
                # Sockets store concurrently (chat.db): a visitor's other tab may have opened
                # the ticket meanwhile. The row lock (on SQLite the process's write gate, held
                # for the transaction) makes the second first message find it.
                _lock_and_refresh(conversation)
                needs_email = not conversation.email and not email
                if needs_email and not services.is_available(conversation.widget):
                    raise ApplicationError("email_required")
                received = services.visitor_message(
                    conversation=conversation, client_id=client_id, text=text, email=email
                )
                notice = replay.operator_notice(received.message, client_id=client_id)
                return received, notice, hooks

        def after_commit(hooks: DeferredHooks) -> None:
            try:
                with in_shop(conversation.shop_id):
                    hooks.run()
            except Exception:  # the message is stored and pushed: the socket carries on
                logger.exception("chat: the after-commit work of a visitor's message failed")

        try:
            received, notice, hooks = await chat_database(store)()
        except ShopArchivedError:
            await self.send_json({"type": "error", "code": "shop_archived", "client_id": client_id})
            return
        except ApplicationError as error:
            code = str(error) if str(error) == "email_required" else "invalid"
            await self.send_json({"type": "error", "code": code, "client_id": client_id})
            return
        try:
            payload = notice["message"]
            await self.send_json({"type": "ack", "client_id": client_id, "id": payload["id"]})
            if received.is_duplicate:
                return
            # Two groups, two different readers: neither waits for the other's round trips.
            await asyncio.gather(
                self.channel_layer.group_send(
                    conversation_group(conversation.id),
                    {"type": "chat.message", "message": payload},
                ),
                self.channel_layer.group_send(
                    operators_group(conversation.shop_id),
                    {"type": "operator.event", "event": notice},
                ),
            )
        finally:  # even when the socket closed meanwhile
            await asyncio.shield(chat_database(after_commit)(hooks))

    async def _typing(self) -> None:
        assert self.conversation is not None
        now = time.monotonic()
        if now - self.last_typing < TYPING_INTERVAL_SECONDS or self.conversation.ticket_id is None:
            return
        self.last_typing = now
        await self.channel_layer.group_send(
            operators_group(self.conversation.shop_id),
            {
                "type": "operator.event",
                "event": {
                    "kind": "typing",
                    "shop_id": self.conversation.shop_id,
                    "ticket_id": self.conversation.ticket_id,
                },
            },
        )

    async def _close_conversation(self, frame: dict[str, Any]) -> None:
        assert self.conversation is not None
        conversation = self.conversation
        transcript = frame.get("transcript") is True

        def close() -> bool:
            with in_shop(conversation.shop_id):
                return services.conversation_close(conversation=conversation, transcript=transcript)

        mailed = await chat_database(close)()
        await self.send_json({"type": "closed", "transcript": mailed})
        await self.close()

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self._show(event["message"])

    async def chat_delivered(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "delivered", "id": int(event["id"])})

    async def stream_gap(self, event: dict[str, Any]) -> None:
        """The layer dropped events for this socket: replay from its cursor (after a hello)."""
        if self.conversation is not None and self.has_said_hello:
            logger.info("chat: visitor socket catches up after a gap")
            await self._catch_up(self.shown.floor, is_gap=True)

    async def chat_typing(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "typing"})

    async def chat_presence(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "presence", "available": bool(event["available"])})


def _same_origin(scope: dict[str, Any]) -> bool:
    origin = header(scope, b"origin")
    host = header(scope, b"host")
    if not origin or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()


def _operator_shops(user: Any) -> tuple[list[int], list[int]]:
    """(shops whose chats the user may follow, shops where the user counts as present)."""
    actor = actor_for_user(user if user is not None and user.is_authenticated else None)
    shops = list(actor.shop_ids)
    return shops, [shop_id for shop_id in shops if actor.is_staff_for(shop_id)]


def _typing_target(user: Any, ticket_id: int) -> tuple[list[int], int | None]:
    """Re-check the user's shops; return them and the conversation the ticket belongs to."""
    shops, staff = _operator_shops(user)
    with shop_scope(staff):
        conversation_id = (
            ChatConversation.objects.filter(tickets=ticket_id, shop_id__in=staff)
            .values_list("id", flat=True)
            .first()
        )
    return shops, conversation_id


class OperatorConsumer(AsyncWebsocketConsumer):
    shop_ids: list[int]
    staff_shop_ids: list[int]

    async def connect(self) -> None:
        self.shop_ids, self.staff_shop_ids = [], []
        self.shown = replay.Shown()
        self.has_resumed = False
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not _same_origin(self.scope):
            await self.close(code=CLOSE_DENIED)
            return
        self.shop_ids, self.staff_shop_ids = await chat_database(_operator_shops)(user)
        if not self.shop_ids:
            await self.close(code=CLOSE_DENIED)
            return
        for shop_id in self.shop_ids:
            await self.channel_layer.group_add(operators_group(shop_id), self.channel_name)
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        await self.accept()
        await self._presence(add=True)

    async def _presence(self, *, add: bool) -> None:
        staff, user_id, channel_name = self.staff_shop_ids, self.scope["user"].pk, self.channel_name

        def change() -> None:
            with shop_scope(staff):
                if add:
                    services.presence_add(
                        user_id=user_id, shop_ids=staff, channel_name=channel_name
                    )
                else:
                    services.presence_remove(channel_name=channel_name)
            for shop_id in staff:
                broadcast_availability(shop_id)

        if staff:
            await chat_database(change)()

    async def disconnect(self, code: int) -> None:
        for shop_id in self.shop_ids:
            await self.channel_layer.group_discard(operators_group(shop_id), self.channel_name)
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self.channel_layer.group_discard(user_group(user.pk), self.channel_name)
        await self._presence(add=False)

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The user's session was ended (password change, deactivation): close."""
        if self.shop_ids and not session_survives(self.scope, event):
            await self.close(code=CLOSE_SESSION_ENDED)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.shop_ids:
            return
        if text_data is None or frame_too_big(text_data, services.limit("CHAT_MAX_FRAME_BYTES")):
            await self.close(code=CLOSE_TOO_BIG)
            return
        frame = json_object(text_data)
        if frame is None:
            return
        kind = frame.get("type")
        if kind == "ping":
            await self._recheck()
        elif kind == "resume":
            cursor = frame.get("cursor")
            self.has_resumed = True
            await self._catch_up(cursor if isinstance(cursor, int) and cursor >= 0 else 0)
        elif kind == "received" and isinstance(frame.get("id"), int):
            await self._received(frame["id"])
        elif kind == "typing" and isinstance(frame.get("ticket_id"), int):
            shops, conversation_id = await chat_database(_typing_target)(
                self.scope["user"], frame["ticket_id"]
            )
            if not await self._apply_shops(shops):
                return
            if conversation_id is not None:
                await self.channel_layer.group_send(
                    conversation_group(conversation_id), {"type": "chat.typing"}
                )

    async def _apply_shops(self, shops: list[int]) -> bool:
        """Leave the groups of shops the user lost; close when none is left."""
        for shop_id in set(self.shop_ids) - set(shops):
            await self.channel_layer.group_discard(operators_group(shop_id), self.channel_name)
        self.shop_ids = [shop_id for shop_id in self.shop_ids if shop_id in shops]
        if not self.shop_ids:
            await self.close(code=CLOSE_DENIED)
            return False
        return True

    async def _recheck(self) -> None:
        user = self.scope["user"]
        await chat_database(user.refresh_from_db)()
        shops, staff = await chat_database(_operator_shops)(user)
        if not await self._apply_shops(shops):
            return
        lost = [shop_id for shop_id in self.staff_shop_ids if shop_id not in staff]
        self.staff_shop_ids = [shop_id for shop_id in self.staff_shop_ids if shop_id in staff]
        channel_name, kept = self.channel_name, self.staff_shop_ids

        def touch() -> None:
            with shop_scope(kept + lost):
                services.presence_touch(channel_name=channel_name)
                if lost:
                    services.presence_remove_shops(channel_name=channel_name, shop_ids=lost)
            for shop_id in lost:
                broadcast_availability(shop_id)

        await chat_database(touch)()
        await self.send(text_data=json.dumps({"type": "pong"}))

    async def _catch_up(self, cursor: int, *, is_gap: bool = False) -> None:
        """Send the shops' chat messages after `cursor` not sent yet, then `ready`.

        As the visitor's: replayed events carry `replayed`, a gap's `ready` is marked `gap`.

        Cursor 0 (a page without one) replays nothing: `ready` gives the newest id instead.
        The user's shops are read again first, so a cursor never reaches a shop they lost.
        """
        user = self.scope["user"]
        if cursor:
            self.shown.begin(cursor)

        def load() -> tuple[list[int], replay.Page]:
            shops, _staff = _operator_shops(user)
            if not cursor:
                return shops, replay.Page(items=[], cursor=replay.operator_head(), is_complete=True)
            with shop_scope(shops):
                return shops, replay.operator_page(shop_ids=shops, cursor=cursor)

        await chat_database(user.refresh_from_db)()
        shops, page = await chat_database(load)()
        if not await self._apply_shops(shops):
            return
        self.shown.begin(page.cursor)  # a page without a cursor starts at the newest id
        for notice in page.items:
            await self._show(notice, is_replayed=True)
        self.shown.cursor = max(self.shown.cursor, page.cursor)
        ready = {"type": "ready", "cursor": page.cursor, "complete": page.is_complete}
        await self.send(text_data=json.dumps({**ready, "gap": True} if is_gap else ready))

    async def _show(self, notice: dict[str, Any], *, is_replayed: bool = False) -> None:
        if notice.get("shop_id") not in self.shop_ids:
            return
        message = notice.get("message")
        if notice.get("kind") == "message" and isinstance(message, dict):
            if not self.shown.is_new(message["id"]):
                return
            self.shown.add(message["id"])
        frame = {"type": "event", **notice, **({"replayed": True} if is_replayed else {})}
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))

    async def _received(self, message_id: int) -> None:
        """The page received a visitor's message: the visitor's widget shows it delivered."""
        staff = list(self.staff_shop_ids)
        if not staff:
            return

        def mark() -> list[tuple[int, int]]:
            with shop_scope(staff):
                return services.delivered_mark(message_id=message_id, shop_ids=staff)

        for conversation_id, delivered_id in await chat_database(mark)():
            await self.channel_layer.group_send(
                conversation_group(conversation_id),
                {"type": "chat.delivered", "id": delivered_id},
            )

    async def operator_event(self, event: dict[str, Any]) -> None:
        await self._show(event["event"])

    async def stream_gap(self, event: dict[str, Any]) -> None:
        """The layer dropped events for this socket: replay from its cursor (after a resume)."""
        if self.shop_ids and self.has_resumed:
            logger.info("chat: operator socket catches up after a gap")
            await self._catch_up(self.shown.floor, is_gap=True)
