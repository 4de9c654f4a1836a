"""Caps on open visitor sockets per conversation token and per client address (chat.sockets).

Through the websocket application with the channels testing communicator; the sockets of
another process are rows it wrote in the shared database.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.utils import timezone

from madoguchi.connectors.chat import sockets
from madoguchi.connectors.chat.consumers import CLOSE_TOO_MANY
from madoguchi.connectors.chat.models import ChatConversation, VisitorSocket
from madoguchi.connectors.chat.tests.test_chat import open_conversation, visitor
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "203.0.113.7"
OTHER_ADDRESS = "198.51.100.20"


def caps(*, per_conversation: int = 5, per_address: int = 100) -> override_settings:
    return override_settings(
        CHAT_SOCKETS_PER_CONVERSATION=per_conversation, CHAT_SOCKETS_PER_ADDRESS=per_address
    )


def from_address(token: str, address: str = ADDRESS, **kwargs: str) -> WebsocketCommunicator:
    communicator = visitor(token, **kwargs)
    communicator.scope["client"] = (address, 40000)
    return communicator


async def assert_refused(communicator: WebsocketCommunicator) -> None:
    """The handshake is accepted, then closed at once with CLOSE_TOO_MANY (the widget sees it)."""
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": CLOSE_TOO_MANY,
    }


async def assert_open(communicator: WebsocketCommunicator) -> None:
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_nothing(timeout=0.1)


async def closes_flushed() -> None:
    """Wait for the closer's own batch to delete the closed sockets' rows (no explicit flush)."""
    closer = sockets.closer
    for _ in range(100):
        if not closer.channel_names and (closer.task is None or closer.task.done()):
            return
        await asyncio.sleep(sockets.CLOSE_FLUSH_SECONDS)
    raise AssertionError(f"closed sockets still waiting: {sorted(closer.channel_names)}")


def open_rows() -> int:
    with unscoped("test check"):
        return VisitorSocket.objects.count()


def other_process_socket(conversation: ChatConversation, address: str, *, age: int = 0) -> None:
    with unscoped("test setup"):
        VisitorSocket.objects.create(
            shop_id=conversation.shop_id,
            conversation=conversation,
            address=address,
            channel_name=f"other-process!{VisitorSocket.objects.count()}",
            seen_at=timezone.now() - dt.timedelta(seconds=age),
        )


def test_one_token_opens_at_most_the_cap_and_a_closed_socket_frees_its_place(widget) -> None:
    _, token = open_conversation(widget)

    async def scenario() -> None:
        first, second = from_address(token), from_address(token)
        await assert_open(first)
        await assert_open(second)
        await assert_refused(from_address(token))
        assert await database_sync_to_async(open_rows)() == 2
        await first.disconnect()
        third = from_address(token)
        await assert_open(third)
        for communicator in (second, third):
            await communicator.disconnect()
        await closes_flushed()

    with caps(per_conversation=2):
        async_to_sync(scenario)()
    assert open_rows() == 0


def test_one_address_opens_at_most_the_cap_across_tokens_and_shops(widget, ceramics_widget) -> None:
    tokens = [open_conversation(widget)[1] for _ in range(2)]
    _, ceramics_token = open_conversation(ceramics_widget)

    async def scenario() -> None:
        opened = [from_address(token) for token in tokens]
        for communicator in opened:
            await assert_open(communicator)
        # Another shop's chat from the same address counts against the same cap.
        await assert_refused(from_address(ceramics_token, origin="https://aoki.example"))
        # Another address is not held back by this one.
        other = from_address(ceramics_token, OTHER_ADDRESS, origin="https://aoki.example")
        await assert_open(other)
        for communicator in [*opened, other]:
            await communicator.disconnect()
        await closes_flushed()

    with caps(per_address=2):
        async_to_sync(scenario)()
    assert open_rows() == 0


def test_sockets_of_another_process_count_until_they_are_stale(widget) -> None:
    conversation, token = open_conversation(widget)
    other_process_socket(conversation, ADDRESS)
    other_process_socket(conversation, OTHER_ADDRESS, age=sockets.SOCKET_STALE_SECONDS + 5)

    async def scenario() -> None:
        # One fresh socket elsewhere and the cap is 2: one more fits, the next does not.
        mine = from_address(token)
        await assert_open(mine)
        await assert_refused(from_address(token))
        await mine.disconnect()
        await closes_flushed()
        await database_sync_to_async(sockets.visitor_sockets_touch)(channel_names=[])

    with caps(per_conversation=2):
        async_to_sync(scenario)()
    # The stale row of a dead process was swept; the other process's fresh one stays.
    with unscoped("test check"):
        assert list(VisitorSocket.objects.values_list("address", flat=True)) == [ADDRESS]


def test_the_heartbeat_keeps_the_open_sockets_fresh(widget) -> None:
    _, token = open_conversation(widget)

    async def scenario() -> None:
        communicator = from_address(token)
        await assert_open(communicator)
        held = set(sockets.heartbeat.channel_names)  # this process holds the socket
        assert held

        def age_and_touch() -> tuple[dt.datetime, dt.datetime]:
            with unscoped("test"):
                row = VisitorSocket.objects.get()
                VisitorSocket.objects.filter(pk=row.pk).update(
                    seen_at=timezone.now() - dt.timedelta(seconds=100)
                )
                aged = VisitorSocket.objects.get().seen_at
                sockets.visitor_sockets_touch(channel_names=[row.channel_name])
                return aged, VisitorSocket.objects.get().seen_at

        aged, touched = await database_sync_to_async(age_and_touch)()
        assert touched - aged >= dt.timedelta(seconds=99)
        await communicator.disconnect()
        assert len(held - sockets.heartbeat.channel_names) == 1  # let go of at the close

    async_to_sync(scenario)()


def test_the_defaults_are_five_per_token_and_a_hundred_per_address() -> None:
    assert sockets.socket_caps() == (5, 100)
