"""Channel layers: the embedded in-process default and the Redis layer's connection settings.

`InProcessChannelLayer` replaces `channels.layers.InMemoryChannelLayer` (ADR 0017). Upstream's
layer walks every channel and group membership on each receive and group_send, and drops a
message for a full channel without a word. This one:

- costs O(1) per send and receive and O(group size) per group_send: expiry is checked on the
  channel being touched, and a heap keyed by each non-empty channel's oldest message sweeps the
  channels nobody reads any more (a consumer that died without `group_discard`);
- never drops silently: a message for a full channel (or one that expired unread) is replaced by
  one `{"type": "stream.gap", "dropped": n}` at the end of that channel's queue, and a warning is
  logged with the channel and group. The consumer answers a gap by resuming from its cursor
  (the messages are stored before they are pushed), so a full channel costs a catch-up;
- may be called from any thread and event loop (the embedded worker pushes through
  `async_to_sync` on a loop of its own): one lock guards the state, and a receiver waiting on
  another loop is woken with `call_soon_threadsafe`.

`redis_layer_config` gives channels_redis the connection settings a socket needs to live
indefinitely (see its docstring), and `RedisChannelLayer` a pool that waits for a free connection
instead of failing when thousands of sockets close at once, and the same promise as the
in-process layer: where channels_redis drops a group's message for a full channel (in Redis, or
in the process's receive buffer), the channels it was for get a `stream.gap` instead.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import heapq
import itertools
import logging
import secrets
import socket
import threading
import time
from collections import deque
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer
from channels_redis.core import (  # type: ignore[import-untyped]
    RedisChannelLayer as UpstreamRedisChannelLayer,
)
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

GAP_TYPE = "stream.gap"
# Messages a channel holds before a gap replaces them (channels' default is 100). An operator's
# socket gets every event of every shop it follows, and a few seconds of a busy event loop at
# 20 events a second filled 100; a message costs memory only while it waits.
CHANNEL_CAPACITY = 1000
# Channel names in a warning: enough to find them in the logs, not 5,000 of them.
LOGGED_CHANNELS = 5

Message = dict[str, Any]


@dataclass(eq=False)
class _Channel:
    """One channel's queue: (expires_at, message) in arrival order, so the oldest expires first."""

    name: str
    capacity: int
    queue: deque[tuple[float, Message]] = field(default_factory=deque)
    # Receivers waiting on an empty queue, oldest first, each with the loop it waits on.
    waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[Message]]] = field(
        default_factory=deque
    )
    # The gap marker at the end of the queue, while messages after it are being dropped.
    gap: Message | None = None
    is_scheduled: bool = False

    @property
    def held(self) -> int:
        """Messages in the queue, not counting a gap marker."""
        return len(self.queue) - (1 if self.gap is not None else 0)


