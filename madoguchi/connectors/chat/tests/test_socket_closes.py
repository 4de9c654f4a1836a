"""Closed visitor sockets: their rows are deleted in batches (chat.sockets.closer), not one by one.

Real sockets through the websocket application and real `VisitorSocket` rows; the batch timer
is stretched where a test must see the rows still waiting.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import DatabaseError

from madoguchi.connectors.chat import sockets
from madoguchi.connectors.chat.tests.test_chat import open_conversation
from madoguchi.connectors.chat.tests.test_socket_caps import (
    assert_open,
    assert_refused,
    caps,
    closes_flushed,
    from_address,
    open_rows,
)

pytestmark = pytest.mark.django_db(transaction=True)

rows = database_sync_to_async(open_rows)


@pytest.fixture(autouse=True)
def _nothing_waiting() -> None:
    sockets.closer.take()  # names an earlier test's closed loop left behind (rows long gone)


async def rows_become(expected: int) -> None:
    for _ in range(100):
        if await rows() == expected:
            return
        await asyncio.sleep(0.02)
    assert await rows() == expected


def test_many_sockets_closing_at_once_are_deleted_in_a_few_statements(widget, monkeypatch) -> None:
    tokens = [open_conversation(widget)[1] for _ in range(5)]
    batches: list[list[str]] = []
    delete = sockets.visitor_sockets_close

    def recorded(*, channel_names: list[str]) -> None:
        if channel_names:
            batches.append(channel_names)
        delete(channel_names=channel_names)

    monkeypatch.setattr(sockets, "visitor_sockets_close", recorded)

    async def scenario() -> None:
        opened = [from_address(token) for token in tokens for _ in range(5)]
        for communicator in opened:
            await assert_open(communicator)
        assert await rows() == 25
        await asyncio.gather(*(communicator.disconnect() for communicator in opened))
        await closes_flushed()

    with caps(per_conversation=5, per_address=100):
        async_to_sync(scenario)()
    assert open_rows() == 0
    assert sum(len(batch) for batch in batches) == 25
    assert len(batches) <= 3  # one DELETE per batch, not 25


def test_a_full_batch_goes_at_once_and_the_shutdown_flush_takes_the_rest(
    widget, monkeypatch
) -> None:
    monkeypatch.setattr(sockets, "CLOSE_FLUSH_SECONDS", 30.0)  # only a full batch or a flush
    monkeypatch.setattr(sockets, "CLOSE_BATCH", 4)
    tokens = [open_conversation(widget)[1] for _ in range(2)]

    async def scenario() -> None:
        opened = [from_address(token) for token in tokens for _ in range(3)]
        for communicator in opened:
            await assert_open(communicator)
        for communicator in opened[:3]:
            await communicator.disconnect()
        await asyncio.sleep(0.2)
        assert await rows() == 6  # the disconnects wrote nothing: the rows wait for the batch
        await opened[3].disconnect()  # the fourth fills the batch
        await rows_become(2)
        for communicator in opened[4:]:
            await communicator.disconnect()
        assert await rows() == 2
        # What `serve` does after the server stopped.
        await database_sync_to_async(sockets.closer.flush)()
        assert await rows() == 0

    with caps(per_conversation=3):
        async_to_sync(scenario)()
    assert sockets.closer.channel_names == set()


def test_a_socket_closed_here_frees_its_place_before_its_batch(widget, monkeypatch) -> None:
    monkeypatch.setattr(sockets, "CLOSE_FLUSH_SECONDS", 30.0)
    _, token = open_conversation(widget)

    async def scenario() -> None:
        first = from_address(token)
        await assert_open(first)
        await first.disconnect()
        assert await rows() == 1  # still waiting for its batch
        second = from_address(token)
        await assert_open(second)  # the open deleted the waiting row before counting
        assert await rows() == 1
        await assert_refused(from_address(token))  # the cap still holds for open sockets
        await second.disconnect()
        await database_sync_to_async(sockets.closer.flush)()

    with caps(per_conversation=1):
        async_to_sync(scenario)()
    assert open_rows() == 0


def test_a_failed_batch_is_tried_again(widget, monkeypatch, caplog) -> None:
    _, token = open_conversation(widget)
    attempts: list[list[str]] = []
    delete = sockets.visitor_sockets_close

    def flaky(*, channel_names: list[str]) -> None:
        if channel_names:
            attempts.append(channel_names)
            if len(attempts) == 1:
                raise DatabaseError("the database went away for a moment")
        delete(channel_names=channel_names)

    monkeypatch.setattr(sockets, "visitor_sockets_close", flaky)

    async def scenario() -> None:
        communicator = from_address(token)
        await assert_open(communicator)
        await communicator.disconnect()
        await closes_flushed()

    async_to_sync(scenario)()
    assert open_rows() == 0
    assert len(attempts) == 2 and attempts[0] == attempts[1]
    assert "could not delete closed visitor sockets" in caplog.text
