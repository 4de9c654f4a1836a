"""Worker heartbeats, and re-queueing the work of a worker that stopped beating (ADR 0016).

Every worker process (`madoguchi worker`/`db_worker`, or the worker thread of `serve`) writes its
heartbeat row every WORKER_HEARTBEAT_SECONDS. A scheduler tick (core.scheduler) calls
`workers_recover`: a worker silent for WORKER_DEAD_SECONDS is declared dead by a conditional
UPDATE, which exactly one caller wins; that caller puts the dead worker's RUNNING task rows back
to READY and calls each app's recovery hook, which hands back the state rows (raw mail in
"processing", outbound messages in "sending") that the dead worker claimed. Every hand-back is a
conditional UPDATE on (state, claimed_by), so a row a slow but living worker has meanwhile
finished is left alone.

Code running inside a task finds the worker's id with `current_worker_id()`, and claims a state
row with it (`claimed_by`). Work run without a worker (the immediate backend, a shell) claims with
"" and is left to each app's timeout sweep, as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from madoguchi.core.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

_current_worker_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "madoguchi_worker_id", default=""
)

# name -> hook(worker_id) returning how many rows it handed back.
_RECOVERY_HOOKS: dict[str, Callable[[str], int]] = {}


def current_worker_id() -> str:
    """Return the id of the worker running the current task ("" outside a worker)."""
    return _current_worker_id.get()


@contextlib.contextmanager
def as_worker(worker_id: str) -> Iterator[None]:
    """Run the enclosed code as worker `worker_id`: its claims carry that id."""
    token = _current_worker_id.set(worker_id)
    try:
        yield
    finally:
        _current_worker_id.reset(token)


def register_recovery(name: str, hook: Callable[[str], int]) -> None:
    """Register a hook that hands back the state rows a dead worker claimed (from `ready()`)."""
    _RECOVERY_HOOKS[name] = hook


_SHUTDOWN_HOOKS: list[Callable[[], object]] = []


def register_shutdown(hook: Callable[[], object]) -> None:
    """Register work a web process does once its server has stopped (from `ready()`)."""
    _SHUTDOWN_HOOKS.append(hook)


def run_shutdown_hooks() -> None:
    """Run every shutdown hook; a failing one is logged and the others still run."""
    for hook in _SHUTDOWN_HOOKS:
        try:
            hook()
        except Exception:
            logger.exception("Shutdown hook %r failed", hook)


def new_worker_id(prefix: str = "worker") -> str:
    return f"{prefix}-{socket.gethostname()[:24]}-{os.getpid()}-{get_random_string(8)}"


def heartbeat_beat(*, worker_id: str) -> bool:
    """Write the worker's heartbeat; return False if it has been declared dead meanwhile."""
    now = timezone.now()
    beaten = WorkerHeartbeat.objects.filter(
        worker_id=worker_id, declared_dead_at__isnull=True
    ).update(last_beat_at=now)
    if beaten:
        return True
    if WorkerHeartbeat.objects.filter(worker_id=worker_id).exists():
        return False
    WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        host=socket.gethostname()[:255],
        pid=os.getpid(),
        started_at=now,
        last_beat_at=now,
    )
    return True


def heartbeat_stop(*, worker_id: str) -> None:
    """Mark a cleanly stopped worker (its claimed work was finished, nothing to hand back)."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(stopped_at=timezone.now())


def workers_recover(*, skip: str = "") -> dict[str, int]:
    """Declare silent workers dead and hand their claimed work back; return what was done.

    `skip` is the caller's own worker, which is alive by definition (a process that slept, a
    suspended laptop, would otherwise declare itself dead on waking).
    """
    now = timezone.now()
    cutoff = now - _seconds("WORKER_DEAD_SECONDS")
    silent = WorkerHeartbeat.objects.filter(
        last_beat_at__lt=cutoff, declared_dead_at__isnull=True, stopped_at__isnull=True
    ).exclude(worker_id=skip)
    done = {"workers": 0, "tasks": 0, "rows": 0}
    for worker_id in list(silent.values_list("worker_id", flat=True)):
        with transaction.atomic():
            declared = WorkerHeartbeat.objects.filter(
                worker_id=worker_id,
                last_beat_at__lt=cutoff,
                declared_dead_at__isnull=True,
                stopped_at__isnull=True,
            ).update(declared_dead_at=now)
            if not declared:
                continue  # another scheduler won, or the worker beat just now
            done["workers"] += 1
            for name, hook in _RECOVERY_HOOKS.items():
                rows = hook(worker_id)
                done["rows"] += rows
                if rows:
                    logger.warning(
                        "Handed back %d %s row(s) of dead worker %s", rows, name, worker_id
                    )
            done["tasks"] += _requeue_tasks(worker_id)
    return done


def _requeue_tasks(worker_id: str) -> int:
    """Put the task rows the dead worker left RUNNING back to READY, each once."""
    requeued = 0
    running = DBTaskResult.objects.running().only("id", "worker_ids", "started_at")
    for row in running:
        if not row.worker_ids or row.worker_ids[-1] != worker_id:
            continue
        # Conditional on the claim it made: a row finished meanwhile is not touched.
        requeued += DBTaskResult.objects.filter(
            pk=row.pk, status="RUNNING", started_at=row.started_at
        ).update(status="READY", started_at=None)
    if requeued:
        logger.warning("Re-queued %d task(s) of dead worker %s", requeued, worker_id)
    return requeued


def _seconds(key: str) -> dt.timedelta:
    return dt.timedelta(seconds=float(settings.MADOGUCHI[key]))


class HeartbeatWorker(Worker):
    """django_tasks_db's worker that runs each task with its id in `current_worker_id()`."""

    def run_task(self, db_task_result: DBTaskResult) -> None:  # type: ignore[type-arg]
        with as_worker(self.worker_id):
            super().run_task(db_task_result)


class HeartbeatThread(threading.Thread):
    """Beat for `worker` every WORKER_HEARTBEAT_SECONDS until stopped.

    Declared dead while alive (the whole process was frozen past WORKER_DEAD_SECONDS), the worker
    takes a new id: its work was handed back under the old one, new claims go under the new one.
    """

    def __init__(self, *, worker: Worker) -> None:
        super().__init__(name="madoguchi-heartbeat", daemon=True)
        self.worker = worker
        self.stopped = threading.Event()

    def beat(self) -> None:
        if not heartbeat_beat(worker_id=self.worker.worker_id):
            old = self.worker.worker_id
            self.worker.worker_id = new_worker_id()
            logger.error(
                "Worker %s was declared dead; continuing as %s", old, self.worker.worker_id
            )
            heartbeat_beat(worker_id=self.worker.worker_id)

    def run(self) -> None:
        interval = float(settings.MADOGUCHI["WORKER_HEARTBEAT_SECONDS"])
        while not self.stopped.is_set():
            close_old_connections()
            try:
                self.beat()
            except Exception:
                logger.exception("Heartbeat failed")
            self.stopped.wait(interval)
        close_old_connections()

    def stop(self) -> None:
        self.stopped.set()
