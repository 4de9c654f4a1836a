"""Django's HTTP side of the ASGI application: each request's sync work in one long-lived thread.

Django's stock `ASGIHandler` wraps every request in a fresh `ThreadSensitiveContext`, so asgiref
starts a new thread for each request's sync code, and that thread's database connection is new
too: `CONN_MAX_AGE` never reuses one, and every request pays for a connection (its PRAGMAs on
SQLite; a TCP connection and authentication on PostgreSQL). All of our middleware is sync, and
Django's async request path still goes back and forth between the event loop and the thread for
the `request_started` receivers, the middleware chain, each view middleware, the view and the
response's close. With thousands of chat sockets on the loop, each hand-over waits its turn
(issue 19).

`PooledThreadASGIHandler` builds the middleware chain in sync mode and runs a request's sync
parts (the `request_started` receivers, the middleware and the view in one call, the response's
close) on one thread checked out of a pool of `SERVE_REQUEST_THREADS` long-lived threads for the
request. Its database connection stays open between requests, within `CONN_MAX_AGE` (ADR 0027).
A request arriving while every thread is busy waits for one, as it would for a worker of a WSGI
server.
"""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class PooledThreadASGIHandler(ASGIHandler):
    """An `ASGIHandler` whose requests run their sync work on a pool of long-lived threads."""

    def __init__(self, *, threads: int | None = None) -> None:
        super().__init__()
        count = threads if threads is not None else settings.SERVE_REQUEST_THREADS
        if count < 1:
            raise ValueError("SERVE_REQUEST_THREADS must be at least 1.")
        # Each executor has one thread: asgiref runs a context's thread-sensitive calls on it.
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"madoguchi-request-{index}")
            for index in range(count)
        ]
        self._free: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Queue[ThreadPoolExecutor]
        ] = weakref.WeakKeyDictionary()

    def load_middleware(self, is_async: bool = False) -> None:
        # Every middleware of ours is sync: one chain, called in one hop (see the module doc).
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = await sync_to_async(self.get_response)(request)
        return response

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        free = self._free_executors()
        executor = await free.get()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            free.put_nowait(executor)

    def _free_executors(self) -> asyncio.Queue[ThreadPoolExecutor]:
        # A queue belongs to the loop it waits on: one per loop (a server has one; tests more).
        loop = asyncio.get_running_loop()
        free = self._free.get(loop)
        if free is None:
            free = self._free[loop] = asyncio.Queue()
            for executor in self._executors:
                free.put_nowait(executor)
        return free


def get_asgi_application() -> PooledThreadASGIHandler:
    """As `django.core.asgi.get_asgi_application`, with the pooled-thread handler."""
    import django

    django.setup(set_prefix=False)
    return PooledThreadASGIHandler()
