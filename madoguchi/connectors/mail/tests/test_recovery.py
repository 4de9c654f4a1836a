"""Mail rows a dead worker claimed are handed back at once, each once (mail.recovery, ADR 0016)."""

import datetime as dt

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from madoguchi.connectors.mail import pipeline
from madoguchi.connectors.mail.models import OutboundMail, RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw, raw_mail_process, raw_mail_sweep
from madoguchi.connectors.mail.recovery import (
    RECOVERY_PRIORITY,
    outbound_recover,
    raw_mail_recover,
)
from madoguchi.connectors.mail.sending import DELIVERY_UNKNOWN
from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS, mail_setup, make_mail
from madoguchi.conversations.models import Ticket
from madoguchi.core.models import WorkerHeartbeat
from madoguchi.core.workers import as_worker, heartbeat_beat, workers_recover

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_world(world, settings):
    settings.EMAIL_PORT = 9  # nothing listens: nothing leaves
    mail_setup(world)
    return world


def _stored(world, *, subject: str) -> int:
    with scopes_disabled():
        stored = ingest_raw(
            shop_ids=[world.tea.id],
            raw=make_mail(subject=subject, message_id=f"{subject}@mail.example.com"),
            source="imap",
            process=False,
        )
    return stored[0].raw_mail_id


def _claimed(raw_mail_id: int, worker_id: str) -> None:
    """The state a worker leaves when it is killed in the middle of processing the mail."""
    with scopes_disabled():
        RawMail.objects.filter(pk=raw_mail_id).update(
            status=RawMail.Status.PROCESSING,
            processing_started_at=timezone.now(),
            claimed_by=worker_id,
            attempts=1,
        )


def test_a_worker_claims_the_mail_under_its_id(mail_world, monkeypatch):
    raw_mail_id = _stored(mail_world, subject="claim")
    seen: list[str] = []
    parse = pipeline.parse_with_time_limit

    def watching(raw: bytes, *, timeout: float):  # type: ignore[no-untyped-def]
        seen.append(RawMail.objects.get(pk=raw_mail_id).claimed_by)
        return parse(raw, timeout=timeout)

    monkeypatch.setattr(pipeline, "parse_with_time_limit", watching)
    with scopes_disabled(), as_worker("worker-a"):
        assert raw_mail_process(raw_mail_id=raw_mail_id) == "processed"
    assert seen == ["worker-a"]


def test_the_dead_workers_mail_is_processed_once_after_recovery(mail_world, settings):
    settings.MADOGUCHI = {**settings.MADOGUCHI, "WORKER_DEAD_SECONDS": 30}
    dead = _stored(mail_world, subject="dead")
    alive = _stored(mail_world, subject="alive")
    unowned = _stored(mail_world, subject="unowned")
    _claimed(dead, "worker-dead")
    _claimed(alive, "worker-alive")
    _claimed(unowned, "")  # claimed outside a worker: left to the 15-minute sweep
    heartbeat_beat(worker_id="worker-dead")
    heartbeat_beat(worker_id="worker-alive")
    WorkerHeartbeat.objects.filter(worker_id="worker-dead").update(
        last_beat_at=timezone.now() - dt.timedelta(seconds=31)
    )

    assert workers_recover()["rows"] == 1
    assert raw_mail_recover("worker-dead") == 0  # never twice

    with scopes_disabled():
        rows = {row.pk: row for row in RawMail.objects.filter(pk__in=[dead, alive, unowned])}
        assert (rows[dead].status, rows[dead].claimed_by) == ("received", "")
        assert rows[dead].last_error == "The worker stopped while processing this mail."
        assert rows[alive].status == rows[unowned].status == "processing"
        assert raw_mail_process(raw_mail_id=dead) == "processed"
        assert raw_mail_process(raw_mail_id=dead) == "processed"
        assert Ticket.objects.filter(shop=mail_world.tea, subject="dead").count() == 1
        # The sweep of rows without an owner still waits for PROCESSING_TIMEOUT.
        assert raw_mail_sweep()["stale"] == 0
        later = timezone.now() + pipeline.PROCESSING_TIMEOUT + dt.timedelta(seconds=1)
        assert raw_mail_sweep(now=later)["stale"] == 2


def test_every_row_of_the_dead_workers_batch_is_processed_again_at_once(
    mail_world, settings, django_capture_on_commit_callbacks
):
    # A batch task claims many rows; their own tasks ended finding them taken, and the re-queued
    # task takes up only fresh rows: without a task of their own they waited for the sweep.
    settings.MADOGUCHI = {**settings.MADOGUCHI, "WORKER_DEAD_SECONDS": 30}
    batch = [_stored(mail_world, subject=f"batch-{number}") for number in range(3)]
    for raw_mail_id in batch:
        _claimed(raw_mail_id, "worker-dead")
    heartbeat_beat(worker_id="worker-dead")
    WorkerHeartbeat.objects.filter(worker_id="worker-dead").update(
        last_beat_at=timezone.now() - dt.timedelta(seconds=31)
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert workers_recover()["rows"] == 3

    # The first callback queued one batch task for the shop's three rows, ahead of the queue
    # (running it queued the acknowledgements).
    assert callbacks[0].args == (mail_world.tea.id, batch)
    assert callbacks[0].func.__self__.priority == RECOVERY_PRIORITY
    with scopes_disabled():
        statuses = RawMail.objects.filter(pk__in=batch).values_list("status", "claimed_by")
        assert sorted(statuses) == [("processed", "")] * 3
        subjects = Ticket.objects.filter(shop=mail_world.tea, subject__startswith="batch-")
        assert sorted(subjects.values_list("subject", flat=True)) == [
            "batch-0",
            "batch-1",
            "batch-2",
        ]


def test_a_row_finished_meanwhile_is_not_handed_back(mail_world):
    raw_mail_id = _stored(mail_world, subject="finished")
    with scopes_disabled(), as_worker("worker-slow"):
        assert raw_mail_process(raw_mail_id=raw_mail_id) == "processed"
    assert raw_mail_recover("worker-slow") == 0
    with scopes_disabled():
        assert RawMail.objects.get(pk=raw_mail_id).status == "processed"


def test_mail_the_dead_worker_was_sending_is_settled_never_resent(mail_world):
    with scopes_disabled():
        ticket = mail_world.tea_ticket
        common = {
            "shop": mail_world.tea,
            "ticket": ticket,
            "from_address": TEA_ADDRESS,
            "to_address": "hanako@example.com",
            "subject": "ご連絡",
            "raw": b"Subject: x\r\n\r\nbody\r\n",
            "status": OutboundMail.Status.SENDING,
            "sending_started_at": timezone.now(),
            "created_at": timezone.now(),
        }
        dead = OutboundMail.objects.create(
            internet_message_id="a@madoguchi.localhost", claimed_by="worker-dead", **common
        )
        alive = OutboundMail.objects.create(
            internet_message_id="b@madoguchi.localhost", claimed_by="worker-alive", **common
        )

    assert outbound_recover("worker-dead") == 1
    assert outbound_recover("worker-dead") == 0

    with scopes_disabled():
        dead.refresh_from_db()
        alive.refresh_from_db()
    assert (dead.status, dead.last_error) == ("failed", DELIVERY_UNKNOWN)
    assert alive.status == "sending"
