"""Real processes: a worker killed (-9) mid-task; its task runs again, once, on another worker.

Two workers (each with its scheduler) and a `madoguchi scheduler` run on a copy of the test
database (a SQLite file, or the PostgreSQL test database itself). The first worker claims a task
that holds; it is killed with SIGKILL; the task must be re-queued within the dead-worker bound
and finished by the second worker, and the journal the task writes must show exactly one
unfinished start (the killed one) and one finished run. Meanwhile the 2-second mail poll job is
enqueued once per interval by whichever scheduler ticks: no gap longer than an interval and a
tick, no two enqueues within an interval.

Short settings keep it under ~20 s: heartbeat 0.3 s, dead after 2 s, scheduler tick 0.3 s.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

REPO_ROOT = Path(__file__).resolve().parents[3]
DEAD_SECONDS = 2.0
TICK_SECONDS = 0.3
HEARTBEAT_SECONDS = 0.3
POLL_SECONDS = 2
POLL_TASK = "madoguchi.connectors.mail.tasks.poll_mailboxes_task"

pytestmark = pytest.mark.django_db(transaction=True)


def _database_for_processes(directory: Path) -> tuple[str, Callable[[str], list[tuple[Any, ...]]]]:
    """Return the DATABASE_URL the processes use and a function that queries it from here."""
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        password = settings_dict.get("PASSWORD") or ""
        credentials = quote(settings_dict.get("USER") or "") + (
            f":{quote(password)}" if password else ""
        )
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = settings_dict.get("PORT") or "5432"
        url = f"postgres://{credentials}@{host}:{port}/{settings_dict['NAME']}"

        def query(sql: str) -> list[tuple[Any, ...]]:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())

        return url, query
    # The in-memory test database, copied with its schema and rows into a file they can share.
    path = directory / "workers.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()

    def query_file(sql: str) -> list[tuple[Any, ...]]:
        reader = sqlite3.connect(path, timeout=10)
        try:
            return list(reader.execute(sql).fetchall())
        finally:
            reader.close()

    return f"sqlite:///{path}", query_file


@contextmanager
def _processes(
    directory: Path, database_url: str
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "madoguchi.config.settings.local",
        "DATABASE_URL": database_url,
        "MADOGUCHI_DATA_DIR": str(directory),
        "DEBUG": "false",
        "PYTHONUNBUFFERED": "1",
        "MADOGUCHI_WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "MADOGUCHI_WORKER_DEAD_SECONDS": str(DEAD_SECONDS),
        "MADOGUCHI_SCHEDULER_TICK_SECONDS": str(TICK_SECONDS),
        "MADOGUCHI_MAIL_IMAP_POLL_SECONDS": str(POLL_SECONDS),
    }
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *arguments: str) -> subprocess.Popen[bytes]:
        with (directory / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "madoguchi", *arguments],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _wait_for(what: str, condition: Callable[[], bool], directory: Path, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.05)
    logs = "\n".join(
        f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        for log in sorted(directory.glob("*.log"))
    )
    raise AssertionError(f"Timed out waiting for {what}\n{logs}")


def _worker(
    start: Callable[..., subprocess.Popen[bytes]], worker_id: str
) -> subprocess.Popen[bytes]:
    return start(
        worker_id,
        "worker",
        "--worker-id",
        worker_id,
        "--queue-name",
        "*",
        "--interval",
        "0.1",
        "--no-startup-delay",
        "--no-reload",
    )


def test_a_killed_workers_task_is_requeued_and_runs_once_on_another(tmp_path: Path) -> None:
    journal = tmp_path / "journal.txt"
    task = DBTaskResult.objects.create(
        args_kwargs={"args": [str(journal), 60.0], "kwargs": {}},
        task_path="madoguchi.core.testing.tasks.hold_first_run",
        backend_name="default",
        queue_name="default",
        run_after=get_date_max(),
    )
    database_url, query = _database_for_processes(tmp_path)
    task_row = f"SELECT status, worker_ids FROM django_tasks_database_dbtaskresult WHERE id = '{task.id.hex if connection.vendor == 'sqlite' else task.id}'"  # noqa: E501, S608

    def journal_lines() -> list[str]:
        return journal.read_text().splitlines() if journal.exists() else []

    with _processes(tmp_path, database_url) as start:
        start("scheduler", "scheduler")
        first = _worker(start, "w-first")
        _wait_for("the first worker to start the task", lambda: journal_lines() != [], tmp_path, 40)
        assert journal_lines() == ["start w-first"]
        _worker(start, "w-second")
        _wait_for(
            "the second worker's heartbeat",
            lambda: bool(query("SELECT 1 FROM core_workerheartbeat WHERE worker_id = 'w-second'")),
            tmp_path,
            40,
        )
        last_beat = query(
            "SELECT last_beat_at FROM core_workerheartbeat WHERE worker_id = 'w-first'"
        )[0][0]

        killed_at = time.monotonic()
        killed_wall = timezone.now()
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)

        def requeued() -> bool:
            status, worker_ids = query(task_row)[0]
            ids = json.loads(worker_ids) if isinstance(worker_ids, str) else worker_ids
            return status != "RUNNING" or ids[-1] != "w-first"

        requeued_at = _wait_for("the re-queue", requeued, tmp_path, 30)
        done_at = _wait_for(
            "the second run to finish",
            lambda: query(task_row)[0][0] == "SUCCESSFUL",
            tmp_path,
            30,
        )
        time.sleep(POLL_SECONDS + 2 * TICK_SECONDS)  # one more poll interval after the kill
        polls = query(
            f"SELECT enqueued_at FROM django_tasks_database_dbtaskresult WHERE task_path = '{POLL_TASK}' ORDER BY enqueued_at"  # noqa: E501, S608
        )
        due_rows = query(
            "SELECT last_enqueued_at, last_enqueued_by FROM core_scheduledjob "
            "WHERE name = 'mail_poll_mailboxes'"
        )

    status, worker_ids = query(task_row)[0]
    ids = json.loads(worker_ids) if isinstance(worker_ids, str) else worker_ids
    assert (status, ids) == ("SUCCESSFUL", ["w-first", "w-second"])
    assert journal_lines() == ["start w-first", "start w-second", "done w-second"]
    dead = query("SELECT declared_dead_at FROM core_workerheartbeat WHERE worker_id = 'w-first'")
    assert dead[0][0] is not None

    to_requeue = requeued_at - killed_at
    to_done = done_at - killed_at
    since_last_beat = _seconds_between(last_beat, killed_wall) + to_requeue
    print(  # the numbers the report quotes (run with -s)
        f"\nkill -9 -> re-queued {to_requeue:.2f} s, -> processed {to_done:.2f} s; "
        f"last heartbeat -> re-queued <= {since_last_beat:.2f} s "
        f"(dead after {DEAD_SECONDS:g} s, tick {TICK_SECONDS:g} s)"
    )
    # Dead after 2 s of silence, found at the next tick of a scheduler; slack for a busy CI box.
    assert to_requeue < DEAD_SECONDS + HEARTBEAT_SECONDS + TICK_SECONDS + 3.0
    assert to_done < to_requeue + 5.0

    # The 2-second job: once per interval (no two enqueues closer than the interval), and no
    # gap longer than an interval and a tick (plus slack) across the kill of one scheduler.
    times = [_as_datetime(row[0]) for row in polls]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    assert len(times) >= 3, times
    assert min(gaps) >= POLL_SECONDS - 0.05, gaps
    assert max(gaps) < POLL_SECONDS + TICK_SECONDS + 1.5, gaps
    after_kill = [gap for time_, gap in zip(times[1:], gaps, strict=True) if time_ > killed_wall]
    print(f"mail poll gaps (s): {[round(gap, 2) for gap in gaps]}; after the kill: {after_kill}")
    assert due_rows[0][1] != "w-first"  # a survivor enqueues now


def _as_datetime(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return value


def _seconds_between(earlier: Any, later: Any) -> float:
    return float((later - _as_datetime(earlier)).total_seconds())
