"""`mail import` keeps the live path's size limits and resumes what a killed import left
(issue 14)."""

import json

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from madoguchi.connectors.mail.models import RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.tests.mail_builders import mail_setup, make_mail
from madoguchi.connectors.mail.tests.raw import build
from madoguchi.conversations.models import Attachment, Ticket
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_world(world, settings):
    settings.EMAIL_PORT = 9
    mail_setup(world)
    return world


def run_import(capsys, *paths):
    call_command("mail", "import", "--shop", "tea", *map(str, paths))
    return json.loads(capsys.readouterr().out)


def with_attachment(message_id: str, size: int) -> bytes:
    import base64

    payload = base64.encodebytes(b"\x00" * size)
    return build(
        [
            "From: 佐藤 花子 <hanako@example.com>",
            "To: support@tea.example.jp",
            "Subject: 添付",
            "Date: Thu, 20 Nov 2025 10:15:00 +0900",
            f"Message-ID: <{message_id}>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="B"',
        ],
        b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"
        b"--B\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename=big.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + payload + b"\r\n--B--\r\n",
    )


def test_a_mail_over_the_size_limit_is_kept_raw_and_not_processed(
    mail_world, tmp_path, capsys, settings
):
    settings.MADOGUCHI = {**settings.MADOGUCHI, "MAIL_MAX_BYTES": 10_000}
    big = with_attachment("big@x", 20_000)
    (tmp_path / "big.eml").write_bytes(big)
    (tmp_path / "small.eml").write_bytes(make_mail(message_id="small@x"))

    summary = run_import(capsys, tmp_path / "big.eml", tmp_path / "small.eml")

    assert summary == {
        "messages": 2,
        "tickets_created": 1,
        "messages_appended": 0,
        "duplicates": 0,
        "automated": 0,
        "failed": 0,
        "too_large": 1,
        "resumed": 0,
    }
    with scopes_disabled():
        row = RawMail.objects.get(idempotency_key="big@x")
        assert Attachment.objects.filter(shop=mail_world.tea).count() == 0
    assert (row.status, row.outcome, bytes(row.raw), row.ticket_id) == (
        "failed",
        "oversize",
        big,
        None,
    )
    assert row.last_error == (
        "This mail is over the size limit for mail: it was not processed. The original is kept."
    )


def test_an_attachment_over_the_limit_is_not_stored(mail_world, tmp_path, capsys, settings):
    settings.MADOGUCHI = {**settings.MADOGUCHI, "ATTACHMENT_MAX_BYTES": 1_000}
    (tmp_path / "a.eml").write_bytes(with_attachment("att@x", 5_000))

    summary = run_import(capsys, tmp_path / "a.eml")

    assert (summary["tickets_created"], summary["too_large"]) == (1, 0)
    with scopes_disabled():
        # The ticket lists the file as not stored (conversations.storage_quota).
        (attachment,) = Attachment.objects.filter(shop=mail_world.tea)
        assert (attachment.withheld, attachment.file.name) == ("file_limit", "")
        row = RawMail.objects.get(idempotency_key="att@x")
    assert (row.status, len(bytes(row.raw)) > 5_000) == ("processed", True)


