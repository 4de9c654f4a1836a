"""Websocket keepalive pings for thousands of sockets from one timer (issue 19, ADR 0026).

uvicorn's sans-I/O websocket protocol schedules each socket's next ping with its own
`loop.call_later`: a timer handle, its libuv timer, a bound method and a copy of the context,
all alive for the ping interval (20 s). At 5,000 sockets that was 20,000 objects at any moment,
each created young and surviving into the collector's oldest generation: with the pong each
socket's parser keeps, they were two fifths of what a middle-generation collection walked (75-95
ms pauses), and their promotion counted towards the next full collection (0.6-0.8 s).

`KeepaliveWebSocketProtocol` keeps uvicorn's keepalive (ping every `ws_ping_interval`, close
the socket when no pong comes within `ws_ping_timeout`) but hands the waiting to `Pinger`: one
per event loop, a queue of sockets in the order they are due and one timer for the earliest,
firing at most once a `TICK` seconds (a quarter of the interval if shorter). A ping may go out
up to that late.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

# Due pings are sent together at most this often (seconds), or four times an interval.
TICK = 1.0


class Pinger:
    """The due times of one loop's sockets' next pings, and one timer for the earliest."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        # Two queues of plain values, not one of tuples: nothing per socket for the collector.
        self.due_at: deque[float] = deque()
        self.sockets: deque[KeepaliveWebSocketProtocol] = deque()
        self.timer: asyncio.TimerHandle | None = None
        self.last_fired = float("-inf")
        self.tick = TICK

    def add(self, socket: KeepaliveWebSocketProtocol, interval: float) -> None:
        """Ping `socket` in `interval` seconds (sockets are added in due order: same interval)."""
        self.tick = min(TICK, interval / 4)
        self.due_at.append(self.loop.time() + interval)
        self.sockets.append(socket)
        if self.timer is None:
            self._arm()

    def _arm(self) -> None:
        self.timer = self.loop.call_at(max(self.due_at[0], self.last_fired + self.tick), self._fire)

    def _fire(self) -> None:
        self.timer = None
        self.last_fired = now = self.loop.time()
        while self.due_at and self.due_at[0] <= now:
            self.due_at.popleft()
            self.sockets.popleft().ping_when_due()
        if self.due_at:
            self._arm()


_pingers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pinger] = weakref.WeakKeyDictionary()


def pinger_for(loop: asyncio.AbstractEventLoop) -> Pinger:
    pinger = _pingers.get(loop)
    if pinger is None:
        pinger = _pingers[loop] = Pinger(loop)
    return pinger


class KeepaliveWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol; its keepalive pings are timed by `Pinger`."""

    ping_scheduled = False
    keepalive_stopped = False

    def schedule_ping(self) -> None:
        if self.ping_scheduled or self.keepalive_stopped or not self.ping_interval:
            return
        self.ping_scheduled = True
        pinger_for(self.loop).add(self, self.ping_interval)

    def ping_when_due(self) -> None:
        self.ping_scheduled = False
        if not self.keepalive_stopped:
            self.send_keepalive_ping()  # returns at once on a closing socket

    def stop_keepalive(self) -> None:
        self.keepalive_stopped = True  # its entry in the pinger's queue is skipped when due
        super().stop_keepalive()
