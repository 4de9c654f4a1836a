"""How each periodic job has run: for /healthz/jobs and the alert workspace admins see (ADR 0016).

A job is stale when it has not finished a run for three of its intervals (since it was first
scheduled, when it never has): no process runs a scheduler, no worker runs the queue, or every
run dies. Job names and times only; no shop, no customer, nothing personal.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from madoguchi.core.models import ScheduledJob
from madoguchi.core.scheduler import STALE_AFTER_INTERVALS, periodic_jobs


@dataclass(frozen=True)
class JobHealth:
    name: str
    interval_seconds: int
    last_enqueued_at: dt.datetime | None
    last_started_at: dt.datetime | None
    last_finished_at: dt.datetime | None
    last_outcome: str
    is_stale: bool

    def as_json(self) -> dict[str, Any]:
        def when(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "interval_seconds": self.interval_seconds,
            "last_enqueued_at": when(self.last_enqueued_at),
            "last_started_at": when(self.last_started_at),
            "last_finished_at": when(self.last_finished_at),
            "last_outcome": self.last_outcome or None,
            "stale": self.is_stale,
        }


def job_health(*, now: dt.datetime | None = None) -> list[JobHealth]:
    """Return every registered job's last enqueue and run, and whether it is stale.

    A job no scheduler has ever seen is stale too: nothing runs a scheduler at all.
    """
    now = now or timezone.now()
    rows = {row.name: row for row in ScheduledJob.objects.all()}
    health = []
    for job in sorted(periodic_jobs(), key=lambda job: job.name):
        row = rows.get(job.name)
        interval = int(job.interval.total_seconds())
        if row is None:
            health.append(JobHealth(job.name, interval, None, None, None, "", True))
            continue
        since = row.last_finished_at or row.created_at
        stale_after = dt.timedelta(seconds=interval * STALE_AFTER_INTERVALS)
        health.append(
            JobHealth(
                name=job.name,
                interval_seconds=interval,
                last_enqueued_at=row.last_enqueued_at,
                last_started_at=row.last_started_at,
                last_finished_at=row.last_finished_at,
                last_outcome=row.last_outcome,
                is_stale=now - since > stale_after,
            )
        )
    return health


def stale_job_alert(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `stale_jobs` (names) for a workspace admin, evaluated on first use."""
    from madoguchi.tenancy.access import Role

    actor = getattr(request, "actor", None)
    if actor is None or not actor.is_authenticated:
        return {}
    if Role.ADMIN not in actor.workspace_roles.values():
        return {}
    return {"stale_jobs": _LazyStaleJobs()}


class _LazyStaleJobs:
    """The names of stale jobs, queried only when a page shows the alert."""

    def __init__(self) -> None:
        self._names: list[str] | None = None

    def _load(self) -> list[str]:
        if self._names is None:
            self._names = [job.name for job in job_health() if job.is_stale]
        return self._names

    def __bool__(self) -> bool:
        return bool(self._load())

    def __iter__(self) -> Any:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
