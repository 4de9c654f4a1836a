"""The HTTP side of the ASGI application (core.asgi_handler, ADR 0027): a request's sync work
runs on one thread of a pool of long-lived threads, which keep their database connections;
requests beyond the pool's size wait for a thread. Real requests through ASGI."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.core.signals import request_finished, request_started
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path, reverse

from madoguchi.accounts.tests.conftest import post_password
from madoguchi.core.asgi_handler import PooledThreadASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)

HEADERS = [(b"host", b"testserver")]
SEEN: list[dict[str, Any]] = []


def probe(request: HttpRequest) -> HttpResponse:
    """Where the view ran, and on which database connection; `?sleep=` holds the thread."""
    connection.ensure_connection()
    time.sleep(float(request.GET.get("sleep", "0")))
    SEEN.append(
        {"where": "view", "thread": threading.get_ident(), "connection": id(connection.connection)}
    )
    return HttpResponse("ok")


urlpatterns = [path("probe/", probe)]


@pytest.fixture
def seen() -> Iterator[list[dict[str, Any]]]:
    def started(**kwargs: Any) -> None:
        SEEN.append({"where": "started", "thread": threading.get_ident()})

    def finished(**kwargs: Any) -> None:
        SEEN.append({"where": "finished", "thread": threading.get_ident()})

    SEEN.clear()
    request_started.connect(started, dispatch_uid="test-asgi-started")
    request_finished.connect(finished, dispatch_uid="test-asgi-finished")
    try:
        with override_settings(ROOT_URLCONF=__name__):
            yield SEEN
    finally:
        request_started.disconnect(dispatch_uid="test-asgi-started")
        request_finished.disconnect(dispatch_uid="test-asgi-finished")
        SEEN.clear()


async def get(application: Any, path: str, headers: list[tuple[bytes, bytes]] = HEADERS) -> Any:
    """The response to a GET, once the application is done with the request (closed it)."""
    communicator = HttpCommunicator(application, "GET", path, headers=headers)
    response = await communicator.get_response(timeout=10)
    await communicator.wait(timeout=10)
    return response


def test_a_requests_sync_work_runs_on_one_thread_which_keeps_its_connection(seen) -> None:
    handler = PooledThreadASGIHandler(threads=1)

    async def twice() -> list[Any]:
        return [await get(handler, "/probe/"), await get(handler, "/probe/")]

    responses = async_to_sync(twice)()
    assert [response["status"] for response in responses] == [200, 200]
    assert [row["where"] for row in seen] == ["started", "view", "finished"] * 2
    # The signals' receivers (close_old_connections among them), the middleware and the view of
    # both requests ran on the pool's one thread, not on a thread made for each request...
    assert len({row["thread"] for row in seen}) == 1
    assert seen[0]["thread"] != threading.get_ident()
    # ...so the second request used the first one's database connection (CONN_MAX_AGE).
    views = [row for row in seen if row["where"] == "view"]
    assert views[0]["connection"] == views[1]["connection"]


def test_requests_beyond_the_pool_wait_for_a_thread_and_none_is_lost(seen) -> None:
    def run(threads: int) -> tuple[float, set[int]]:
        handler = PooledThreadASGIHandler(threads=threads)
        SEEN.clear()

        async def three_at_once() -> list[Any]:
            return await asyncio.gather(*(get(handler, "/probe/?sleep=0.3") for _ in range(3)))

        started = time.monotonic()
        responses = async_to_sync(three_at_once)()
        assert [response["status"] for response in responses] == [200, 200, 200]
        return time.monotonic() - started, {row["thread"] for row in SEEN}

    one_at_a_time, threads_used = run(1)
    assert one_at_a_time >= 0.9 and len(threads_used) == 1
    side_by_side, threads_used = run(3)
    assert side_by_side < 0.85 and len(threads_used) == 3


def test_the_pool_needs_a_thread() -> None:
    with pytest.raises(ValueError, match="SERVE_REQUEST_THREADS"):
        PooledThreadASGIHandler(threads=0)


def test_through_the_projects_application_a_shops_ticket_opens_and_another_shops_is_404(
    world,
) -> None:
    from madoguchi.config.asgi import application

    client = Client()
    assert post_password(client, world.operator_tea.email).status_code == 302
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [*HEADERS, (b"cookie", cookie)]

    def ticket_path(ticket: Any) -> str:
        return reverse("conversations:ticket", args=[ticket.shop.slug, ticket.number])

    async def both() -> list[Any]:
        return [
            await get(application, ticket_path(world.tea_ticket), headers),
            await get(application, ticket_path(world.ceramics_ticket), headers),
        ]

    own, other = async_to_sync(both)()
    assert own["status"] == 200
    assert "お茶が届きません".encode() in own["body"]
    assert other["status"] == 404
    assert "器が割れていました".encode() not in other["body"]
