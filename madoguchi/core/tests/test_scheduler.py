"""The scheduler enqueues each periodic job once per interval, however many processes run it."""

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.core import scheduler
from madoguchi.core.models import Lease
from madoguchi.core.scheduler import periodic_jobs, register_periodic, run_due_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs(monkeypatch):
    """Replace the registry with a test job that counts its enqueues."""
    monkeypatch.setattr(scheduler, "_JOBS", {})
    calls: list[str] = []
    register_periodic("count", dt.timedelta(minutes=10), lambda: calls.append("count"))
    return calls


def _interval_passes(job_name: str) -> None:
    Lease.objects.filter(name=f"periodic:{job_name}").update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
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
    def broken() -> None:
        raise RuntimeError("queue down")

    register_periodic("broken", dt.timedelta(minutes=1), broken)
    assert run_due_jobs(holder="web-1") == ["count"]
    assert jobs == ["count"]
    assert [job.name for job in periodic_jobs()] == ["count", "broken"]
    assert "Could not enqueue periodic job broken" in caplog.text
