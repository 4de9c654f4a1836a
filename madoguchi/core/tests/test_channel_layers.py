"""The embedded channel layer (no scan per operation, no silent drop) and the Redis layer."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from redis import asyncio as aioredis
from redis.exceptions import MaxConnectionsError

from madoguchi.core.channel_layers import (
    GAP_TYPE,
    InProcessChannelLayer,
    RedisChannelLayer,
    redis_layer_config,
)

REDIS_URL = "redis://127.0.0.1:6379/3"


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# --- the in-process layer ----------------------------------------------------------------------


def test_messages_arrive_in_order_and_a_waiting_receiver_is_woken() -> None:
    layer = InProcessChannelLayer()

    async def scenario() -> list[Any]:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "a", "n": 1})
        await layer.send(channel, {"type": "a", "n": 2})
        first = await layer.receive(channel)
        second = await layer.receive(channel)
        waiting = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0)
        await layer.send(channel, {"type": "a", "n": 3})
        third = await asyncio.wait_for(waiting, 1)
        return [first["n"], second["n"], third["n"], layer.stats()]

    assert run(scenario()) == [
        1,
        2,
        3,
        {"channels": 0, "messages": 0, "groups": 0, "memberships": 0},
    ]


def test_a_full_channel_gets_one_gap_counting_every_dropped_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    layer = InProcessChannelLayer(channel_capacity={"slow.*": 3})

    async def scenario() -> list[dict[str, Any]]:
        full, other = await layer.new_channel("slow"), await layer.new_channel()
        await layer.group_add("chat.operators.7", full)
        await layer.group_add("chat.operators.7", other)
        for n in range(3):
            await layer.send(full, {"type": "direct", "n": n})
        for n in range(5):
            await layer.group_send("chat.operators.7", {"type": "event", "n": n})
        received = [await layer.receive(full) for _ in range(4)]
        # After the gap the channel takes messages again.
        await layer.group_send("chat.operators.7", {"type": "event", "n": 5})
        received.append(await layer.receive(full))
        received.extend([await layer.receive(other) for _ in range(6)])
        return received

    with caplog.at_level(logging.WARNING, logger="madoguchi.core.channel_layers"):
        received = run(scenario())
    assert received[:5] == [
        {"type": "direct", "n": 0},
        {"type": "direct", "n": 1},
        {"type": "direct", "n": 2},
        {"type": GAP_TYPE, "dropped": 5},
        {"type": "event", "n": 5},
    ]
    assert [message["n"] for message in received[5:]] == [0, 1, 2, 3, 4, 5]
    # One warning when the gap opened, naming the group and the channel; not one per drop.
    (warning,) = [record.getMessage() for record in caplog.records]
    assert "1 channel(s) of group chat.operators.7 are full" in warning
    assert GAP_TYPE in warning
    assert "slow.inprocess!" in warning


def test_send_to_a_full_channel_raises_and_leaves_a_gap() -> None:
    layer = InProcessChannelLayer(capacity=1)

    async def scenario() -> list[dict[str, Any]]:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "a"})
        with pytest.raises(ChannelFull):
            await layer.send(channel, {"type": "b"})
        return [await layer.receive(channel), await layer.receive(channel)]

    assert run(scenario()) == [{"type": "a"}, {"type": GAP_TYPE, "dropped": 1}]


def test_unread_messages_expire_into_a_gap_and_an_abandoned_channel_is_swept() -> None:
    layer = InProcessChannelLayer(expiry=0.2)  # type: ignore[arg-type]

    async def scenario() -> list[Any]:
        abandoned, reader = await layer.new_channel(), await layer.new_channel()
        await layer.send(abandoned, {"type": "a"})
        await layer.send(abandoned, {"type": "b"})
        await asyncio.sleep(0.25)
        # Any operation sweeps what is due: the two messages become one gap.
        await layer.send(reader, {"type": "c"})
        after_expiry = layer.stats()
        gap = await layer.receive(abandoned)
        assert await layer.receive(reader) == {"type": "c"}
        await layer.send(abandoned, {"type": "d"})
        await asyncio.sleep(0.25)
        await layer.send(reader, {"type": "e"})
        assert await layer.receive(reader) == {"type": "e"}
        await asyncio.sleep(0.25)
        await layer.send(reader, {"type": "f"})
        return [after_expiry, gap, layer.stats()]

    after_expiry, gap, final = run(scenario())
    assert after_expiry == {"channels": 2, "messages": 2, "groups": 0, "memberships": 0}
    assert gap == {"type": GAP_TYPE, "dropped": 2}
    # The abandoned channel's message became a gap, then the gap expired: only `reader` stays.
    assert final == {"channels": 1, "messages": 1, "groups": 0, "memberships": 0}


def test_flush_forgets_messages_and_groups_but_not_a_waiting_receiver() -> None:
    layer = InProcessChannelLayer()

    async def scenario() -> list[Any]:
        queued, waiting_on = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("chat.visitors.1", queued)
        await layer.send(queued, {"type": "old"})
        waiting = asyncio.create_task(layer.receive(waiting_on))
        await asyncio.sleep(0)
        await layer.flush()
        flushed = layer.stats()
        await layer.send(waiting_on, {"type": "new"})
        return [flushed, await asyncio.wait_for(waiting, 1)]

    assert run(scenario()) == [
        {"channels": 1, "messages": 0, "groups": 0, "memberships": 0},
        {"type": "new"},
    ]


def test_group_memberships_expire() -> None:
    layer = InProcessChannelLayer(group_expiry=0.1)  # type: ignore[arg-type]

    async def scenario() -> list[dict[str, int]]:
        channel = await layer.new_channel()
        await layer.group_add("chat.visitors.1", channel)
        joined = layer.stats()
        await asyncio.sleep(0.15)
        await layer.group_send("chat.visitors.1", {"type": "x"})
        return [joined, layer.stats()]

    joined, expired = run(scenario())
    assert (joined["groups"], joined["memberships"]) == (1, 1)
    assert expired == {"channels": 0, "messages": 0, "groups": 0, "memberships": 0}


def test_a_discarded_and_rejoined_membership_keeps_the_heap_bounded() -> None:
    layer = InProcessChannelLayer()

    async def scenario() -> int:
        channel = await layer.new_channel()
        for _ in range(5000):
            await layer.group_add("chat.visitors.1", channel)
            await layer.group_discard("chat.visitors.1", channel)
        await layer.group_add("chat.visitors.1", channel)
        return len(layer._memberships)

    assert run(scenario()) <= 1003


def test_a_receiver_on_one_loop_is_woken_by_a_sender_on_another_thread() -> None:
    layer = InProcessChannelLayer()

    async def scenario() -> dict[str, Any]:
        channel = await layer.new_channel()
        await layer.group_add("chat.conversation.9", channel)
        waiting = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0)

        def worker() -> None:  # like the embedded worker's push(): its own event loop
            async_to_sync(layer.group_send)("chat.conversation.9", {"type": "chat.message"})

        thread = threading.Thread(target=worker)
        thread.start()
        message = await asyncio.wait_for(waiting, 2)
        thread.join()
        return message

    assert run(scenario()) == {"type": "chat.message"}


def test_a_cancelled_receive_loses_no_message() -> None:
    layer = InProcessChannelLayer()

    async def scenario() -> dict[str, Any]:
        channel = await layer.new_channel()
        waiting = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0)
        await layer.send(channel, {"type": "kept"})  # resolves the waiter...
        waiting.cancel()  # ...which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return await asyncio.wait_for(layer.receive(channel), 1)

    assert run(scenario()) == {"type": "kept"}


def test_group_send_costs_the_group_not_every_channel_of_the_process() -> None:
    """20,000 idle sockets: upstream's scan made each small group_send walk all of them."""
    layer = InProcessChannelLayer()

    async def scenario() -> float:
        for shop in range(20):
            for _ in range(1000):
                channel = await layer.new_channel()
                await layer.group_add(f"chat.visitors.{shop}", channel)
                await layer.send(channel, {"type": "chat.presence"})
        pair = [await layer.new_channel(), await layer.new_channel()]
        for channel in pair:
            await layer.group_add("chat.conversation.1", channel)
        started = time.perf_counter()
        for n in range(1000):
            await layer.group_send("chat.conversation.1", {"type": "chat.message", "n": n})
            for channel in pair:
                await layer.receive(channel)
        return time.perf_counter() - started

    # Milliseconds here; channels.layers.InMemoryChannelLayer took 15 s for 50 of these rounds.
    assert run(scenario()) < 1.0