def test_a_rerun_resumes_what_a_killed_import_left(mail_world, tmp_path, capsys):
    mails = {
        "done": make_mail(message_id="done@x", sender="a@example.com"),
        "stored": make_mail(message_id="stored@x", sender="b@example.com"),
        "claimed": make_mail(message_id="claimed@x", sender="c@example.com"),
    }
    for name, raw in mails.items():
        (tmp_path / f"{name}.eml").write_bytes(raw)
    # The killed run: "done" finished, "stored" was stored, "claimed" was being processed.
    run_import(capsys, tmp_path / "done.eml")
    with in_shop(mail_world.tea.id):
        for name in ("stored", "claimed"):
            ingest_raw(shop_ids=[mail_world.tea.id], raw=mails[name], source="import",
                       process=False)  # fmt: skip
    with scopes_disabled():
        RawMail.objects.filter(idempotency_key="claimed@x").update(status="processing", attempts=1)

    summary = run_import(capsys, *(tmp_path / f"{name}.eml" for name in mails))

    assert summary == {
        "messages": 3,
        "tickets_created": 2,
        "messages_appended": 0,
        "duplicates": 1,
        "automated": 0,
        "failed": 0,
        "too_large": 0,
        "resumed": 2,
    }
    with scopes_disabled():
        statuses = dict(RawMail.objects.values_list("idempotency_key", "status"))
        subjects = Ticket.objects.filter(shop=mail_world.tea, customer__name="佐藤 花子").count()
    assert statuses == {"done@x": "processed", "stored@x": "processed", "claimed@x": "processed"}
    assert subjects == 3


def test_a_rerun_does_not_take_live_mail(mail_world, tmp_path, capsys):
    raw = make_mail(message_id="live@x")
    (tmp_path / "live.eml").write_bytes(raw)
    with in_shop(mail_world.tea.id):
        ingest_raw(shop_ids=[mail_world.tea.id], raw=raw, source="imap", process=False)

    summary = run_import(capsys, tmp_path / "live.eml")

    assert (summary["duplicates"], summary["resumed"]) == (1, 0)
    with scopes_disabled():
        assert RawMail.objects.get(idempotency_key="live@x").status == "received"


def test_the_sweeper_leaves_an_imports_stored_mails_to_the_import(mail_world):
    import datetime as dt

    from django.utils import timezone

    from madoguchi.connectors.mail.pipeline import raw_mail_sweep

    with in_shop(mail_world.tea.id):
        ingest_raw(shop_ids=[mail_world.tea.id], raw=make_mail(message_id="imp@x"),
                   source="import", process=False)  # fmt: skip
        ingest_raw(shop_ids=[mail_world.tea.id], raw=make_mail(message_id="live@x"),
                   source="imap", process=False)  # fmt: skip

    def statuses():
        with scopes_disabled():
            return dict(RawMail.objects.values_list("idempotency_key", "status"))

    later = timezone.now() + dt.timedelta(minutes=10)
    assert raw_mail_sweep(now=later) == {"stale": 0, "requeued": 1}  # the IMAP mail only
    assert statuses() == {"imp@x": "received", "live@x": "processed"}
    # A killed import nobody re-runs: swept after an hour.
    assert raw_mail_sweep(now=later + dt.timedelta(hours=1)) == {"stale": 0, "requeued": 1}
    assert statuses() == {"imp@x": "processed", "live@x": "processed"}


def _import_peak(capsys, paths) -> int:
    """The most memory (Python's allocations) importing these files took at once."""
    import tracemalloc

    tracemalloc.start()
    try:
        summary = run_import(capsys, *paths)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary["tickets_created"] == len(paths)
    return peak


def test_a_batch_holds_at_most_its_byte_budget_of_parsed_mail(
    mail_world, tmp_path, capsys, settings
):
    # Checklist 8 (worker memory bounded): however many large mails an import (or a burst of
    # SMTP or IMAP mail) brings, a batch holds at most MAIL_BATCH_BYTES of them parsed at once.
    paths = []
    for n in range(9):
        (tmp_path / f"{n}.eml").write_bytes(with_attachment(f"large{n}@x", 5 * 1024 * 1024))
        paths.append(tmp_path / f"{n}.eml")
    size = paths[0].stat().st_size
    settings.MADOGUCHI = {**settings.MADOGUCHI, "MAIL_BATCH_BYTES": 2 * size}
    alone = _import_peak(capsys, paths[:1])
    many = _import_peak(capsys, paths[1:])
    # Parsing one mail takes about ten times its size; eight at once would add far more than
    # the two the budget lets a batch hold.
    assert many < alone + 3 * size, (alone / size, many / size)
    with scopes_disabled():
        assert Attachment.objects.filter(shop=mail_world.tea).count() == 9
