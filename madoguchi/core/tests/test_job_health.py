"""Periodic jobs' health: runs recorded from the task signals, /healthz/jobs, the admins' alert."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from madoguchi.core import scheduler
from madoguchi.core.job_health import job_health
from madoguchi.core.models import ScheduledJob
from madoguchi.core.scheduler import register_periodic, run_due_jobs
from madoguchi.core.tasks import refresh_planner_statistics, task

pytestmark = pytest.mark.django_db


@task()
def failing_job() -> None:
    raise RuntimeError("boom")


@pytest.fixture
def jobs(monkeypatch):
    """Two real tasks as the only periodic jobs (the test backend runs them at enqueue)."""
    monkeypatch.setattr(scheduler, "_JOBS", {})
    register_periodic("planner", dt.timedelta(hours=6), refresh_planner_statistics.enqueue)
    register_periodic("failing", dt.timedelta(minutes=1), failing_job.enqueue)


def _age(name: str, *, by: dt.timedelta) -> None:
    """Move every time of the job `by` into the past, as if that much time had gone by."""
    row = ScheduledJob.objects.get(name=name)
    for field in ("created_at", "last_enqueued_at", "last_started_at", "last_finished_at"):
        if getattr(row, field) is not None:
            setattr(row, field, getattr(row, field) - by)
    row.save()


def test_each_run_is_recorded_with_its_outcome(jobs):
    before = timezone.now()
    assert sorted(run_due_jobs(holder="worker-1")) == ["failing", "planner"]

    planner = ScheduledJob.objects.get(name="planner")
    assert planner.task_path == "madoguchi.core.tasks.refresh_planner_statistics"
    assert planner.last_outcome == "ok"
    assert before <= planner.last_enqueued_at <= planner.last_started_at
    assert planner.last_started_at <= planner.last_finished_at
    failing = ScheduledJob.objects.get(name="failing")
    assert failing.last_outcome == "error"
    assert [(job.name, job.last_outcome, job.is_stale) for job in job_health()] == [
        ("failing", "error", False),
        ("planner", "ok", False),
    ]


def test_a_job_is_stale_after_three_intervals_without_a_finished_run(jobs):
    run_due_jobs(holder="worker-1")
    _age("planner", by=dt.timedelta(hours=18) - dt.timedelta(seconds=5))
    assert {job.name: job.is_stale for job in job_health()}["planner"] is False
    _age("planner", by=dt.timedelta(seconds=10))
    assert {job.name: job.is_stale for job in job_health()}["planner"] is True


def test_a_job_no_scheduler_has_seen_is_stale(jobs):
    assert [(job.name, job.is_stale, job.last_enqueued_at) for job in job_health()] == [
        ("failing", True, None),
        ("planner", True, None),
    ]


def test_healthz_jobs_reports_each_job_and_the_stale_ones(jobs, client: Client):
    run_due_jobs(holder="worker-1")
    _age("failing", by=dt.timedelta(minutes=4))

    response = client.get("/healthz/jobs")

    assert response.status_code == 200  # a stale job does not take the web process out
    body = json.loads(response.content)
    assert body["status"] == "ok"
    assert body["stale_jobs"] == ["failing"]
    assert set(body["jobs"]) == {"failing", "planner"}
    planner = body["jobs"]["planner"]
    assert planner["interval_seconds"] == 6 * 3600
    assert planner["last_outcome"] == "ok"
    assert planner["stale"] is False
    row = ScheduledJob.objects.get(name="planner")
    assert planner["last_finished_at"] == row.last_finished_at.isoformat()
    assert set(planner) == {
        "interval_seconds",
        "last_enqueued_at",
        "last_started_at",
        "last_finished_at",
        "last_outcome",
        "stale",
    }
    assert b"worker-1" not in response.content  # no process names, nothing beyond job times


def _page(user) -> str:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    response = client.get(reverse("conversations:inbox"))
    assert response.status_code == 200
    return response.content.decode()


def test_workspace_admins_see_the_stale_job_alert_in_japanese(jobs, world):
    run_due_jobs(holder="worker-1")
    _age("failing", by=dt.timedelta(minutes=4))

    page = _page(world.admin)
    assert 'data-testid="stale-jobs-alert"' in page
    assert "1 件の定期ジョブが、実行間隔の 3 回分以上実行されていません" in page
    assert "<code>failing</code>" in page
    for user in (world.supervisor, world.operator_tea, world.client_tea):
        assert 'data-testid="stale-jobs-alert"' not in _page(user)


def test_no_alert_while_every_job_runs(jobs, world):
    run_due_jobs(holder="worker-1")
    assert 'data-testid="stale-jobs-alert"' not in _page(world.admin)