# --- the Redis layer ---------------------------------------------------------------------------


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


requires_redis = pytest.mark.skipif(
    not _redis_up(), reason="Redis is not reachable on 127.0.0.1:6379 (fails under CI=true)"
)


def redis_layer(prefix: str, *, max_connections: int = 200) -> RedisChannelLayer:
    return RedisChannelLayer(
        prefix=prefix, **redis_layer_config(REDIS_URL, max_connections=max_connections)
    )


async def _keys(prefix: str) -> list[bytes]:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        return [key async for key in client.scan_iter(match=f"{prefix}*")]
    finally:
        await client.aclose()


def test_with_redis_url_the_settings_use_the_configured_redis_layer() -> None:
    code = (
        "import json; from madoguchi.config.settings import base; "
        "print(json.dumps(base.CHANNEL_LAYERS['default']))"
    )
    environment = {**os.environ, "REDIS_URL": REDIS_URL, "REDIS_MAX_CONNECTIONS": "300"}
    output = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    ).stdout
    layer = json.loads(output.strip().splitlines()[-1])
    assert layer["BACKEND"] == "madoguchi.core.channel_layers.RedisChannelLayer"
    (host,) = layer["CONFIG"]["hosts"]
    assert (host["address"], host["max_connections"]) == (REDIS_URL, 300)
    assert host["socket_timeout"] > RedisChannelLayer.brpop_timeout


