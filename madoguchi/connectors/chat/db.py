"""The chat sockets' synchronous database work, on a bounded pool of threads of its own.

channels' `database_sync_to_async` is thread-sensitive: every call of every consumer of the
process runs on asgiref's one shared thread, one after the other. Issue 19 measured it at 1,000
visitor sockets: that thread was busy more than 80% of the time (opening sockets, `hello` catch-
ups, storing messages, receipts), so a visitor's message waited behind everybody else's database
work, seconds at p99, while the event loop itself was half idle.

`chat_database` runs the work on CHAT_DATABASE_THREADS threads instead (default 4; 0 keeps the
one shared thread), with `thread_sensitive=False`. That is safe here because no chat call relies
on running in the thread of another: each is a self-contained unit (its own `in_shop` scope, its
own transaction through the services, a push on commit from the thread that committed), and one
socket's frames are still handled one at a time, in order, by its consumer, so one visitor's
messages are stored in the order sent. Different sockets now store concurrently: ids may commit
out of order between sockets, which the cursors already allow for (docs/adr/0018-chat-
cursors.md: the gap replay starts from the oldest id a socket remembers, not from its cursor).

Like `database_sync_to_async`, each call closes the thread's connection first and after when it
is unusable or older than CONN_MAX_AGE. With SQLite the writes still pass the process's write
gate one at a time (madoguchi.core.sqlite_backend; these threads are foreground threads), but
reads, such as a `hello`'s catch-up, no longer queue behind them. With PostgreSQL each thread
holds one connection: CHAT_DATABASE_THREADS connections per web process at most.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_THREADS = 4
THREAD_NAME_PREFIX = "madoguchi-chat-db"


def threads() -> int:
    """CHAT_DATABASE_THREADS; 0 runs the work on asgiref's one shared thread, as before."""
    return max(0, int(getattr(settings, "CHAT_DATABASE_THREADS", DEFAULT_THREADS)))


_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def pool() -> ThreadPoolExecutor:
    """The process's pool of CHAT_DATABASE_THREADS threads (one per size: tests change it)."""
    size = max(1, threads())
    with _lock:
        if size not in _pools:
            _pools[size] = ThreadPoolExecutor(
                max_workers=size, thread_name_prefix=THREAD_NAME_PREFIX
            )
        return _pools[size]


class _ChatDatabaseSyncToAsync(SyncToAsync[P, R]):
    """`SyncToAsync` on the chat pool that closes stale connections around each call."""

    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        try:
            return super().thread_handler(loop, *args, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            close_old_connections()


def chat_database(func: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """`func` as a coroutine function that runs on the chat pool (see the module's docstring)."""
    if not threads():
        return database_sync_to_async(func)  # type: ignore[no-any-return]
    return _ChatDatabaseSyncToAsync(func, thread_sensitive=False, executor=pool())
