"""Enqueue periodic work exactly once per interval, however many processes run a scheduler.

Each job has a `ScheduledJob` row with the time it is next due. A scheduler tick enqueues a due
job by a conditional UPDATE that moves `next_due_at` one interval on (`WHERE next_due_at <= now`),
in the same transaction as the enqueue: of several schedulers exactly one wins, and a scheduler
that dies holds nothing, so the next tick of any other one enqueues whatever falls due (ADR 0016).

The same tick hands back the work of dead workers (core.workers). The job's runs (start, end,
outcome) are recorded from django-tasks' signals, for /healthz/jobs and the admins' alert.
"""

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from madoguchi.core.models import ScheduledJob

logger = logging.getLogger(__name__)

# A job that has not finished a run for this many intervals is stale.
STALE_AFTER_INTERVALS = 3


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval: dt.timedelta
    enqueue: Callable[[], Any]
    task_path: str = ""


_JOBS: dict[str, PeriodicJob] = {}


def register_periodic(name: str, interval: dt.timedelta, enqueue: Callable[[], Any]) -> None:
    """Register a job (apps call this from `AppConfig.ready`).

    `enqueue` is usually a task's bound `enqueue`; its task's runs are then recorded as the job's.
    """
    task = getattr(enqueue, "__self__", None)
    task_path = str(getattr(task, "module_path", "") or "")
    _JOBS[name] = PeriodicJob(name=name, interval=interval, enqueue=enqueue, task_path=task_path)


def periodic_jobs() -> list[PeriodicJob]:
    return list(_JOBS.values())


def _job_row(job: PeriodicJob, now: dt.datetime) -> None:
    """Create the job's row, due now, the first time any scheduler sees it."""
    if ScheduledJob.objects.filter(name=job.name).exists():
        ScheduledJob.objects.filter(name=job.name).exclude(
            interval_seconds=int(job.interval.total_seconds()), task_path=job.task_path
        ).update(interval_seconds=int(job.interval.total_seconds()), task_path=job.task_path)
        return
    try:
        with transaction.atomic():
            ScheduledJob.objects.create(
                name=job.name,
                task_path=job.task_path,
                interval_seconds=int(job.interval.total_seconds()),
                next_due_at=now,
                created_at=now,
            )
    except IntegrityError:
        pass  # created concurrently by another scheduler


def run_due_jobs(*, holder: str) -> list[str]:
    """Enqueue every job that is due and that this holder wins; return their names."""
    enqueued = []
    for job in periodic_jobs():
        now = timezone.now()
        _job_row(job, now)
        try:
            with transaction.atomic():
                won = ScheduledJob.objects.filter(name=job.name, next_due_at__lte=now).update(
                    next_due_at=now + job.interval, last_enqueued_at=now, last_enqueued_by=holder
                )
                if won:
                    # In the transaction: a failed enqueue leaves the job due for the next tick.
                    job.enqueue()
                    enqueued.append(job.name)
        except Exception:
            logger.exception("Could not enqueue periodic job %s", job.name)
    return enqueued


def scheduler_tick(*, holder: str, own_worker_id: str = "") -> list[str]:
    """One tick: hand back dead workers' work, then enqueue due jobs."""
    from madoguchi.core.workers import workers_recover

    try:
        workers_recover(skip=own_worker_id)
    except Exception:
        logger.exception("Could not recover the work of dead workers")
    return run_due_jobs(holder=holder)


def _is_periodic(task_path: str) -> bool:
    # Checked in memory first: other tasks (thousands of mails) cost no write.
    return any(job.task_path == task_path for job in _JOBS.values())


def record_run_started(*, task_path: str) -> None:
    if _is_periodic(task_path):
        ScheduledJob.objects.filter(task_path=task_path).update(last_started_at=timezone.now())


def record_run_finished(*, task_path: str, is_ok: bool) -> None:
    if not _is_periodic(task_path):
        return
    outcome = ScheduledJob.Outcome.OK if is_ok else ScheduledJob.Outcome.ERROR
    ScheduledJob.objects.filter(task_path=task_path).update(
        last_finished_at=timezone.now(), last_outcome=outcome
    )


def tick_seconds() -> float:
    return float(settings.MADOGUCHI["SCHEDULER_TICK_SECONDS"])


class SchedulerThread(threading.Thread):
    """Run a scheduler tick every `tick` seconds until stopped."""

    def __init__(self, *, holder: str, tick: float | None = None, worker: Any = None) -> None:
        super().__init__(name="madoguchi-scheduler", daemon=True)
        self.holder = holder
        self.tick = tick if tick is not None else tick_seconds()
        # The process's own worker, never declared dead by its own scheduler (core.workers).
        self.worker = worker
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            close_old_connections()
            try:
                own = self.worker.worker_id if self.worker is not None else ""
                scheduler_tick(holder=self.holder, own_worker_id=own)
            except Exception:
                logger.exception("Scheduler tick failed")
            self.stopped.wait(self.tick)
        close_old_connections()

    def stop(self) -> None:
        self.stopped.set()
