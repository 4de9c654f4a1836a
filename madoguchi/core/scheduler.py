"""Enqueue periodic work exactly once per interval, however many processes run a scheduler.

Each job has a lease whose time-to-live is its interval: the process that takes the lease
enqueues the job, and nobody can take it again until the interval has passed.
"""

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections

from madoguchi.core.leases import lease_acquire

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval: dt.timedelta
    enqueue: Callable[[], Any]


_JOBS: dict[str, PeriodicJob] = {}


def register_periodic(name: str, interval: dt.timedelta, enqueue: Callable[[], Any]) -> None:
    """Register a job (apps call this from `AppConfig.ready`)."""
    _JOBS[name] = PeriodicJob(name=name, interval=interval, enqueue=enqueue)


def periodic_jobs() -> list[PeriodicJob]:
    return list(_JOBS.values())


def run_due_jobs(*, holder: str) -> list[str]:
    """Enqueue every job whose lease this holder could take; return their names."""
    enqueued = []
    for job in periodic_jobs():
        # No renewal: the holder's own next tick within the interval must not enqueue again.
        if lease_acquire(name=f"periodic:{job.name}", holder=holder, ttl=job.interval, renew=False):
            try:
                job.enqueue()
                enqueued.append(job.name)
            except Exception:
                logger.exception("Could not enqueue periodic job %s", job.name)
    return enqueued


class SchedulerThread(threading.Thread):
    """Check for due jobs every `tick` seconds until stopped."""

    def __init__(self, *, holder: str, tick: float = 5.0) -> None:
        super().__init__(name="madoguchi-scheduler", daemon=True)
        self.holder = holder
        self.tick = tick
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            close_old_connections()
            try:
                run_due_jobs(holder=self.holder)
            except Exception:
                logger.exception("Scheduler tick failed")
            self.stopped.wait(self.tick)
        close_old_connections()