@requires_redis
def test_an_idle_redis_receiver_outlives_the_blocking_read_and_still_receives() -> None:
    prefix = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    layer = redis_layer(prefix)

    async def scenario() -> dict[str, Any]:
        channel = await layer.new_channel()
        waiting = asyncio.create_task(layer.receive(channel))
        # Longer than redis-py 8's default 5 s socket timeout and the 5 s BZPOPMIN.
        await asyncio.sleep(6.5)
        assert not waiting.done(), waiting
        await layer.send(channel, {"type": "chat.message", "text": "まだ届きます"})
        message: dict[str, Any] = await asyncio.wait_for(waiting, 5)
        await layer.flush()
        return message

    assert run(scenario()) == {"type": "chat.message", "text": "まだ届きます"}


@requires_redis
def test_waiting_redis_receivers_share_one_reader_and_each_gets_its_messages_in_order() -> None:
    """channels_redis gives every waiting receive two tasks and makes them take turns reading
    Redis; here one task per process reads for all of them."""
    prefix = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    layer = redis_layer(prefix)

    async def scenario() -> tuple[int, list[list[dict[str, Any]]]]:
        channels = [await layer.new_channel() for _ in range(200)]
        for number, channel in enumerate(channels):
            await layer.group_add("chat.visitors.1", channel)
            await layer.group_add(f"chat.conversation.{number}", channel)
        before = asyncio.all_tasks()

        async def read_two(channel: str) -> list[dict[str, Any]]:
            return [await layer.receive(channel), await layer.receive(channel)]

        readers = [asyncio.create_task(read_two(channel)) for channel in channels]
        await asyncio.sleep(0.2)
        layer_tasks = len(asyncio.all_tasks() - before - set(readers))
        await layer.group_send("chat.visitors.1", {"type": "chat.presence", "n": 1})
        await asyncio.gather(
            *(
                layer.group_send(f"chat.conversation.{number}", {"type": "chat.message", "n": 2})
                for number in range(len(channels))
            )
        )
        received = await asyncio.wait_for(asyncio.gather(*readers), 10)
        await layer.flush()
        return layer_tasks, received

    layer_tasks, received = run(scenario())
    assert layer_tasks == 1
    assert received == [[{"type": "chat.presence", "n": 1}, {"type": "chat.message", "n": 2}]] * 200


@requires_redis
def test_the_reader_stops_with_the_last_receive_and_what_arrived_meanwhile_is_received() -> None:
    prefix = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    layer = redis_layer(prefix)

    async def scenario() -> tuple[bool, list[dict[str, Any]]]:
        channel = await layer.new_channel()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), 0.3)
        stopped = layer._pump is None
        await layer.send(channel, {"type": "chat.message", "n": 1})
        await layer.send(channel, {"type": "chat.message", "n": 2})
        received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(2)]
        await layer.flush()
        return stopped, received

    assert run(scenario()) == (
        True,
        [{"type": "chat.message", "n": 1}, {"type": "chat.message", "n": 2}],
    )


@requires_redis
def test_500_sockets_closing_at_once_leave_no_group_keys_in_redis() -> None:
    prefix = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    # A small pool, so that 1,000 concurrent discards far outnumber its connections.
    layer = redis_layer(prefix, max_connections=20)

    async def scenario() -> tuple[int, list[bytes]]:
        channels = [await layer.new_channel() for _ in range(500)]
        await asyncio.gather(
            *(
                layer.group_add(f"chat.visitors.{n % 5}", channel)
                for n, channel in enumerate(channels)
            ),
            *(
                layer.group_add(f"chat.conversation.{n}", channel)
                for n, channel in enumerate(channels)
            ),
        )
        joined = len(await _keys(prefix))
        await asyncio.gather(
            *(
                layer.group_discard(f"chat.visitors.{n % 5}", channel)
                for n, channel in enumerate(channels)
            ),
            *(
                layer.group_discard(f"chat.conversation.{n}", channel)
                for n, channel in enumerate(channels)
            ),
        )
        left = await _keys(prefix)
        await layer.flush()
        return joined, left

    assert run(scenario()) == (505, [])


def redis_layer_of_capacity(prefix: str, capacity: int) -> RedisChannelLayer:
    return RedisChannelLayer(
        prefix=prefix, **{**redis_layer_config(REDIS_URL, max_connections=20), "capacity": capacity}
    )


