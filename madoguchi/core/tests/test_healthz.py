"""GET /healthz: 200 when the database answers, 503 when it does not, and nothing more."""

import json
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

from madoguchi.core.scheduler import periodic_jobs

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_when_the_database_answers(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    # The contract (DESIGN.md): this and nothing more; the jobs are /healthz/jobs.
    assert json.loads(response.content) == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_jobs_lists_every_periodic_job(client: Client) -> None:
    response = client.get("/healthz/jobs")

    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["status"] == "ok"
    # Every registered periodic job is reported (core.job_health, test_job_health.py).
    assert set(body["jobs"]) == {job.name for job in periodic_jobs()}
    assert body["stale_jobs"] == sorted(body["jobs"])  # no scheduler has run in this test
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_the_database_fails(client: Client) -> None:
    broken = mock.MagicMock()
    broken.__enter__.return_value.execute.side_effect = OperationalError("server closed")
    with mock.patch("madoguchi.core.views.connection.cursor", return_value=broken):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "error"}
    assert b"server closed" not in response.content


def test_healthz_refuses_post(client: Client) -> None:
    response = client.post("/healthz")

    assert response.status_code == 405
