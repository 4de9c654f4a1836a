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


@pytest.mark.sqlite  # a file database with the suite's SQLite settings
@pytest.mark.django_db
def test_planner_statistics_wait_for_another_processes_write_instead_of_failing(
    tmp_path: Path,
) -> None:
    """`PRAGMA optimize` refreshes stale statistics while another connection (the mail receiver,
    a separate worker) holds the write lock: it waits for it, as every write does."""
    import sqlite3

    from madoguchi.core.db import planner_statistics_refresh

    path = tmp_path / "planner.sqlite3"
    wrapper = DatabaseWrapper({**connection.settings_dict, "NAME": str(path)}, alias="planner")
    connections["planner"] = wrapper
    other = sqlite3.connect(path, isolation_level=None, timeout=20, check_same_thread=False)
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("CREATE TABLE parcel (number INTEGER)")
            cursor.execute("CREATE INDEX parcel_number ON parcel (number)")
            cursor.executemany("INSERT INTO parcel VALUES (%s)", [(n,) for n in range(50)])
            cursor.execute("ANALYZE")
            # The table grew a thousandfold since: the statistics are stale.
            cursor.executemany("INSERT INTO parcel VALUES (%s)", [(n,) for n in range(50_000)])
            cursor.execute("SELECT * FROM parcel WHERE number = 7")  # the planner used them
        holding = threading.Event()

        def write_for_a_while() -> None:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO parcel VALUES (1)")
            holding.set()
            time.sleep(0.3)
            other.execute("COMMIT")

        writer = threading.Thread(target=write_for_a_while)
        writer.start()
        assert holding.wait(10)
        assert planner_statistics_refresh(using="planner") == "sqlite"
        writer.join(10)
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE idx = 'parcel_number'")
            rows = int(cursor.fetchone()[0].split()[0])
    finally:
        other.close()
        wrapper.close()
        del connections["planner"]
    assert rows > 1_000
