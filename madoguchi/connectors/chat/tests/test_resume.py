"""No chat message is lost: stored before acknowledged, every socket resumes from its cursor.

Security checklist case 26 (reconnect gap): operator A's socket drops, operator B replies, A
reconnects with its cursor and gets exactly the missed events. A `stream.gap` from the channel
layer makes a socket replay; a cursor never reaches another conversation or shop.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from django.db import connections
from django.test import override_settings

from madoguchi.connectors.chat import replay, services
from madoguchi.connectors.chat.models import ChatConversation, OperatorPresence, VisitorSocket
from madoguchi.connectors.chat.tests.test_chat import (
    hello,
    open_conversation,
    operator,
    present,
    receive,
    visitor,
)
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.services import message_reply
from madoguchi.core.channel_layers import redis_layer_config
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db(transaction=True)


async def next_frame(communicator) -> dict:
    """The next frame that is not a presence notice (operators come and go in these tests)."""
    while True:
        frame = await receive(communicator)
        if frame["type"] != "presence":
            return frame


async def say(communicator, client_id: str, text: str) -> dict:
    frame = {"type": "message", "client_id": client_id, "text": text}
    await communicator.send_to(text_data=json.dumps(frame))
    return await next_frame(communicator)


async def resume(communicator, cursor: int) -> list[dict]:
    """Send the operator's `resume`; return every frame up to and including `ready`."""
    await communicator.send_to(text_data=json.dumps({"type": "resume", "cursor": cursor}))
    frames = []
    while True:
        frame = await receive(communicator)
        frames.append(frame)
        if frame["type"] == "ready":
            return frames


def reply(world, widget, text: str) -> int:
    """An operator answers on the conversation's ticket through the ticket page's service."""
    with in_shop(widget.shop_id):
        ticket = Ticket.objects.get(pk=ChatConversation.objects.get().ticket_id)
        return message_reply(
            actor=actor_for_user(world.operator_tea), ticket=ticket, body_text=text
        ).id


def committed_count(external_id: str) -> int:
    """Count the message from a connection of its own: it sees committed rows only."""
    connection = connections.create_connection("default")
    try:
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(Message._meta.db_table)  # a model's, not input
            query = f"SELECT COUNT(*) FROM {table} WHERE external_id = %s"  # noqa: S608
            cursor.execute(query, [external_id])
            return int(cursor.fetchone()[0])
    finally:
        connection.close()


def test_a_visitor_message_is_committed_before_its_ack(world, widget) -> None:
    conversation, token = open_conversation(widget)
    present(world, widget)
    external_id = f"{conversation.public_id}:client-commit-1"

    async def scenario() -> None:
        guest = visitor(token)
        await guest.connect()
        await hello(guest)
        assert await database_sync_to_async(committed_count)(external_id) == 0
        ack = await say(guest, "client-commit-1", "注文をキャンセルしたいです")
        assert ack["type"] == "ack"
        assert await database_sync_to_async(committed_count)(external_id) == 1
        await guest.disconnect()

    async_to_sync(scenario)()


def test_a_message_that_fails_to_store_is_not_acknowledged_and_leaves_nothing(
    world, widget, monkeypatch
) -> None:
    _, token = open_conversation(widget)
    present(world, widget)

    def broken(self, *args, **kwargs):  # the conversation's row cannot be written
        raise RuntimeError("disk full")

    async def scenario() -> None:
        guest = visitor(token)
        await guest.connect()
        await hello(guest)
        monkeypatch.setattr(ChatConversation, "save", broken)
        # The consumer fails and the socket ends without an ack: the widget resends later.
        with pytest.raises(RuntimeError, match="disk full"):
            await say(guest, "client-broken-1", "届きますか")

    async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        assert not Message.objects.filter(channel="chat").exists()
        assert not Ticket.objects.filter(channel="chat").exists()


def test_a_resend_after_a_reconnect_stores_once_and_replays_once(world, widget) -> None:
    _, token = open_conversation(widget)
    present(world, widget)

    async def scenario() -> None:
        first = visitor(token)
        await first.connect()
        await hello(first)
        # The frame reaches the server, but the socket drops before the widget sees the ack.
        await first.send_to(
            text_data=json.dumps({"type": "message", "client_id": "client-resend-1", "text": "A"})
        )
        ack = await next_frame(first)
        await first.disconnect()

        second = visitor(token)
        await second.connect()
        frames = await hello(second, cursor=0)
        assert [(f["type"], f.get("id"), f.get("client_id")) for f in frames[:-1]] == [
            ("message", ack["id"], "client-resend-1")
        ]
        again = await say(second, "client-resend-1", "A")
        assert again == {"type": "ack", "client_id": "client-resend-1", "id": ack["id"]}
        assert await second.receive_nothing(timeout=0.2)  # no second echo
        await second.disconnect()

    async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        assert Message.objects.filter(channel="chat").count() == 1


