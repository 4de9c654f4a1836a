"""The daily retention run empties only old finished tickets and old raw data, in batches."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from madoguchi.connectors.line.models import LineChannel, LineWebhook
from madoguchi.connectors.mail.models import RawMail
from madoguchi.connectors.webform.models import Submission, WebForm
from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.core.scheduler import periodic_jobs
from madoguchi.core.testing import factories
from madoguchi.events.models import ActorKind, Event
from madoguchi.events.services import event_append
from madoguchi.privacy import retention
from madoguchi.privacy.models import RetentionPolicy, RetentionRun
from madoguchi.privacy.tasks import retention_run_due_task
from madoguchi.privacy.tickets import ERASED_SUBJECT
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _ticket(shop: Any, status: str, age_days: int, subject: str) -> Ticket:
    at = NOW - dt.timedelta(days=age_days)
    ticket = factories.TicketFactory(
        shop=shop, status=status, subject=subject, created_at=at, last_activity_at=at
    )
    event_append(
        shop=shop,
        ticket=ticket,
        type="ticket.created",
        actor_kind=ActorKind.CUSTOMER,
        payload={"channel": "email", "subject": subject, "via": "email"},
        occurred_at=at,
    )
    message = factories.MessageFactory(ticket=ticket, body_text=f"{subject}の本文", created_at=at)
    data = subject.encode()
    Attachment.objects.create(
        shop=shop,
        message=message,
        filename="写真.jpg",
        content_type="image/jpeg",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        file=ContentFile(data, name="x"),
    )
    return ticket


def _raw_mail(shop: Any, status: str, age_days: int, key: str) -> RawMail:
    return RawMail.objects.create(
        shop=shop,
        source=RawMail.Source.SMTP,
        raw=b"From: a@example.jp\r\n\r\nbody",
        sha256="0" * 64,
        idempotency_key=key,
        status=status,
        received_at=NOW - dt.timedelta(days=age_days),
    )


def test_the_run_empties_old_finished_tickets_and_old_raw_mail_only(
    world: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(retention, "TICKET_BATCH", 2)  # several batches, each committed alone
    statuses = Ticket.Status
    with in_shop(world.tea.id):
        old_closed = [
            _ticket(world.tea, statuses.CLOSED, 6 * 365 + n, f"古い相談{n}") for n in range(3)
        ]
        old_solved = _ticket(world.tea, statuses.SOLVED, 6 * 365, "古い解決済み")
        old_open = _ticket(world.tea, statuses.OPEN, 6 * 365, "古い未解決")
        recent_closed = _ticket(world.tea, statuses.CLOSED, 4 * 365, "最近の相談")
        expired = [*old_closed, old_solved]
        expired_files = list(
            Attachment.objects.filter(message__ticket__in=expired).values_list("file", flat=True)
        )
        kept_files = list(
            Attachment.objects.filter(message__ticket__in=[old_open, recent_closed]).values_list(
                "file", flat=True
            )
        )
        old_raw = _raw_mail(world.tea, RawMail.Status.PROCESSED, 120, "<old@x>")
        waiting_raw = _raw_mail(world.tea, RawMail.Status.RECEIVED, 120, "<waiting@x>")
        recent_raw = _raw_mail(world.tea, RawMail.Status.PROCESSED, 30, "<recent@x>")
        old_submission, recent_submission = (
            Submission.objects.create(
                shop=world.tea,
                form=WebForm.objects.get_or_create(shop=world.tea)[0],
                email="visitor@example.jp",
                message="フォームからの問い合わせ",
                status=Submission.Status.PROCESSED,
                created_at=NOW - dt.timedelta(days=age),
            )
            for age in (120, 30)
        )
        line_channel = LineChannel.objects.create(
            shop=world.tea, name="公式", channel_id="1", channel_secret="s", access_token="t"
        )
        old_webhook = LineWebhook.objects.create(
            shop=world.tea,
            channel=line_channel,
            body=b"{}",
            status=LineWebhook.Status.PROCESSED,
            received_at=NOW - dt.timedelta(days=91),
        )
        RetentionPolicy.objects.create(
            shop=world.tea, is_enabled=True, closed_ticket_years=5, raw_payload_days=90
        )
        events_before = Event.objects.count()
    with in_shop(world.ceramics.id):
        ceramics_old = _ticket(world.ceramics, statuses.CLOSED, 9 * 365, "陶器の古い相談")
        RetentionPolicy.objects.create(shop=world.ceramics, is_enabled=False)

    with unscoped("test"):
        runs = retention.retention_run_due(now=NOW)

    storage = Attachment._meta.get_field("file").storage
    assert [run.shop_id for run in runs] == [world.tea.id]
    with in_shop(world.tea.id):
        run = RetentionRun.objects.get()
        assert (
            run.tickets_count,
            run.messages_count,
            run.attachments_count,
            run.raw_mails_count,
            run.raw_payloads_count,
            run.errors,
        ) == (4, 4, 4, 1, 2, "")
        assert (run.closed_ticket_years, run.raw_payload_days, run.started_at) == (5, 90, NOW)
        assert run.ended_at is not None
        assert set(
            Ticket.objects.filter(id__in=[t.id for t in expired]).values_list("subject", flat=True)
        ) == {ERASED_SUBJECT}
        assert not Message.objects.filter(ticket__in=expired).exists()
        assert Message.objects.filter(ticket__in=[old_open, recent_closed]).count() == 2
        assert Ticket.objects.get(id=old_open.id).subject == "古い未解決"
        assert all(not storage.exists(name) for name in expired_files)
        assert all(storage.exists(name) for name in kept_files)
        assert set(RawMail.objects.values_list("id", flat=True)) == {waiting_raw.id, recent_raw.id}
        assert old_raw.id not in set(RawMail.objects.values_list("id", flat=True))
        assert list(Submission.objects.values_list("id", flat=True)) == [recent_submission.id]
        assert not Submission.objects.filter(id=old_submission.id).exists()
        assert not LineWebhook.objects.filter(id=old_webhook.id).exists()
        # The log keeps every event; only the subjects of the emptied tickets are blanked.
        assert Event.objects.count() == events_before
        subjects = dict(
            Event.objects.filter(type="ticket.created").values_list("ticket_id", "payload__subject")
        )
        assert {subjects[t.id] for t in expired} == {""}
        assert subjects[old_open.id] == "古い未解決"
    with in_shop(world.ceramics.id):
        assert Ticket.objects.get(id=ceramics_old.id).subject == "陶器の古い相談"
        assert not RetentionRun.objects.exists()

    # A second run finds nothing more to do, and reports that too.
    with unscoped("test"):
        second = retention.retention_run_due(now=NOW)[0]
    assert (second.tickets_count, second.messages_count, second.raw_mails_count) == (0, 0, 0)


def test_the_scheduler_runs_the_task_daily(world: Any) -> None:
    job = next(job for job in periodic_jobs() if job.name == "privacy_retention")
    assert job.interval == dt.timedelta(days=1)
    with in_shop(world.tea.id):
        RetentionPolicy.objects.create(shop=world.tea, is_enabled=True)
    assert retention_run_due_task.call() == 1
    with unscoped("test"):
        assert RetentionRun.objects.filter(shop=world.tea).count() == 1
    assert (
        timezone.now() - RetentionRun.objects.model._base_manager.get().started_at
        < dt.timedelta(minutes=1)
    )


def test_a_failed_batch_is_reported_and_the_raw_data_still_expires(
    world: Any, monkeypatch: Any
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(retention, "tickets_empty", broken)
    with in_shop(world.tea.id):
        ticket = _ticket(world.tea, Ticket.Status.CLOSED, 6 * 365, "古い相談")
        _raw_mail(world.tea, RawMail.Status.PROCESSED, 120, "<old@x>")
        RetentionPolicy.objects.create(shop=world.tea, is_enabled=True)
        run = retention.retention_run(shop=world.tea, now=NOW)
        assert (run.errors, run.tickets_count, run.raw_mails_count) == ("tickets: disk full", 0, 1)
        assert Ticket.objects.get(id=ticket.id).subject == "古い相談"
        assert Message.objects.filter(ticket=ticket).count() == 1
