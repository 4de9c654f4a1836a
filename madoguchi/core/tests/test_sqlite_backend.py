"""The SQLite write gate: one transaction at a time per process, the web before background work."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

from madoguchi.core.sqlite_backend.base import GATE, DatabaseWrapper, WriteGate


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the threads never got there"
        time.sleep(0.005)


def test_a_waiting_foreground_writer_goes_before_background_ones() -> None:
    gate = WriteGate()
    order: list[str] = []

    def writer(name: str, *, is_background: bool) -> None:
        assert gate.acquire(is_background=is_background, timeout=10)
        order.append(name)
        gate.release()

    assert gate.acquire(is_background=True, timeout=1)  # a job's transaction holds the gate
    job = threading.Thread(target=writer, args=("next job",), kwargs={"is_background": True})
    job.start()
    _wait_until(lambda: gate.waiting_background == 1)
    chat = threading.Thread(target=writer, args=("chat message",), kwargs={"is_background": False})
    chat.start()
    _wait_until(lambda: gate.waiting_foreground == 1)
    gate.release()
    job.join(10)
    chat.join(10)
    assert order == ["chat message", "next job"]
    assert (gate.is_held, gate.waiting_foreground, gate.waiting_background) == (False, 0, 0)


def test_a_background_writer_waits_while_a_foreground_one_waits_even_for_a_free_gate() -> None:
    gate = WriteGate()
    gate.waiting_foreground = 1  # a request thread is about to take it
    assert gate.acquire(is_background=True, timeout=0.05) is False
    gate.waiting_foreground = 0
    assert gate.acquire(is_background=True, timeout=0.05) is True


def test_a_gate_not_freed_in_time_is_refused_not_waited_for_forever() -> None:
    gate = WriteGate()
    assert gate.acquire(is_background=False, timeout=1)
    assert gate.acquire(is_background=False, timeout=0.05) is False
    gate.release()
    assert gate.acquire(is_background=False, timeout=0.05) is True


@pytest.mark.sqlite  # a second connection with the suite's SQLite settings
@pytest.mark.django_db
def test_a_file_database_transaction_holds_the_gate_until_commit_or_rollback(
    tmp_path: Path,
) -> None:
    wrapper = DatabaseWrapper(
        {**connection.settings_dict, "NAME": str(tmp_path / "gate.sqlite3")}, alias="gate"
    )
    connections["gate"] = wrapper
    try:
        with transaction.atomic(using="gate"):
            wrapper.cursor().execute("CREATE TABLE note (body TEXT)")
            inside = (GATE.is_held, wrapper.holds_gate)
        after_commit = (GATE.is_held, wrapper.holds_gate)
        with pytest.raises(ZeroDivisionError), transaction.atomic(using="gate"):
            wrapper.cursor().execute("INSERT INTO note VALUES ('消える')")
            _ = 1 / 0
        after_rollback = (GATE.is_held, wrapper.holds_gate)
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM note")
            count = cursor.fetchone()[0]
    finally:
        wrapper.close()
        del connections["gate"]
    assert (inside, after_commit, after_rollback, count) == (
        (True, True),
        (False, False),
        (False, False),
        0,
    )


@pytest.mark.django_db(transaction=True)
def test_the_in_memory_test_database_has_no_gate() -> None:
    """The tests' SQLite is in memory (threads share it through its cache, not the file lock)."""
    with transaction.atomic():
        assert (GATE.is_held, getattr(connection, "holds_gate", False)) == (False, False)