def test_operator_a_reconnects_with_its_cursor_and_gets_exactly_the_missed_events(
    world, widget
) -> None:
    _, token = open_conversation(widget)
    present(world, widget)  # live chat stays on while A is away

    async def scenario() -> None:
        head = await database_sync_to_async(replay.operator_head)()
        a = operator(world.operator_tea)
        assert (await a.connect())[0]
        assert await resume(a, head) == [{"type": "ready", "cursor": head, "complete": True}]
        guest = visitor(token)
        await guest.connect()
        await hello(guest)
        first = await say(guest, "client-gap-1", "一通目")
        await next_frame(guest)  # echo
        seen = await receive(a)
        assert seen["message"]["id"] == first["id"]
        await a.disconnect()

        # While A is away: the visitor writes again and operator B answers.
        second = await say(guest, "client-gap-2", "二通目")
        await next_frame(guest)
        b = operator(world.supervisor)
        assert (await b.connect())[0]
        answer_id = await database_sync_to_async(reply)(world, widget, "B がお答えします")
        assert (await next_frame(guest))["id"] == answer_id

        a = operator(world.operator_tea)
        assert (await a.connect())[0]
        frames = await resume(a, first["id"])
        assert [
            (f["type"], f.get("kind"), f.get("message", {}).get("id"), f.get("shop_id"))
            for f in frames
        ] == [
            ("event", "message", second["id"], widget.shop_id),
            ("event", "message", answer_id, widget.shop_id),
            ("ready", None, None, None),
        ]
        assert frames[0]["message"]["text"] == "二通目"
        # A replayed event is the live one: same ticket, link and reference.
        for name in ("ticket_id", "reference", "url"):
            assert frames[0][name] == seen[name]
        assert frames[-1] == {"type": "ready", "cursor": answer_id, "complete": True}
        assert await a.receive_nothing(timeout=0.2)

        # Live again: the next message once, nothing replayed twice.
        third = await say(guest, "client-gap-3", "三通目")
        event = await receive(a)
        while event["kind"] != "message":  # B's presence made no event; typing never comes here
            event = await receive(a)
        assert event["message"]["id"] == third["id"]
        assert await a.receive_nothing(timeout=0.2)
        for communicator in (a, b, guest):
            await communicator.disconnect()

    async_to_sync(scenario)()


def test_a_cursor_reaches_nothing_of_another_shop_or_conversation(
    world, widget, ceramics_widget
) -> None:
    _, token = open_conversation(widget)
    _, other_token = open_conversation(widget)
    present(world, widget)

    async def scenario() -> None:
        guest = visitor(token)
        await guest.connect()
        await hello(guest)
        ack = await say(guest, "client-secret-1", "住所は東京都…")
        await guest.disconnect()

        ceramics = operator(world.operator_ceramics)
        assert (await ceramics.connect())[0]
        assert await resume(ceramics, 1) == [{"type": "ready", "cursor": 1, "complete": True}]
        # A receipt for another shop's message marks nothing delivered.
        await ceramics.send_to(text_data=json.dumps({"type": "received", "id": ack["id"]}))
        assert await ceramics.receive_nothing(timeout=0.2)
        await ceramics.disconnect()

        other = visitor(other_token)
        await other.connect()
        assert [f["type"] for f in await hello(other, cursor=0)] == ["ready"]
        await other.disconnect()

    async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        assert list(ChatConversation.objects.values_list("delivered_id", flat=True)) == [0, 0]


