"""Caps on the visitors' open chat sockets, per conversation (its token) and per client address.

The count lives in the database (`VisitorSocket`), so every process of a deployment sees the
same numbers: a socket is written first and then counted with the others, and refused (its row
removed) when it makes one too many; two sockets racing for the last place are then both
refused rather than both let in. Each process touches the rows of its open sockets every
SOCKET_HEARTBEAT_SECONDS; rows not touched for SOCKET_STALE_SECONDS (a process that died) no
longer count and are swept.

A closed socket's row is not deleted by its own disconnect: the name goes into `closer`, which
deletes the closed rows together (one DELETE per CLOSE_BATCH names, at the latest
CLOSE_FLUSH_SECONDS after a close), so 5,000 sockets closing at once cost a few statements
instead of 5,000 round trips through the threads of the chat's database work (`chat.db`).
A socket opening in this process deletes the rows still waiting first, so a close here never
holds back an open here; another process may count a closed row for up to CLOSE_FLUSH_SECONDS.
`serve` flushes what is left when the server stops; the rows of a process killed before that
age out like any other (SOCKET_STALE_SECONDS).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from madoguchi.connectors.chat.db import chat_database
from madoguchi.connectors.chat.models import ChatConversation, VisitorSocket
from madoguchi.tenancy.scoping import in_shop, unscoped

logger = logging.getLogger(__name__)

SOCKET_HEARTBEAT_SECONDS = 60.0
SOCKET_STALE_SECONDS = 180
TOUCH_BATCH = 500
CLOSE_BATCH = 500
CLOSE_FLUSH_SECONDS = 0.1

PER_CONVERSATION = "conversation"
PER_ADDRESS = "address"


def socket_caps() -> tuple[int, int]:
    """(open sockets per conversation, open sockets per client address), from settings."""
    return (
        int(getattr(settings, "CHAT_SOCKETS_PER_CONVERSATION", 5)),
        int(getattr(settings, "CHAT_SOCKETS_PER_ADDRESS", 100)),
    )


def _fresh_after(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=SOCKET_STALE_SECONDS)


def visitor_socket_open(
    *, conversation: ChatConversation, address: str | None, channel_name: str
) -> str | None:
    """Count the socket in; return which cap it would exceed (and leave it out), else None."""
    per_conversation, per_address = socket_caps()
    visitor_sockets_close(channel_names=closer.take())  # closed here: never counted against it
    now = timezone.now()
    fresh_after = _fresh_after(now)
    with in_shop(conversation.shop_id):
        VisitorSocket.objects.create(
            shop_id=conversation.shop_id,
            conversation=conversation,
            address=address or "",
            channel_name=channel_name,
            seen_at=now,
        )
        exceeded = None
        open_here = VisitorSocket.objects.filter(
            conversation=conversation, seen_at__gte=fresh_after
        ).count()
        if open_here > per_conversation:
            exceeded = PER_CONVERSATION
    if exceeded is None and address:
        with unscoped("chat: one client address's sockets are counted across shops"):
            from_address = VisitorSocket.objects.filter(
                address=address, seen_at__gte=fresh_after
            ).count()
        if from_address > per_address:
            exceeded = PER_ADDRESS
    if exceeded is not None:
        visitor_socket_close(channel_name=channel_name)
    return exceeded


def visitor_socket_close(*, channel_name: str) -> None:
    visitor_sockets_close(channel_names=[channel_name])


def visitor_sockets_close(*, channel_names: list[str]) -> None:
    """Delete the rows of closed sockets, CLOSE_BATCH names per statement."""
    with unscoped("chat: a socket's row is found by its channel name"):
        for start in range(0, len(channel_names), CLOSE_BATCH):
            batch = channel_names[start : start + CLOSE_BATCH]
            VisitorSocket.objects.filter(channel_name__in=batch).delete()


def visitor_sockets_touch(*, channel_names: list[str]) -> None:
    """Mark the sockets this process holds as alive; sweep the stale rows of dead processes."""
    now = timezone.now()
    with unscoped("chat: the sockets of this process, whatever their shop"):
        for start in range(0, len(channel_names), TOUCH_BATCH):
            batch = channel_names[start : start + TOUCH_BATCH]
            VisitorSocket.objects.filter(channel_name__in=batch).update(seen_at=now)
        VisitorSocket.objects.filter(seen_at__lt=_fresh_after(now)).delete()


@dataclass
class _Heartbeat:
    """The visitor sockets open in this process, and the task that keeps their rows fresh."""

    channel_names: set[str] = field(default_factory=set)
    task: asyncio.Task[None] | None = None

    def add(self, channel_name: str) -> None:
        self.channel_names.add(channel_name)
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.task = loop.create_task(self._run())

    def discard(self, channel_name: str) -> None:
        self.channel_names.discard(channel_name)

    async def _run(self) -> None:
        while self.channel_names:
            await asyncio.sleep(SOCKET_HEARTBEAT_SECONDS)
            try:
                await chat_database(visitor_sockets_touch)(channel_names=sorted(self.channel_names))
            except Exception:  # the next beat tries again; the sockets stay open
                logger.warning("chat: could not touch the visitor sockets", exc_info=True)


heartbeat = _Heartbeat()


class _Closer:
    """The sockets of this process closed since the last flush, whose rows are still to delete.

    Names are added on the event loop and taken by the flush task or by `visitor_socket_open`
    (in a thread of the chat's database pool, `chat.db`), hence the lock.
    """

    def __init__(self) -> None:
        self.channel_names: set[str] = set()
        self.lock = threading.Lock()
        self.task: asyncio.Task[None] | None = None
        self.wake: asyncio.Event | None = None

    def add(self, channel_name: str) -> None:
        heartbeat.discard(channel_name)
        with self.lock:
            self.channel_names.add(channel_name)
            full = len(self.channel_names) >= CLOSE_BATCH
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.wake = asyncio.Event()
            self.task = loop.create_task(self._run())
        if full and self.wake is not None:
            self.wake.set()

    def take(self) -> list[str]:
        with self.lock:
            taken, self.channel_names = self.channel_names, set()
        return sorted(taken)

    def flush(self) -> None:
        """Delete the rows waiting now (synchronous: the server's shutdown, tests)."""
        visitor_sockets_close(channel_names=self.take())

    async def _run(self) -> None:
        assert self.wake is not None
        wake = self.wake
        while self.channel_names:
            with contextlib.suppress(TimeoutError):  # a full batch cuts the wait short
                await asyncio.wait_for(wake.wait(), CLOSE_FLUSH_SECONDS)
            wake.clear()
            taken = self.take()
            try:
                await chat_database(visitor_sockets_close)(channel_names=taken)
            except Exception:  # kept for the next flush; stale rows age out in any case
                logger.warning("chat: could not delete closed visitor sockets", exc_info=True)
                with self.lock:
                    self.channel_names.update(taken)
                await asyncio.sleep(CLOSE_FLUSH_SECONDS)


closer = _Closer()
