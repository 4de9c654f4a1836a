"""Ticket presence: who else of the shop's staff is viewing a ticket or writing on it, live.

`/ws/shops/<slug>/tickets/<number>/presence/`, session-authenticated and same-origin only. The
socket is accepted only for the shop's staff, by the ticket page's own lookup (`access_ticket`
then staff): anyone else, another shop's ticket included, is refused before the handshake
completes. Access is checked again on every ping, and before forwarding anything once the last
check is older than RECHECK_SECONDS, so an operator taken off the shop stops receiving.

Nothing is stored: the registry is the channel layer group of the ticket. A newcomer says
`hello` to the group and every member answers it directly with its own state; a typing frame
turns the sender's state to writing (the pages turn it back to viewing after a few silent
seconds); each ping re-announces the state (pages forget members not heard of for a minute, in
case a process died without saying goodbye); leaving the page says `leave`. A reconnecting page
and a `stream.gap` from the channel layer both say `hello` again: the answers are the catch-up.

Frames from the page: `{"type": "ping"}`, `{"type": "typing", "box": "reply" | "note"}`.
Frames to the page: `{"type": "presence", "id", "user_id", "name", "state", "box"}`,
`{"type": "leave", "id"}`, `{"type": "pong"}`. The page's own user is never reported to it.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import ObjectDoesNotExist

from madoguchi.accounts.sessions import CLOSE_SESSION_ENDED, session_survives, user_group
from madoguchi.conversations.selectors import access_ticket
from madoguchi.core.errors import NotFoundError
from madoguchi.core.websockets import CLOSE_TOO_BIG, frame_too_big, json_object
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import shop_scope

logger = logging.getLogger(__name__)

CLOSE_DENIED = 4403
MAX_FRAME_BYTES = 512
TYPING_MIN_INTERVAL_SECONDS = 1.5
PING_MIN_INTERVAL_SECONDS = 5.0
RECHECK_SECONDS = 60.0
WRITING_SECONDS = 5.0  # a writer is reported as writing this long after their last keystroke
BOXES = frozenset({"reply", "note"})


def presence_group(ticket_id: int) -> str:
    return f"ticket-presence.{ticket_id}"


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _same_origin(scope: dict[str, Any]) -> bool:
    origin, host = _header(scope, b"origin"), _header(scope, b"host")
    return bool(origin and host) and urlsplit(origin).netloc.lower() == host.lower()


def staff_ticket_id(user: Any, shop_slug: str, number: int) -> int | None:
    """The ticket's id if `user` is staff of its shop (the ticket page's rules), else None."""
    actor = actor_for_user(user if user is not None and user.is_authenticated else None)
    with shop_scope(actor.shop_ids):
        try:
            ticket = access_ticket(actor=actor, shop_slug=shop_slug, number=number)
        except NotFoundError:
            return None
    return ticket.id if actor.is_staff_for(ticket.shop_id) else None


class TicketPresenceConsumer(AsyncWebsocketConsumer):
    ticket_id: int | None = None

    async def connect(self) -> None:
        self.ticket_id = None
        user = self.scope.get("user")
        kwargs = self.scope["url_route"]["kwargs"]
        self.shop_slug, self.number = str(kwargs["shop_slug"]), int(kwargs["number"])
        if user is None or not user.is_authenticated or not _same_origin(self.scope):
            await self.close(code=CLOSE_DENIED)
            return
        ticket_id = await database_sync_to_async(staff_ticket_id)(user, self.shop_slug, self.number)
        if ticket_id is None:
            logger.info("presence: socket refused (no staff access to the ticket)")
            await self.close(code=CLOSE_DENIED)
            return
        self.ticket_id = ticket_id
        self.checked_at = time.monotonic()
        self.last_typing = self.last_ping = 0.0
        self.public_id = uuid.uuid4().hex
        self.user_id = int(user.pk)
        self.name = str(user)
        self.writing_until, self.box = 0.0, ""
        await self.channel_layer.group_add(presence_group(ticket_id), self.channel_name)
        await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
        await self.accept()
        await self._broadcast("presence.hello")

    async def disconnect(self, code: int) -> None:
        if self.ticket_id is None:
            return
        group = presence_group(self.ticket_id)
        self.ticket_id = None
        await self.channel_layer.group_discard(group, self.channel_name)
        await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)
        await self.channel_layer.group_send(
            group, {"type": "presence.leave", "sender": self.channel_name, "id": self.public_id}
        )

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The user's session was ended (password change, deactivation): leave and close."""
        if self.ticket_id is None or session_survives(self.scope, event):
            return
        await self.disconnect(CLOSE_SESSION_ENDED)
        await self.close(code=CLOSE_SESSION_ENDED)

    def _entry(self) -> dict[str, Any]:
        return {
            "id": self.public_id,
            "user_id": self.user_id,
            "name": self.name,
            "state": "writing" if time.monotonic() < self.writing_until else "viewing",
            "box": self.box,
        }

    async def _broadcast(self, kind: str) -> None:
        assert self.ticket_id is not None
        await self.channel_layer.group_send(
            presence_group(self.ticket_id),
            {"type": kind, "sender": self.channel_name, "entry": self._entry()},
        )

    async def _still_allowed(self) -> bool:
        """Check access again; on loss leave the group, tell the others and close."""
        user = self.scope["user"]
        try:
            await database_sync_to_async(user.refresh_from_db)()
        except ObjectDoesNotExist:  # the account was deleted
            ticket_id = None
        else:
            ticket_id = await database_sync_to_async(staff_ticket_id)(
                user, self.shop_slug, self.number
            )
        self.checked_at = time.monotonic()
        if ticket_id is not None and ticket_id == self.ticket_id:
            return True
        await self.disconnect(CLOSE_DENIED)
        await self.close(code=CLOSE_DENIED)
        return False

    async def _allowed_now(self) -> bool:
        if self.ticket_id is None:
            return False
        if time.monotonic() - self.checked_at < RECHECK_SECONDS:
            return True
        return await self._still_allowed()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.ticket_id is None:
            return
        if text_data is None or frame_too_big(text_data, MAX_FRAME_BYTES):
            await self.disconnect(CLOSE_TOO_BIG)
            await self.close(code=CLOSE_TOO_BIG)
            return
        frame = json_object(text_data)
        if frame is None:
            return
        now = time.monotonic()
        if frame.get("type") == "ping":
            if now - self.last_ping < PING_MIN_INTERVAL_SECONDS:
                return
            self.last_ping = now
            if await self._still_allowed():
                await self.send(text_data=json.dumps({"type": "pong"}))
                await self._broadcast("presence.state")
        elif frame.get("type") == "typing" and frame.get("box") in BOXES:
            if now - self.last_typing < TYPING_MIN_INTERVAL_SECONDS:
                return
            self.last_typing = now
            if not await self._allowed_now():
                return
            self.writing_until, self.box = now + WRITING_SECONDS, str(frame["box"])
            await self._broadcast("presence.state")

    async def _forward(self, entry: dict[str, Any]) -> None:
        if entry.get("user_id") == self.user_id:
            return
        await self.send(text_data=json.dumps({"type": "presence", **entry}, ensure_ascii=False))

    async def presence_hello(self, event: dict[str, Any]) -> None:
        if event["sender"] == self.channel_name or not await self._allowed_now():
            return
        await self._forward(event["entry"])
        await self.channel_layer.send(
            event["sender"],
            {"type": "presence.state", "sender": self.channel_name, "entry": self._entry()},
        )

    async def presence_state(self, event: dict[str, Any]) -> None:
        if event["sender"] == self.channel_name or not await self._allowed_now():
            return
        await self._forward(event["entry"])

    async def stream_gap(self, event: dict[str, Any]) -> None:
        """The layer dropped events for this socket: ask every member for its state again.

        Presence is state, not a stream: nothing is stored to replay, so the catch-up is a new
        `hello`, which every member answers with its state, as after a reconnect.
        """
        if self.ticket_id is not None and await self._allowed_now():
            logger.info("presence: socket asks again after a gap")
            await self._broadcast("presence.hello")

    async def presence_leave(self, event: dict[str, Any]) -> None:
        if event["sender"] == self.channel_name or self.ticket_id is None:
            return
        await self.send(text_data=json.dumps({"type": "leave", "id": event["id"]}))