def test_a_stream_gap_makes_the_visitor_and_the_operator_sockets_replay(
    world, widget, monkeypatch
) -> None:
    _, token = open_conversation(widget)

    async def scenario() -> None:
        a = operator(world.operator_tea)
        assert (await a.connect())[0]
        await resume(a, await database_sync_to_async(replay.operator_head)())
        guest = visitor(token)
        await guest.connect()
        await hello(guest)
        asked = await say(guest, "client-drop-1", "在庫はありますか")
        await next_frame(guest)
        assert (await receive(a))["message"]["id"] == asked["id"]

        # The layer drops the reply's pushes (a full channel): nobody hears of it live.
        monkeypatch.setattr("madoguchi.connectors.chat.sending.push_all", lambda *args: False)
        answer_id = await database_sync_to_async(reply)(world, widget, "あります")
        assert await guest.receive_nothing(timeout=0.2)
        assert await a.receive_nothing(timeout=0.2)

        def channel_names() -> tuple[str, str]:
            with unscoped("test check"):
                return (
                    VisitorSocket.objects.get().channel_name,
                    OperatorPresence.objects.get(user=world.operator_tea).channel_name,
                )

        visitor_channel, operator_channel = await database_sync_to_async(channel_names)()
        layer = get_channel_layer()
        await layer.send(visitor_channel, {"type": "stream.gap"})
        await layer.send(operator_channel, {"type": "stream.gap"})
        frames = await hello_frames(guest)
        assert [(f["type"], f.get("id")) for f in frames] == [
            ("message", answer_id),
            ("ready", None),
        ]
        assert frames[-1]["cursor"] == answer_id
        # The client can tell a catch-up after a gap from its own hello (the benchmark counts it).
        assert (frames[0]["replayed"], frames[-1]["gap"]) == (True, True)
        frames = await hello_frames(a)
        assert [(f["type"], f.get("message", {}).get("id")) for f in frames] == [
            ("event", answer_id),
            ("ready", None),
        ]
        assert (frames[0]["replayed"], frames[-1]["gap"]) == (True, True)
        # A second gap with nothing missed replays nothing.
        await layer.send(visitor_channel, {"type": "stream.gap"})
        assert [f["type"] for f in await hello_frames(guest)] == ["ready"]
        await a.disconnect()
        await guest.disconnect()

    async_to_sync(scenario)()


async def hello_frames(communicator) -> list[dict]:
    """Every frame up to and including the next `ready`."""
    frames = []
    while True:
        frame = await receive(communicator)
        frames.append(frame)
        if frame["type"] == "ready":
            return frames


def test_operator_receipts_show_the_visitor_its_messages_delivered(world, widget) -> None:
    _, token = open_conversation(widget)

    async def scenario() -> None:
        a = operator(world.operator_tea)
        assert (await a.connect())[0]
        guest = visitor(token)
        await guest.connect()
        await hello(guest)
        first = await say(guest, "client-read-1", "こんにちは")
        await next_frame(guest)
        event = await receive(a)
        await a.send_to(text_data=json.dumps({"type": "received", "id": event["message"]["id"]}))
        assert await next_frame(guest) == {"type": "delivered", "id": first["id"]}
        # The same receipt again (another operator's page): nothing new to say.
        await a.send_to(text_data=json.dumps({"type": "received", "id": first["id"]}))
        assert await guest.receive_nothing(timeout=0.2)
        await guest.disconnect()

        back = visitor(token)
        await back.connect()
        frames = await hello(back, cursor=first["id"])
        assert frames[-1]["delivered"] == first["id"]
        await back.disconnect()
        await a.disconnect()

    async_to_sync(scenario)()


@override_settings(CHAT_HISTORY_LIMIT=2)
def test_after_a_restart_the_visitor_resumes_page_by_page_without_loss(world, widget) -> None:
    _, token = open_conversation(widget)
    present(world, widget)

    async def scenario() -> None:
        guest = visitor(token)
        await guest.connect()
        await hello(guest)
        await say(guest, "client-restart-1", "再起動の前")
        await next_frame(guest)
        await guest.disconnect()

    async_to_sync(scenario)()
    # The server restarts: a new channel layer, no socket open while the operator answers.
    channel_layers.backends.clear()
    answers = [reply(world, widget, f"回答 {number}") for number in (1, 2, 3)]
    with in_shop(widget.shop_id):
        cursor = Message.objects.get(channel="chat", direction="inbound").id

    async def after_restart() -> None:
        guest = visitor(token)
        await guest.connect()
        frames = await hello(guest, cursor=cursor)
        assert [f.get("id") for f in frames[:-1]] == answers[:2]
        assert (frames[-1]["cursor"], frames[-1]["complete"]) == (answers[1], False)
        frames = await hello(guest, cursor=answers[1])
        assert [f.get("id") for f in frames[:-1]] == answers[2:]
        assert (frames[-1]["cursor"], frames[-1]["complete"]) == (answers[2], True)
        assert await guest.receive_nothing(timeout=0.2)
        await guest.disconnect()

    async_to_sync(after_restart)()
    assert services.limit("CHAT_HISTORY_LIMIT") == 2


