"""The scheduler enqueues each periodic job once per interval, however many processes run it."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from madoguchi.core import scheduler
from madoguchi.core.models import ScheduledJob
from madoguchi.core.scheduler import periodic_jobs, register_periodic, run_due_jobs
from madoguchi.core.tasks import enqueue_on_commit, prune_task_results

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs(monkeypatch):
    """Replace the registry with a test job that counts its enqueues."""
    monkeypatch.setattr(scheduler, "_JOBS", {})
    calls: list[str] = []
    register_periodic("count", dt.timedelta(minutes=10), lambda: calls.append("count"))
    return calls


def _interval_passes(job_name: str) -> None:
    ScheduledJob.objects.filter(name=job_name).update(
        next_due_at=timezone.now() - dt.timedelta(seconds=1)
    )


def test_job_is_enqueued_once_per_interval_with_two_holders(jobs):
    assert run_due_jobs(holder="web-1") == ["count"]
    assert run_due_jobs(holder="web-2") == []
    # The holder's own next tick within the interval must not enqueue again either.
    assert run_due_jobs(holder="web-1") == []
    assert run_due_jobs(holder="web-2") == []
    assert jobs == ["count"]

    _interval_passes("count")
    assert run_due_jobs(holder="web-2") == ["count"]
    assert run_due_jobs(holder="web-1") == []
    assert run_due_jobs(holder="web-2") == []
    assert jobs == ["count", "count"]


def test_a_failing_enqueue_is_logged_and_other_jobs_still_run(jobs, caplog):
    failures = ["queue down"]

    def broken() -> None:
        if failures:
            raise RuntimeError(failures.pop())

    register_periodic("broken", dt.timedelta(minutes=1), broken)
    assert run_due_jobs(holder="web-1") == ["count"]
    assert jobs == ["count"]
    assert [job.name for job in periodic_jobs()] == ["count", "broken"]
    assert "Could not enqueue periodic job broken" in caplog.text
    # The failed enqueue rolled its claim back: the job is still due at the next tick.
    assert ScheduledJob.objects.get(name="broken").last_enqueued_at is None
    assert run_due_jobs(holder="web-2") == ["broken"]
    assert ScheduledJob.objects.get(name="broken").last_enqueued_by == "web-2"


def test_a_stopped_scheduler_holds_nothing_the_other_enqueues_when_due(jobs):
    """No holder lease: whichever scheduler ticks after the due time enqueues, once."""
    assert run_due_jobs(holder="web-1") == ["count"]
    row = ScheduledJob.objects.get(name="count")
    assert (row.last_enqueued_by, row.interval_seconds) == ("web-1", 600)
    assert row.next_due_at - row.last_enqueued_at == dt.timedelta(minutes=10)
    # web-1 stops here. Before the due time web-2 enqueues nothing, at its first tick after it
    # enqueues the job: the takeover costs at most one tick.
    assert run_due_jobs(holder="web-2") == []
    _interval_passes("count")
    assert run_due_jobs(holder="web-2") == ["count"]
    assert run_due_jobs(holder="web-2") == []
    assert jobs == ["count", "count"]
    assert ScheduledJob.objects.get(name="count").last_enqueued_by == "web-2"


class _RecordingTask:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[object, ...], dict[str, object]]] = []

    def enqueue(self, *args: object, **kwargs: object) -> None:
        self.calls.append((args, kwargs))


def test_enqueue_on_commit_waits_for_the_commit(django_capture_on_commit_callbacks):
    recording = _RecordingTask()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_on_commit(recording, 7, shop_id=3)
        assert recording.calls == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1
    assert recording.calls == [((7,), {"shop_id": 3})]


def test_enqueue_on_commit_is_dropped_on_rollback(django_capture_on_commit_callbacks):
    recording = _RecordingTask()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                enqueue_on_commit(recording)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert (callbacks, recording.calls) == ([], [])


def test_prune_task_results_deletes_finished_results_older_than_a_week():
    now = timezone.now()

    def result(status: str, finished_days_ago: int | None) -> DBTaskResult:
        return DBTaskResult.objects.create(
            status=status,
            finished_at=now - dt.timedelta(days=finished_days_ago)
            if finished_days_ago is not None
            else None,
            args_kwargs={"args": [], "kwargs": {}},
            task_path="madoguchi.core.tasks.prune_task_results",
            backend_name="default",
            run_after=now,
        )

    old_success = result("SUCCESSFUL", 8)
    old_failure = result("FAILED", 30)
    recent = result("SUCCESSFUL", 6)
    waiting = result("READY", None)
    assert prune_task_results.call() == 2
    remaining = set(DBTaskResult.objects.values_list("id", flat=True))
    assert remaining == {recent.id, waiting.id}
    assert old_success.id not in remaining and old_failure.id not in remaining


@pytest.mark.django_db
def test_planner_statistics_task_runs_on_the_current_engine():
    from django.db import connection

    from madoguchi.core.tasks import refresh_planner_statistics

    assert refresh_planner_statistics.call() == connection.vendor


def test_the_scheduler_command_stops_on_sigterm_within_a_tick(jobs, monkeypatch):
    import os
    import signal
    import threading
    import time

    from django.core.management import call_command

    ticks: list[float] = []
    monkeypatch.setattr(
        "madoguchi.core.management.commands.scheduler.scheduler_tick",
        lambda *, holder: ticks.append(time.monotonic()) or [],
    )
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    began = time.monotonic()
    call_command("scheduler", "--tick", "5")
    assert time.monotonic() - began < 2
    assert len(ticks) == 1