@requires_redis
def test_a_full_redis_channel_key_gets_one_gap_instead_of_the_dropped_messages(caplog) -> None:
    """channels_redis skips a full key with an INFO log; ours leaves a gap for its channels."""
    prefix = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    layer = redis_layer_of_capacity(prefix, 2)

    async def scenario() -> tuple[list[dict[str, Any]], int]:
        channel = await layer.new_channel()
        await layer.group_add("chat.operators.1", channel)
        for number in range(1, 7):  # nobody reads: the process's key holds 2, then a gap
            await layer.group_send("chat.operators.1", {"type": "operator.event", "n": number})
        client = aioredis.Redis.from_url(REDIS_URL)
        try:
            (key,) = [key async for key in client.scan_iter(match=f"{prefix}specific*")]
            held = int(await client.zcard(key))
        finally:
            await client.aclose()
        received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(3)]
        # A later message arrives normally once there is room again.
        await layer.group_send("chat.operators.1", {"type": "operator.event", "n": 7})
        received.append(await asyncio.wait_for(layer.receive(channel), 5))
        await layer.flush()
        return received, held

    with caplog.at_level(logging.WARNING, logger="madoguchi.core.channel_layers"):
        received, held = run(scenario())
    assert (received, held) == (
        [
            {"type": "operator.event", "n": 1},
            {"type": "operator.event", "n": 2},
            {"type": GAP_TYPE},
            {"type": "operator.event", "n": 7},
        ],
        3,  # one marker for the four dropped messages
    )
    assert [record.getMessage() for record in caplog.records].count(
        f"channel layer: 1 of 1 channel key(s) full in group chat.operators.1; {GAP_TYPE} sent "
        "instead"
    ) == 4


@requires_redis
def test_a_channel_that_stops_reading_gets_a_gap_in_its_receive_buffer() -> None:
    """The process receives for all its channels; one that stops reading overflows its buffer."""
    prefix = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    layer = redis_layer_of_capacity(prefix, 2)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        reader, stalled = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("chat.visitors.1", reader)
        await layer.group_add("chat.visitors.1", stalled)
        read = []
        for number in range(1, 6):
            await layer.group_send("chat.visitors.1", {"type": "chat.presence", "n": number})
            read.append(await asyncio.wait_for(layer.receive(reader), 5))
        late = [await asyncio.wait_for(layer.receive(stalled), 5) for _ in range(2)]
        await layer.flush()
        return read, late

    read, late = run(scenario())
    assert read == [{"type": "chat.presence", "n": number} for number in range(1, 6)]
    assert late == [{"type": "chat.presence", "n": 1}, {"type": GAP_TYPE, "dropped": 4}]


@requires_redis
def test_leaving_a_group_is_retried_when_redis_times_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from channels_redis.core import (  # type: ignore[import-untyped]
        RedisChannelLayer as Upstream,
    )
    from redis.exceptions import TimeoutError as RedisTimeoutError

    prefix = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    layer = redis_layer(prefix)
    real_discard = Upstream.group_discard
    failures = iter([True, True])  # the first two attempts time out, as under a mass disconnect

    async def flaky_discard(self: Any, group: str, channel: str) -> None:
        if next(failures, False):
            raise RedisTimeoutError("Timeout connecting to server")
        await real_discard(self, group, channel)

    monkeypatch.setattr(Upstream, "group_discard", flaky_discard)

    async def scenario() -> tuple[int, list[bytes]]:
        channel = await layer.new_channel()
        await layer.group_add("chat.visitors.1", channel)
        joined = len(await _keys(prefix))
        await layer.group_discard("chat.visitors.1", channel)
        left = await _keys(prefix)
        await layer.flush()
        return joined, left

    assert run(scenario()) == (1, [])


@requires_redis
def test_the_upstream_pool_fails_a_mass_disconnect() -> None:
    """Why RedisChannelLayer waits for a connection: redis-py's pool raises when it runs out."""
    from channels_redis.core import (
        RedisChannelLayer as Upstream,
    )

    prefix = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    config = redis_layer_config(REDIS_URL, max_connections=20)
    layer = Upstream(prefix=prefix, **config)

    async def scenario() -> None:
        channels = [await layer.new_channel() for _ in range(500)]
        try:
            await asyncio.gather(*(layer.group_add("chat.visitors.1", c) for c in channels))
        finally:
            await layer.flush()

    with pytest.raises(MaxConnectionsError):
        run(scenario())


def test_serve_gives_open_sockets_a_bounded_drain_on_sigterm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGTERM closes the sockets and cancels disconnect handlers still running after 8 s."""
    import uvicorn
    from django.core.management import call_command

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    call_command("serve", "--no-worker", "--no-scheduler")
    assert seen["timeout_graceful_shutdown"] == 8
