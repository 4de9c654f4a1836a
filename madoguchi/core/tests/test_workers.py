"""Heartbeats, and the work of a silent worker handed back once (core.workers, ADR 0016)."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from madoguchi.core import workers
from madoguchi.core.models import WorkerHeartbeat
from madoguchi.core.workers import (
    HeartbeatThread,
    HeartbeatWorker,
    as_worker,
    current_worker_id,
    heartbeat_beat,
    heartbeat_stop,
    workers_recover,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def hooks(monkeypatch):
    """One recording hook instead of the apps' ones; return what it was called with."""
    calls: list[str] = []

    def hook(worker_id: str) -> int:
        calls.append(worker_id)
        return 2

    monkeypatch.setattr(workers, "_RECOVERY_HOOKS", {"recording": hook})
    return calls


def _silent_for(worker_id: str, seconds: float) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(
        last_beat_at=timezone.now() - dt.timedelta(seconds=seconds)
    )


def _task(status: str, *worker_ids: str) -> DBTaskResult:
    now = timezone.now()
    return DBTaskResult.objects.create(
        status=status,
        started_at=now if status != "READY" else None,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="madoguchi.core.tasks.prune_task_results",
        backend_name="default",
        run_after=get_date_max(),
        worker_ids=list(worker_ids),
    )


def test_a_beat_registers_the_worker_then_moves_its_last_beat():
    assert heartbeat_beat(worker_id="w-1") is True
    first = WorkerHeartbeat.objects.get(worker_id="w-1")
    assert first.started_at == first.last_beat_at
    assert first.pid > 0 and first.host
    _silent_for("w-1", 10)
    assert heartbeat_beat(worker_id="w-1") is True
    again = WorkerHeartbeat.objects.get(worker_id="w-1")
    assert again.started_at == first.started_at
    assert timezone.now() - again.last_beat_at < dt.timedelta(seconds=5)


def test_a_silent_worker_is_declared_dead_once_and_its_running_tasks_requeued(hooks, settings):
    settings.MADOGUCHI = {**settings.MADOGUCHI, "WORKER_DEAD_SECONDS": 30}
    for worker_id in ("dead", "alive", "stopped"):
        heartbeat_beat(worker_id=worker_id)
    _silent_for("dead", 31)
    _silent_for("stopped", 600)
    heartbeat_stop(worker_id="stopped")
    _silent_for("alive", 29)
    dead_running = _task("RUNNING", "dead")
    retried_by_alive = _task("RUNNING", "dead", "alive")  # the dead one's earlier attempt
    alive_running = _task("RUNNING", "alive")
    dead_finished = _task("SUCCESSFUL", "dead")

    assert workers_recover() == {"workers": 1, "tasks": 1, "rows": 2}
    assert workers_recover() == {"workers": 0, "tasks": 0, "rows": 0}  # never twice
    assert hooks == ["dead"]

    def status(row: DBTaskResult) -> tuple[str, bool]:
        row.refresh_from_db()
        return row.status, row.started_at is None

    assert status(dead_running) == ("READY", True)
    assert status(retried_by_alive) == ("RUNNING", False)
    assert status(alive_running) == ("RUNNING", False)
    assert status(dead_finished) == ("SUCCESSFUL", False)
    assert DBTaskResult.objects.ready().filter(pk=dead_running.pk).exists()
    dead = WorkerHeartbeat.objects.get(worker_id="dead")
    assert dead.declared_dead_at is not None
    assert WorkerHeartbeat.objects.get(worker_id="stopped").declared_dead_at is None


def test_a_scheduler_never_declares_its_own_worker_dead(hooks, settings):
    settings.MADOGUCHI = {**settings.MADOGUCHI, "WORKER_DEAD_SECONDS": 30}
    heartbeat_beat(worker_id="self")
    _silent_for("self", 60)  # this process slept (a suspended laptop)
    assert workers_recover(skip="self")["workers"] == 0
    assert workers_recover()["workers"] == 1


def test_a_worker_declared_dead_while_alive_continues_under_a_new_id(hooks, settings):
    settings.MADOGUCHI = {**settings.MADOGUCHI, "WORKER_DEAD_SECONDS": 30}
    worker = HeartbeatWorker(
        queue_names=["*"],
        interval=0.1,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="frozen",
        excluded_queue_names=[],
    )
    thread = HeartbeatThread(worker=worker)
    thread.beat()
    _silent_for("frozen", 60)
    workers_recover()
    assert heartbeat_beat(worker_id="frozen") is False

    thread.beat()

    assert worker.worker_id != "frozen"
    assert WorkerHeartbeat.objects.get(worker_id=worker.worker_id).declared_dead_at is None


def test_claims_inside_a_worker_carry_its_id():
    assert current_worker_id() == ""
    with as_worker("w-7"):
        assert current_worker_id() == "w-7"
    assert current_worker_id() == ""


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--no-worker"], ["madoguchi-scheduler"]),
        (["--no-worker", "--no-scheduler"], []),
    ],
)
def test_serve_without_its_worker_keeps_the_scheduler(monkeypatch, arguments, expected):
    import uvicorn
    from django.core.management import call_command

    from madoguchi.core.management.commands import serve
    from madoguchi.core.scheduler import SchedulerThread

    started: list[str] = []

    class Recording(SchedulerThread):
        def start(self) -> None:  # records instead of ticking against the test database
            started.append(self.name)

    monkeypatch.setattr(serve, "SchedulerThread", Recording)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    call_command("serve", *arguments)
    assert started == expected
