"""SQLite with one write gate per process: the web's transactions go before background work.

SQLite lets one connection write at a time. A connection that finds the write lock taken does
not queue: its busy handler sleeps (1, 2, 5 ... up to 100 ms) and tries again. In the embedded
default the worker and scheduler threads share the web process, and a periodic job writes in
many short transactions one after the other (`process_operations` refreshes one SLA per
transaction). Issue 19 measured it with the chat benchmark at 1,000 sockets: the thread that
stores visitor messages spent more than half its time sleeping in `BEGIN IMMEDIATE`, each
wake-up finding the worker's next transaction holding the lock, and every delivery that
overlapped a job run was slower than 100 ms (docs/adr/0017-channel-layers.md).

So inside one process, a transaction first takes a gate (a condition variable) and SQLite's lock
second: a waiting thread is woken the moment the previous transaction ends, and the background
threads (`BACKGROUND_THREAD_NAMES`: the embedded worker, the scheduler, the heartbeat) let every
waiting request or socket thread go first, one transaction at a time, so a job never holds a
chat message back by more than the one transaction it is in. Between processes SQLite's own lock
and busy timeout still decide. A gate that is not free within the connection's `timeout` is
passed by (SQLite arbitrates then, as before); an in-memory database (the tests) has no gate.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.db.backends.sqlite3 import base

logger = logging.getLogger(__name__)

# Threads named so (core.scheduler, core.workers, `serve`'s worker) yield to the others.
BACKGROUND_THREAD_NAMES = frozenset(
    {"madoguchi-worker", "madoguchi-scheduler", "madoguchi-heartbeat"}
)


def is_background_thread() -> bool:
    return threading.current_thread().name in BACKGROUND_THREAD_NAMES


class WriteGate:
    """One writer at a time, foreground threads before background ones."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.is_held = False
        self.waiting_foreground = 0
        self.waiting_background = 0

    def acquire(self, *, is_background: bool, timeout: float) -> bool:
        """Take the gate; False when it was not free within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._condition:
            if is_background:
                self.waiting_background += 1
            else:
                self.waiting_foreground += 1
            try:
                while self.is_held or (is_background and self.waiting_foreground):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._condition.wait(remaining)
                self.is_held = True
                return True
            finally:
                if is_background:
                    self.waiting_background -= 1
                else:
                    self.waiting_foreground -= 1

    def release(self) -> None:
        with self._condition:
            self.is_held = False
            self._condition.notify_all()


GATE = WriteGate()


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's SQLite backend whose transactions pass the process's write gate first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.holds_gate = False

    def _start_transaction_under_autocommit(self) -> None:
        if not self.is_in_memory_db():
            timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
            self.holds_gate = GATE.acquire(is_background=is_background_thread(), timeout=timeout)
            if not self.holds_gate:
                logger.warning("sqlite: the write gate was busy for %.0f s; passing it", timeout)
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_gate()
            raise

    def _release_gate(self) -> None:
        if self.holds_gate:
            self.holds_gate = False
            GATE.release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_gate()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_gate()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._release_gate()