def test_a_gap_replays_an_older_message_dropped_behind_a_newer_one(
    world, widget, monkeypatch
) -> None:
    # In the layer a message that expired unread is older than the ones queued behind it: the
    # socket shows the newer one first, so the gap's replay starts before its cursor.
    _, token = open_conversation(widget)
    present(world, widget)
    monkeypatch.setattr("madoguchi.connectors.chat.sending.push_all", lambda *args: False)

    async def scenario() -> None:
        guest = visitor(token)
        await guest.connect()
        await hello(guest)
        asked = await say(guest, "client-order-1", "質問です")
        await next_frame(guest)
        a = operator(world.operator_tea)
        assert (await a.connect())[0]
        await resume(a, asked["id"])
        older = await database_sync_to_async(reply)(world, widget, "先に書いた回答")
        newer = await database_sync_to_async(reply)(world, widget, "後に書いた回答")

        def notice(message_id: int) -> dict:
            with in_shop(widget.shop_id):
                message = Message.objects.select_related("ticket__shop").get(pk=message_id)
                return replay.operator_notice(message)

        layer = get_channel_layer()
        await layer.group_send(
            f"chat.operators.{widget.shop_id}",
            {"type": "operator.event", "event": await database_sync_to_async(notice)(newer)},
        )
        assert (await receive(a))["message"]["id"] == newer

        def operator_channel() -> str:
            with unscoped("test check"):
                socket = OperatorPresence.objects.exclude(channel_name="test!presence")
                return socket.get(user=world.operator_tea).channel_name

        await layer.send(await database_sync_to_async(operator_channel)(), {"type": "stream.gap"})
        frames = await hello_frames(a)
        assert [(f["type"], f.get("message", {}).get("id")) for f in frames] == [
            ("event", older),
            ("ready", None),
        ]
        await a.disconnect()
        await guest.disconnect()

    async_to_sync(scenario)()


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(
    not _redis_up(), reason="Redis is not reachable on 127.0.0.1:6379 (fails under CI=true)"
)
def test_with_redis_a_forced_drop_still_delivers_every_reply_through_the_catch_up(
    world, widget
) -> None:
    """channels_redis drops a group's message for a full key; the socket gets a gap and replays.

    The visitor's process holds at most 2 messages in Redis (capacity 2). While its event loop
    is blocked, six replies are pushed: a pending read may take the first, the key holds two,
    the rest are dropped for a gap, and the gap's catch-up sends them.
    """
    _, token = open_conversation(widget)
    present(world, widget)
    prefix = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    config = {**redis_layer_config("redis://127.0.0.1:6379/3", max_connections=20), "capacity": 2}
    layers = {"default": {"BACKEND": "madoguchi.core.channel_layers.RedisChannelLayer"}}
    layers["default"]["CONFIG"] = {**config, "prefix": prefix}

    async def scenario() -> tuple[list[int], list[dict]]:
        guest = visitor(token)
        assert (await guest.connect())[0]
        await hello(guest)
        asked = await say(guest, "client-redis-1", "届きますか")
        assert (await next_frame(guest))["id"] == asked["id"]  # its own message, live

        replies: list[int] = []

        def answer() -> None:
            replies.extend(reply(world, widget, f"回答 {number}") for number in range(1, 7))

        pusher = threading.Thread(target=answer)
        pusher.start()
        pusher.join()  # blocks this loop: the consumer reads nothing meanwhile
        frames = await hello_frames(guest)
        await guest.disconnect()
        await get_channel_layer().flush()
        return replies, frames

    with override_settings(CHANNEL_LAYERS=layers):
        replies, frames = async_to_sync(scenario)()
    # Each reply once, in order: those the layer delivered, then the replayed ones.
    assert [(f["type"], f["id"]) for f in frames[:-1]] == [("message", i) for i in replies]
    live = sum(1 for frame in frames[:-1] if "replayed" not in frame)
    assert live <= 3  # at most the pending read and the key's capacity
    assert [f.get("replayed", False) for f in frames[:-1]] == [False] * live + [True] * (6 - live)
    assert (frames[-1]["type"], frames[-1]["gap"], frames[-1]["cursor"]) == (
        "ready",
        True,
        replies[-1],
    )
