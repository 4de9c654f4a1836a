"""Delivery under load (issue 19): the sockets' database work runs on a pool of its own, and a
message that expires unread in the channel layer still reaches its socket through the catch-up.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.test import override_settings

from madoguchi.connectors.chat import db, replay, sending, services
from madoguchi.connectors.chat.models import VisitorSocket
from madoguchi.connectors.chat.tests.test_chat import hello, open_conversation, present, visitor
from madoguchi.connectors.chat.tests.test_resume import hello_frames, next_frame, reply, say
from madoguchi.conversations.models import Message
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sockets_database_work_runs_on_the_chat_pool(widget) -> None:
    _, token = open_conversation(widget)
    present_threads: set[str] = set()
    original = replay.visitor_page

    def recording(**kwargs):
        present_threads.add(threading.current_thread().name)
        return original(**kwargs)

    async def scenario() -> None:
        guest = visitor(token)
        assert (await guest.connect())[0]
        await hello(guest)
        await guest.disconnect()

    with pytest.MonkeyPatch.context() as patch, override_settings(CHAT_DATABASE_THREADS=1):
        patch.setattr(replay, "visitor_page", recording)
        async_to_sync(scenario)()
    assert len(present_threads) == 1
    assert present_threads.pop().startswith(db.THREAD_NAME_PREFIX)


def test_a_slow_catch_up_does_not_hold_back_another_visitors_message(world, widget) -> None:
    # With asgiref's one shared thread, the second visitor's message would wait until the first
    # visitor's catch-up finished: every socket's database work queued behind every other's.
    present(world, widget)
    slow_conversation, slow_token = open_conversation(widget)
    _, quick_token = open_conversation(widget)
    release = threading.Event()
    loading = threading.Event()
    original = replay.visitor_page

    def slow_page(*, conversation, cursor):
        if conversation.id == slow_conversation.id:
            loading.set()
            release.wait(timeout=20)
        return original(conversation=conversation, cursor=cursor)

    async def scenario() -> None:
        slow, quick = visitor(slow_token), visitor(quick_token)
        assert (await slow.connect())[0]
        assert (await quick.connect())[0]
        await hello(quick)
        await slow.send_json_to({"type": "hello", "cursor": 0})
        while not loading.is_set():
            await asyncio.sleep(0.01)
        started = time.monotonic()
        ack = await say(quick, "client-pool-1", "急ぎの質問です")
        waited = time.monotonic() - started
        release.set()
        assert ack["type"] == "ack"
        assert waited < 5  # it did not wait for the slow catch-up (released only after the ack)
        assert (await hello_frames(slow))[-1]["type"] == "ready"
        await slow.disconnect()
        await quick.disconnect()

    with pytest.MonkeyPatch.context() as patch, override_settings(CHAT_DATABASE_THREADS=2):
        patch.setattr(replay, "visitor_page", slow_page)
        try:
            async_to_sync(scenario)()
        finally:
            release.set()


def test_a_reply_that_expires_unread_in_the_layer_reaches_the_visitor_by_the_catch_up(
    world, widget
) -> None:
    # The layer keeps a message 1 s here (60 s by default). While a consumer handles one event
    # of the layer (here a gap's catch-up, held up in its database work), it does not read the
    # next: the reply's push waits in its channel and expires. The layer puts a gap in its
    # place, and the socket replays the stored reply from its cursor (`replayed`, then a
    # `ready` marked `gap`).
    _, token = open_conversation(widget)
    present(world, widget)
    layers = {
        "default": {
            "BACKEND": "madoguchi.core.channel_layers.InProcessChannelLayer",
            "CONFIG": {"expiry": 1},
        }
    }
    original = services.is_available
    busy, release = threading.Event(), threading.Event()

    def slow_is_available(widget):  # runs after the hello's page was read
        if not busy.is_set():
            busy.set()
            release.wait(timeout=20)
        return original(widget)

    async def scenario() -> None:
        guest = visitor(token)
        assert (await guest.connect())[0]
        await hello(guest)
        asked = await say(guest, "client-expire-1", "届きますか")
        echo = await next_frame(guest)
        assert echo["id"] == asked["id"]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(services, "is_available", slow_is_available)
            layer = get_channel_layer()
            await layer.send(
                await database_sync_to_async(_socket_channel)(), {"type": "stream.gap"}
            )
            while not busy.is_set():
                await asyncio.sleep(0.01)
            # Stored and pushed on commit while the consumer is busy: nobody reads the push.
            answer_id = await database_sync_to_async(reply)(world, widget, "届きます")
            await asyncio.sleep(1.5)
            release.set()
            assert [frame["type"] for frame in await hello_frames(guest)] == ["ready"]
        frames = await hello_frames(guest)
        assert [(frame["type"], frame.get("id")) for frame in frames] == [
            ("message", answer_id),
            ("ready", None),
        ]
        assert frames[0]["replayed"] is True
        assert frames[-1]["gap"] is True
        assert await guest.receive_nothing(timeout=0.3)  # once, not again live
        await guest.disconnect()

    with override_settings(CHANNEL_LAYERS=layers, CHAT_DATABASE_THREADS=1):
        try:
            async_to_sync(scenario)()
        finally:
            release.set()


def _socket_channel() -> str:
    with unscoped("test check"):
        return str(VisitorSocket.objects.get().channel_name)


@pytest.mark.parametrize("threads", [0, 2])
def test_both_executors_store_and_deliver_every_message(world, widget, threads) -> None:
    # CHAT_DATABASE_THREADS=0 keeps channels' thread-sensitive executor (the escape hatch).
    _, token = open_conversation(widget)
    present(world, widget)

    async def scenario() -> None:
        guest = visitor(token)
        assert (await guest.connect())[0]
        await hello(guest)
        ids = []
        for number in range(5):
            ack = await say(guest, f"client-exec-{number}", f"質問 {number}")
            assert ack["type"] == "ack"
            ids.append(ack["id"])
            echo = await next_frame(guest)
            assert echo["id"] == ack["id"]
        assert ids == sorted(ids)  # one socket's messages are stored in the order sent
        await guest.disconnect()

    with override_settings(CHAT_DATABASE_THREADS=threads):
        async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        assert Message.objects.filter(external_id__contains=":client-exec-").count() == 5


# PostgreSQL pass only: the in-memory SQLite test database fails concurrent writers (a file
# database has the write gate).
@pytest.mark.postgresql
def test_two_tabs_first_messages_at_once_open_one_ticket(world, widget) -> None:
    # Both sockets loaded the conversation without a ticket; their first messages are stored
    # concurrently on the pool. The second must find the ticket the first opened.
    _, token = open_conversation(widget)
    present(world, widget)

    async def scenario() -> None:
        tabs = [visitor(token), visitor(token)]
        for tab in tabs:
            assert (await tab.connect())[0]
            await hello(tab)
        for number, tab in enumerate(tabs):
            await tab.send_json_to(
                {"type": "message", "client_id": f"client-tab-{number}", "text": f"タブ {number}"}
            )
        for tab in tabs:
            frames = [await next_frame(tab) for _ in range(3)]  # its ack and both echoes
            assert sorted(frame["type"] for frame in frames) == ["ack", "message", "message"]
        for tab in tabs:
            await tab.disconnect()

    with override_settings(CHAT_DATABASE_THREADS=4):
        async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        stored = Message.objects.filter(external_id__contains=":client-tab-")
        assert stored.count() == 2
        assert len({message.ticket_id for message in stored}) == 1


def test_pushes_go_out_together_and_a_refused_group_does_not_keep_the_others(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asgiref.sync import sync_to_async
    from channels.exceptions import ChannelFull

    from madoguchi.connectors.chat.groups import push_all

    layer = get_channel_layer()
    original = layer.group_send

    async def refusing(group: str, message: dict) -> None:
        if group == "chat.test.full":
            raise ChannelFull()
        await original(group, message)

    monkeypatch.setattr(layer, "group_send", refusing)

    async def scenario() -> tuple[bool, list[dict], bool]:
        first, second = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("chat.test.first", first)
        await layer.group_add("chat.test.second", second)
        sends = [
            ("chat.test.first", {"type": "chat.message", "n": 1}),
            ("chat.test.full", {"type": "chat.message", "n": 2}),
            ("chat.test.second", {"type": "chat.message", "n": 3}),
        ]
        refused = await sync_to_async(push_all)(sends)
        received = [
            await asyncio.wait_for(layer.receive(first), 5),
            await asyncio.wait_for(layer.receive(second), 5),
        ]
        delivered = await sync_to_async(push_all)([sends[0]])
        await asyncio.wait_for(layer.receive(first), 5)
        return refused, received, delivered

    refused, received, delivered = async_to_sync(scenario)()
    assert refused is False and delivered is True
    assert [message["n"] for message in received] == [1, 3]
    assert "could not push to chat.test.full" in caplog.text
    assert "chat.test.first" not in caplog.text


def test_a_reply_is_pushed_right_after_its_commit_with_no_query_between(
    world, widget, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation, _ = open_conversation(widget)
    with in_shop(widget.shop_id):
        services.visitor_message(conversation=conversation, client_id="client-1", text="届きますか")
    steps: list[str] = []
    real_push_all = sending.push_all

    def pushing(sends):
        steps.append("push")
        return real_push_all(sends)

    def querying(execute, sql, params, many, context):
        steps.append(sql.split()[0].upper())
        return execute(sql, params, many, context)

    monkeypatch.setattr(sending, "push_all", pushing)
    with connection.execute_wrapper(querying), transaction.atomic():
        transaction.on_commit(lambda: steps.append("committed"))  # runs first after the commit
        reply_id = reply(world, widget, "明日お届けします")
    committed = steps.index("committed")
    assert steps[committed + 1] == "push"
    assert steps[committed + 2 :].count("UPDATE") >= 1  # "sent", written after the push
    with in_shop(widget.shop_id):
        assert Message.objects.get(pk=reply_id).delivery_status == Message.DeliveryStatus.SENT