class InProcessChannelLayer(BaseChannelLayer):
    """A channel layer for the sockets of one process (the embedded default); see the module."""

    extensions = ["groups", "flush"]

    def __init__(
        self,
        expiry: int = 60,
        group_expiry: int = 86400,
        capacity: int = CHANNEL_CAPACITY,
        channel_capacity: dict[str, int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity)
        self.channel_capacity = self.compile_capacities(channel_capacity or {})
        self.group_expiry = group_expiry
        self._lock = threading.Lock()
        self._channels: dict[str, _Channel] = {}
        self._groups: dict[str, dict[str, float]] = {}
        # (oldest message's expiry, tie-breaker, channel): one entry per non-empty channel.
        self._expiries: list[tuple[float, int, _Channel]] = []
        # (membership's expiry, tie-breaker, group, channel, joined_at); stale entries (a
        # membership discarded or renewed) are skipped when popped and compacted when they
        # outnumber the live memberships.
        self._memberships: list[tuple[float, int, str, str, float]] = []
        self._membership_count = 0
        self._counter = itertools.count()

    # Channel API

    async def new_channel(self, prefix: str = "specific") -> str:
        return f"{prefix}.inprocess!{secrets.token_urlsafe(12)}"

    async def send(self, channel: str, message: Message) -> None:
        """Queue `message` on `channel`; raise ChannelFull (after queueing a gap) when full."""
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        with self._lock:
            now = time.monotonic()
            self._sweep(now)
            outcome = self._deliver(channel, deepcopy(message), now)
        if outcome is False:
            logger.warning(
                "channel layer: %s is full; %s replaces the messages from now on",
                channel,
                GAP_TYPE,
            )
        if not outcome:
            raise ChannelFull(channel)

    async def receive(self, channel: str) -> Message:
        """Return the next message on `channel`, waiting for one."""
        self.require_valid_channel_name(channel)
        loop = asyncio.get_running_loop()
        with self._lock:
            now = time.monotonic()
            self._sweep(now)
            state = self._channel(channel)
            self._expire(state, now)
            if state.queue:
                return self._pop(state)
            future: asyncio.Future[Message] = loop.create_future()
            state.waiters.append((loop, future))
        try:
            return await future
        except asyncio.CancelledError:
            with self._lock:
                waiter = (loop, future)
                if waiter in state.waiters:
                    state.waiters.remove(waiter)
                    self._forget_if_idle(state)
                elif future.done() and not future.cancelled():
                    # Delivered just before the cancel: keep the message for the next receive.
                    current = self._channel(channel)
                    current.queue.appendleft((time.monotonic() + self.expiry, future.result()))
                    self._schedule(current)
            raise

    # Groups extension

    async def group_add(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        with self._lock:
            joined_at = time.monotonic()
            members = self._groups.setdefault(group, {})
            if channel not in members:
                self._membership_count += 1
            members[channel] = joined_at
            heapq.heappush(
                self._memberships,
                (joined_at + self.group_expiry, next(self._counter), group, channel, joined_at),
            )
            if len(self._memberships) > 2 * self._membership_count + 1000:
                self._compact_memberships()

    async def group_discard(self, group: str, channel: str) -> None:
        self.require_valid_channel_name(channel)
        self.require_valid_group_name(group)
        with self._lock:
            self._leave(group, channel)

    async def group_send(self, group: str, message: Message) -> None:
        """Deliver `message` to every channel of `group`; full channels get a gap (logged)."""
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        # One deep copy for the group; each channel gets its own top-level dict of it.
        shared = deepcopy(message)
        full: list[str] = []
        with self._lock:
            now = time.monotonic()
            self._sweep(now)
            for channel in list(self._groups.get(group, ())):
                if self._deliver(channel, dict(shared), now) is False:
                    full.append(channel)
        if full:
            logger.warning(
                "channel layer: %d channel(s) of group %s are full; %s replaces the messages "
                "for them from now on: %s",
                len(full),
                group,
                GAP_TYPE,
                ", ".join(full[:LOGGED_CHANNELS]),
            )

    # Flush extension

    async def flush(self) -> None:
        with self._lock:
            # Messages and groups go; a receiver waiting now keeps waiting for the next send.
            self._channels = {
                name: _Channel(name=name, capacity=state.capacity, waiters=state.waiters)
                for name, state in self._channels.items()
                if state.waiters
            }
            self._groups = {}
            self._expiries = []
            self._memberships = []
            self._membership_count = 0

    async def close(self) -> None:
        """Nothing to release: the state lives and dies with the process."""

    # Inspection (tests, the benchmark)

    @property
    def groups(self) -> dict[str, dict[str, float]]:
        """The group memberships (group -> channel -> joined at), as upstream's layer names them.

        For reading only: tests look a socket's channel up here.
        """
        return self._groups

    def stats(self) -> dict[str, int]:
        """Return how many channels, queued messages, groups and memberships are held."""
        with self._lock:
            return {
                "channels": len(self._channels),
                "messages": sum(len(state.queue) for state in self._channels.values()),
                "groups": len(self._groups),
                "memberships": self._membership_count,
            }

    # Internals; every one runs under self._lock.

    def _channel(self, name: str) -> _Channel:
        state = self._channels.get(name)
        if state is None:
            state = _Channel(name=name, capacity=self.get_capacity(name))
            self._channels[name] = state
        return state

    def _deliver(self, name: str, message: Message, now: float) -> bool | None:
        """Hand `message` to a waiting receiver or queue it.

        Return True when delivered or queued; False when it opened a gap on a full channel
        (to be logged), None when it only counted into a gap already open (logged when opened).
        """
        state = self._channel(name)
        while state.waiters:
            loop, future = state.waiters.popleft()
            if future.done():
                continue
            self._wake(loop, future, message, state)
            self._forget_if_idle(state)
            return True
        self._expire(state, now)
        if state.gap is None and state.held < state.capacity:
            state.queue.append((now + self.expiry, message))
            self._schedule(state)
            return True
        is_open = state.gap is not None
        self._mark_gap(state, now, dropped=1)
        return None if is_open else False

    def _wake(
        self,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Message],
        message: Message,
        state: _Channel,
    ) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            future.set_result(message)
            return

        def resolve() -> None:
            if not future.done():
                future.set_result(message)
                return
            # The receiver was cancelled meanwhile: the message goes back to the front.
            with self._lock:
                current = self._channel(state.name)
                current.queue.appendleft((time.monotonic() + self.expiry, message))
                self._schedule(current)

        try:
            loop.call_soon_threadsafe(resolve)
        except RuntimeError:  # the receiver's loop is closed: nobody will read this channel
            logger.warning("channel layer: the receiver of %s has gone", state.name)

    def _mark_gap(self, state: _Channel, now: float, *, dropped: int) -> None:
        """Count `dropped` messages into the channel's gap marker, appending one if needed."""
        if state.gap is None:
            state.gap = {"type": GAP_TYPE, "dropped": 0}
            state.queue.append((now + self.expiry, state.gap))
            self._schedule(state)
        state.gap["dropped"] += dropped

    def _pop(self, state: _Channel) -> Message:
        _expires_at, message = state.queue.popleft()
        if message is state.gap:
            state.gap = None
        self._forget_if_idle(state)
        return message

    def _expire(self, state: _Channel, now: float) -> None:
        """Drop the channel's expired messages; unread ones become a gap, an expired gap goes."""
        expired = 0
        while state.queue and state.queue[0][0] <= now:
            _expires_at, message = state.queue.popleft()
            if message is state.gap:
                state.gap = None
            else:
                expired += 1
        if expired:
            logger.warning(
                "channel layer: %d message(s) on %s expired unread; replaced by %s",
                expired,
                state.name,
                GAP_TYPE,
            )
            self._mark_gap(state, now, dropped=expired)

    def _schedule(self, state: _Channel) -> None:
        if not state.is_scheduled and state.queue:
            state.is_scheduled = True
            heapq.heappush(self._expiries, (state.queue[0][0], next(self._counter), state))

    def _forget_if_idle(self, state: _Channel) -> None:
        if not state.queue and not state.waiters and self._channels.get(state.name) is state:
            del self._channels[state.name]

    def _sweep(self, now: float) -> None:
        """Expire what is due: messages of channels nobody reads, then group memberships."""
        while self._expiries and self._expiries[0][0] <= now:
            _due, _tie, state = heapq.heappop(self._expiries)
            state.is_scheduled = False
            if self._channels.get(state.name) is not state:
                continue
            self._expire(state, now)
            self._schedule(state)
            self._forget_if_idle(state)
        while self._memberships and self._memberships[0][0] <= now:
            _due, _tie, group, channel, joined_at = heapq.heappop(self._memberships)
            if self._groups.get(group, {}).get(channel) == joined_at:
                self._leave(group, channel)

    def _leave(self, group: str, channel: str) -> None:
        members = self._groups.get(group)
        if members is None or channel not in members:
            return
        del members[channel]
        self._membership_count -= 1
        if not members:
            del self._groups[group]

    def _compact_memberships(self) -> None:
        self._memberships = [
            entry
            for entry in self._memberships
            if self._groups.get(entry[2], {}).get(entry[3]) == entry[4]
        ]
        heapq.heapify(self._memberships)


# Redis

# channels_redis blocks in BZPOPMIN for `brpop_timeout` (5 s) per read; redis-py 8 reads with a
# 5 s socket timeout by default, so an idle socket's read timed out as the pop ended and the
# consumer died (redis/redis-py#4091, django/channels_redis#422). The read timeout sits above
# the pop's, so a dead server is still noticed.
REDIS_SOCKET_TIMEOUT_SECONDS = 15.0
# Every group_add and group_discard borrows a connection for one round trip; a mass disconnect
# borrows thousands at once. The pool waits this long for a free one rather than failing.
REDIS_POOL_TIMEOUT_SECONDS = 10.0
# 5,000 sockets closing at once keep the event loop so busy that a new connection's handshake
# took over 5 s; a membership left behind lives for a day, so leaving a group is retried.
REDIS_CONNECT_TIMEOUT_SECONDS = 15.0
GROUP_DISCARD_ATTEMPTS = 4
# The pump pops up to this many of the process's messages per round trip when they queue up.
PUMP_BATCH = 100
# After a failed read (Redis restarting), the pump tries again this much later.
PUMP_RETRY_SECONDS = 1.0
# The pump's connection has no read timeout: the kernel probes it after 10 s idle, every 5 s,
# and gives up after 3 unanswered probes.
PUMP_KEEPALIVE = {
    option: value
    for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
    if (option := getattr(socket, name, None)) is not None  # Linux names them all
}


def redis_layer_config(url: str, *, max_connections: int) -> dict[str, Any]:
    """Return the channels_redis CONFIG for `url` (see REDIS_SOCKET_TIMEOUT_SECONDS)."""
    return {
        "hosts": [
            {
                "address": url,
                "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS,
                "socket_keepalive": True,
                "health_check_interval": 30,
                "max_connections": max_connections,
            }
        ],
        "capacity": CHANNEL_CAPACITY,
    }


# channels_redis's group_send script, except that it returns which channel keys were full (their
# 1-based positions in KEYS) instead of how many. KEYS are the channel keys; ARGV holds the
# message of each key, the capacity of each key, then the time and the expiry.
_GROUP_SEND_LUA = """
local count = #KEYS
local current_time = ARGV[2 * count + 1]
local expiry = ARGV[2 * count + 2]
local full = {}
for i = 1, count do
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[count + i]) then
        redis.call('ZADD', KEYS[i], current_time, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        full[#full + 1] = i
    end
end
return full
"""


class _GapQueue(asyncio.Queue[Message]):
    """A channel's receive buffer in the process: when full, a gap replaces the newest message.

    channels_redis's `BoundedQueue` drops the oldest message without a word when a consumer
    stops reading its channel while the process keeps receiving for it.
    """

    def put_nowait(self, item: Message) -> None:
        if not self.full():
            super().put_nowait(item)
            return
        # `_queue` is the deque asyncio.Queue's own subclasses (LifoQueue...) work on.
        queue: deque[Message] = self._queue  # type: ignore[attr-defined]
        last = queue[-1]
        if last.get("type") == GAP_TYPE:  # a new dict: a marker from Redis is shared
            queue[-1] = {"type": GAP_TYPE, "dropped": int(last.get("dropped", 1)) + 1}
            return
        queue[-1] = {"type": GAP_TYPE, "dropped": 2}  # the newest one and this one
        logger.warning(
            "channel layer: a receive buffer is full; %s replaces its messages", GAP_TYPE
        )


class RedisChannelLayer(UpstreamRedisChannelLayer):
    """channels_redis with a pool that waits for a free connection, and no silent drop.

    redis-py's asyncio `ConnectionPool` raises MaxConnectionsError once `max_connections` are
    borrowed, so 5,000 sockets closing at once failed their `group_discard` and left their
    memberships in Redis. A `BlockingConnectionPool` queues them behind the pool's connections.

    channels_redis's `group_send` skips a full channel key with an INFO log; all the sockets of
    one process share one key, so a process that falls behind by `capacity` messages lost the
    next ones for all of its sockets. Here the channels of a skipped message get a `stream.gap`
    (their consumers replay from the database, ADR 0018), and so does a channel whose receive
    buffer in the process overflows. Messages that expire unread (a process that read nothing
    for `expiry` seconds) are still removed without a gap.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.receive_buffer: collections.defaultdict[str, _GapQueue] = collections.defaultdict(
            functools.partial(_GapQueue, self.capacity)
        )
        # The process's channels whose consumer reads them: receive() was called and not
        # cancelled (a consumer between two messages is still here).
        self._readers: set[str] = set()
        self._pump: asyncio.Task[None] | None = None

    # Receiving: one task per process reads Redis for every channel of the process.

    async def receive(self, channel: str) -> Message:
        """Return the next message on `channel`, waiting for one.

        channels_redis makes the waiting consumers take turns as the process's reader: each
        waiting receive holds two tasks (the reader's lock and its buffer), and each message
        costs four round trips to Redis (restore the in-flight backup, pop, back it up, clear
        the backup) plus a hand-over of the lock through the event loop. With 5,000 sockets that
        serial chain was the p99. Here one task per process (`_pump_run`) pops the process's
        messages and puts them in the channels' buffers; a waiting receive is a wait on its
        buffer. A message popped but not yet handed over is lost only if the process dies,
        which ends its sockets too: they reconnect and replay from their cursors (ADR 0018).
        """
        if "!" not in channel:
            message: Message = await super().receive(channel)
            return message
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        process_channel = self.non_local_name(channel)
        assert process_channel.endswith(self.client_prefix + "!"), "Wrong client prefix"
        self._pump_start(process_channel)
        self._readers.add(channel)
        buffer = self._buffer(channel)
        try:
            message = await buffer.get()
        except asyncio.CancelledError:
            # The consumer ended (or a caller stopped waiting): its buffer stays for a later
            # receive until the pump sweeps it; with no reader left, the pump stops.
            self._readers.discard(channel)
            if not self._readers:
                self._pump_stop()
            raise
        if buffer.empty() and self.receive_buffer.get(channel) is buffer:
            del self.receive_buffer[channel]
        return message

    def _buffer(self, channel: str) -> _GapQueue:
        """The channel's buffer, usable on the running loop (a queue that waited on a loop
        that has ended is replaced, its messages kept)."""
        buffer = self.receive_buffer[channel]
        bound = getattr(buffer, "_loop", None)
        if bound is not None and bound is not asyncio.get_running_loop():
            fresh = _GapQueue(self.capacity)
            while not buffer.empty():
                fresh.put_nowait(buffer.get_nowait())
            buffer = self.receive_buffer[channel] = fresh
        return buffer

    def _pump_start(self, process_channel: str) -> None:
        if self._pump is not None and not self._pump.done():
            if self._pump.get_loop() is asyncio.get_running_loop():
                return
            if not self._pump.get_loop().is_closed():
                raise RuntimeError("Two event loops are trying to receive() on one channel layer")
        self._pump = asyncio.get_running_loop().create_task(
            self._pump_run(process_channel), name="madoguchi-channel-layer-pump"
        )

    def _pump_stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None

    def _pump_connection(self, index: int) -> tuple[aioredis.Redis, bool]:
        """The pump's own connection to Redis, and whether the pump closes it.

        Without a read timeout: with one, redis-py reads inside `asyncio.timeout`, and on
        Python 3.11 a cancel that lands while a pop is being read was sometimes swallowed, so the
        cancelled pump went on popping (reproduced with redis-py alone). TCP keepalive notices a
        Redis server that vanished instead (PUMP_KEEPALIVE)."""
        host = dict(self.hosts[index])
        if "address" not in host:
            return self.connection(index), False
        address = host.pop("address")
        host.pop("max_connections", None)
        host.update(
            socket_timeout=None,
            socket_keepalive=True,
            socket_keepalive_options=PUMP_KEEPALIVE,
            single_connection_client=True,
        )
        return aioredis.Redis.from_url(address, **host), True

    async def _pump_run(self, process_channel: str) -> None:
        """Pop the process's messages from Redis and hand each to its channels' buffers."""
        key = self.prefix + process_channel
        connection, is_own = self._pump_connection(self.consistent_hash(process_channel))
        try:
            await self._pump_loop(connection, key)
        finally:
            if is_own:
                await connection.aclose()

    async def _pump_loop(self, connection: aioredis.Redis, key: str) -> None:
        swept_at = time.monotonic()
        while True:
            try:
                # (key, member, score) or None; [(member, score), ...] below.
                popped: Any = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                if popped is not None:
                    self._hand_over(popped[1])
                    # What arrived meanwhile, a batch per round trip.
                    while True:
                        batch: Any = await connection.zpopmin(key, PUMP_BATCH)
                        for member, _score in batch:
                            self._hand_over(member)
                        if len(batch) < PUMP_BATCH:
                            break
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("channel layer: reading %s from Redis failed; retrying", key)
                await asyncio.sleep(PUMP_RETRY_SECONDS)
            if time.monotonic() - swept_at >= self.expiry:
                swept_at = time.monotonic()
                self._sweep_buffers()

    def _hand_over(self, member: bytes) -> None:
        message = self.deserialize(member)
        channels = message.pop("__asgi_channel__", None)
        if isinstance(channels, str):
            self.receive_buffer[channels].put_nowait(message)
        elif isinstance(channels, list):
            for channel in channels:  # each its own top-level dict, as the in-process layer
                self.receive_buffer[channel].put_nowait(dict(message))

    def _sweep_buffers(self) -> None:
        """Forget the buffers of channels nobody reads (a consumer that ended, or never read)."""
        abandoned = [name for name in self.receive_buffer if name not in self._readers]
        dropped = 0
        for name in abandoned:
            dropped += self.receive_buffer.pop(name).qsize()
        if dropped:
            logger.info(
                "channel layer: dropped %d message(s) of %d channel(s) nobody reads",
                dropped,
                len(abandoned),
            )

    async def close_pools(self) -> None:
        """Stop the pump, then close the connections (channels_redis)."""
        pump, self._pump = self._pump, None
        if pump is not None and not pump.done():
            pump.cancel()
            if pump.get_loop() is asyncio.get_running_loop():
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
        await super().close_pools()

    def _gap_marker(self, channels: list[str]) -> bytes:
        """The serialized gap for `channels`: the same bytes for the same channels."""
        serializer = self._serializer
        body = serializer.as_bytes({"type": GAP_TYPE, "__asgi_channel__": channels})
        if serializer.crypter:
            body = serializer.crypter.encrypt(body)  # not repeatable: one marker per drop
        return bytes(serializer.random_prefix_length) + bytes(body)

    async def group_send(self, group: str, message: Message) -> None:
        """Send `message` to every channel of `group`; a full channel key gets a gap (logged).

        Two round trips to Redis where channels_redis takes four: the group's expired members
        go and its members are read in one pipeline, the channel keys' expired messages go and
        the message is added in another."""
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        pipe = connection.pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        pipe.zrange(key, 0, -1)
        _removed, names = await pipe.execute()
        channel_names = [name.decode("utf8") for name in names]
        if not channel_names:
            return
        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channel_names, message
        )
        members: dict[str, list[str]] = collections.defaultdict(list)  # channel key -> channels
        for channel in channel_names:
            local = self.non_local_name(channel) if "!" in channel else channel
            members[self.prefix + local].append(channel)
        for index, channel_keys in by_connection.items():
            connection = self.connection(index)
            pipe = connection.pipeline(transaction=False)
            for channel_key in channel_keys:
                pipe.zremrangebyscore(channel_key, min=0, max=int(time.time()) - int(self.expiry))
            pipe.eval(
                _GROUP_SEND_LUA,
                len(channel_keys),
                *channel_keys,
                *(messages[channel_key] for channel_key in channel_keys),
                *(capacities[channel_key] for channel_key in channel_keys),
                time.time(),
                self.expiry,
            )
            full = (await pipe.execute())[-1]
            if not full:
                continue
            # Past the capacity by one marker per group at most: the marker's bytes are the
            # same for the same channels, so a stalled process collects one per group whose
            # messages it missed (ZADD moves it to the end), not one per message.
            pipe = connection.pipeline()
            for position in full:
                channel_key = channel_keys[int(position) - 1]
                pipe.zadd(channel_key, {self._gap_marker(members[channel_key]): time.time()})
                pipe.expire(channel_key, int(self.expiry))
            await pipe.execute()
            logger.warning(
                "channel layer: %d of %d channel key(s) full in group %s; %s sent instead",
                len(full),
                len(channel_keys),
                group,
                GAP_TYPE,
            )

    async def group_discard(self, group: str, channel: str) -> None:
        """Leave `group`, retrying when Redis could not be reached (ZREM is idempotent)."""
        for attempt in range(1, GROUP_DISCARD_ATTEMPTS + 1):
            try:
                await super().group_discard(group, channel)
                return
            except (RedisConnectionError, RedisTimeoutError):
                if attempt == GROUP_DISCARD_ATTEMPTS:
                    logger.warning(
                        "channel layer: %s could not leave %s in Redis; the membership expires "
                        "after %d s",
                        channel,
                        group,
                        self.group_expiry,
                        exc_info=True,
                    )
                    raise
                await asyncio.sleep(0.5 * attempt)

    def create_pool(self, index: int) -> aioredis.ConnectionPool:
        host = dict(self.hosts[index])
        if "address" not in host:
            pool: aioredis.ConnectionPool = super().create_pool(index)
            return pool
        address = host.pop("address")
        return aioredis.BlockingConnectionPool.from_url(
            address, timeout=REDIS_POOL_TIMEOUT_SECONDS, **host
        )
