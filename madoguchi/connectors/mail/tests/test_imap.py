"""IMAP pull against a real Dovecot on loopback (Debian `dovecot-imapd`).

The `dovecot` fixture (madoguchi.core.testing.mailservers) starts Dovecot in the foreground with
its own config directory, a free port, a passwd-file user and a Maildir in a temporary directory,
as a non-root mail user (Dovecot refuses uid 0). Checklist A 1-3 and 8 of reference/security.md.
"""

import threading

import pytest
from django_scopes import scopes_disabled
from imapclient import IMAPClient

from madoguchi.connectors.mail import imap, parsing
from madoguchi.connectors.mail.models import Mailbox, OutboundMail, RawMail
from madoguchi.connectors.mail.tests.mail_builders import mail_setup, make_mail
from madoguchi.conversations.models import Ticket
from madoguchi.core.testing.mailservers import free_port
from madoguchi.tenancy.scoping import in_shop


@pytest.fixture
def mailbox(world, dovecot, settings):
    settings.EMAIL_PORT = free_port()  # acknowledgements stay queued
    mail_setup(world)
    with scopes_disabled():
        return Mailbox.objects.create(
            shop=world.tea,
            name="support",
            host="127.0.0.1",
            port=dovecot.port,
            security=Mailbox.Security.NONE,
            username=dovecot.user,
            password=dovecot.password,
        )


@pytest.fixture
def poll(mailbox, django_capture_on_commit_callbacks):
    def poll():
        with in_shop(mailbox.shop_id), django_capture_on_commit_callbacks(execute=True):
            fresh = Mailbox.objects.get(pk=mailbox.pk)
            return imap.mailbox_poll(mailbox=fresh)

    return poll


def tickets(shop):
    with scopes_disabled():
        return list(
            Ticket.objects.filter(shop=shop).order_by("number").values_list("subject", flat=True)
        )


def raw_rows(shop):
    with scopes_disabled():
        return list(
            RawMail.objects.filter(shop=shop).order_by("id").values_list("status", "outcome")
        )


def ack_count(shop):
    with scopes_disabled():
        return OutboundMail.objects.filter(shop=shop, kind="ack").count()


PROCESSED = {b"\\Seen", imap.PROCESSED_FLAG}


@pytest.mark.django_db
def test_poll_stores_new_mail_flags_it_and_remembers_the_uid(world, mailbox, poll, dovecot):
    dovecot.append(
        make_mail(message_id="m1@x.example", subject="一通目"),
        make_mail(message_id="m2@x.example", subject="二通目", sender="b@example.com"),
    )

    first = poll()
    second = poll()

    assert (first.stored, first.duplicates, second.stored, second.duplicates) == (2, 0, 0, 0)
    assert tickets(world.tea)[1:] == ["一通目", "二通目"]
    assert dovecot.flags() == {1: PROCESSED, 2: PROCESSED}
    with scopes_disabled():
        mailbox.refresh_from_db()
    assert (mailbox.last_seen_uid, mailbox.uid_validity is not None, mailbox.last_error) == (
        2,
        True,
        "",
    )


@pytest.mark.django_db
def test_poison_mail_between_two_good_ones(world, mailbox, poll, dovecot, monkeypatch):
    real_parse = parsing.parse_mail

    def parse(raw):
        if b"POISON" in raw:
            raise RecursionError("maximum recursion depth exceeded")
        return real_parse(raw)

    monkeypatch.setattr(parsing, "parse_mail", parse)
    dovecot.append(
        make_mail(message_id="g1@x.example", subject="good one"),
        make_mail(message_id="bad@x.example", subject="POISON"),
        make_mail(message_id="g2@x.example", subject="good two", sender="c@example.com"),
    )

    poll()
    # A later run that lost its memory (flags cleared, UID forgotten) imports nothing twice.
    client = dovecot.client()
    client.select_folder("INBOX")
    client.remove_flags([1, 2, 3], [b"\\Seen", imap.PROCESSED_FLAG])
    client.logout()
    with scopes_disabled():
        Mailbox.objects.filter(pk=mailbox.pk).update(last_seen_uid=0)
    again = poll()

    assert tickets(world.tea)[1:] == ["good one", "good two"]
    assert raw_rows(world.tea) == [
        ("processed", "created"),
        ("failed", ""),
        ("processed", "created"),
    ]
    assert (again.stored, again.duplicates) == (0, 3)
    assert ack_count(world.tea) == 2
    with scopes_disabled():
        failed = RawMail.objects.get(shop=world.tea, status="failed")
    assert b"Subject: POISON" in bytes(failed.raw)


@pytest.mark.django_db
def test_crash_after_commit_before_flag(world, mailbox, poll, dovecot, monkeypatch):
    dovecot.append(make_mail(message_id="crash@x.example"))

    def crash(client, mailbox, uids):
        raise ConnectionResetError("worker killed")

    monkeypatch.setattr(imap, "_mark_processed", crash)
    with pytest.raises(ConnectionResetError):
        poll()
    assert dovecot.flags() == {1: set()}
    monkeypatch.undo()
    rerun = poll()

    assert (rerun.stored, rerun.duplicates) == (0, 1)
    assert len(tickets(world.tea)) == 2
    assert ack_count(world.tea) == 1
    assert dovecot.flags() == {1: PROCESSED}


@pytest.mark.django_db
def test_two_fetchers_at_once_make_one_ticket_per_message(
    world, mailbox, poll, dovecot, monkeypatch
):
    dovecot.append(
        make_mail(message_id="c1@x.example", subject="一"),
        make_mail(message_id="c2@x.example", subject="二", sender="d@example.com"),
    )
    real_ingest = imap.ingest_raw_batch
    interleaved = []

    def ingest(**kwargs):
        # Fetcher A has listed and downloaded the mail; fetcher B runs completely right now.
        if not interleaved:
            interleaved.append(None)
            interleaved[0] = poll()
        return real_ingest(**kwargs)

    monkeypatch.setattr(imap, "ingest_raw_batch", ingest)
    first = poll()

    assert (interleaved[0].stored, first.stored, first.duplicates) == (2, 0, 2)
    assert tickets(world.tea)[1:] == ["一", "二"]
    assert ack_count(world.tea) == 2
    assert raw_rows(world.tea) == [("processed", "created")] * 2


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_fetcher_threads_at_once_make_one_ticket_per_message(world, mailbox, dovecot):
    dovecot.append(
        *[
            make_mail(message_id=f"t{n}@x.example", subject=f"件名{n}", sender=f"u{n}@example.com")
            for n in range(5)
        ],
    )
    barrier = threading.Barrier(2)
    errors = []

    def fetch():
        try:
            barrier.wait(10)
            with in_shop(mailbox.shop_id):
                imap.mailbox_poll(mailbox=Mailbox.objects.get(pk=mailbox.pk))
        except Exception as error:
            errors.append(error)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sorted(tickets(world.tea)[1:]) == [f"件名{n}" for n in range(5)]
    assert ack_count(world.tea) == 5


@pytest.mark.django_db
def test_oversized_mail_is_not_downloaded(world, mailbox, poll, dovecot, monkeypatch):
    with scopes_disabled():
        Mailbox.objects.filter(pk=mailbox.pk).update(max_message_bytes=4000)
    big = make_mail(message_id="big@x.example", body="大" * 3000)
    dovecot.append(big, make_mail(message_id="small@x.example", subject="小さい"))
    downloads = []
    real_fetch = IMAPClient.fetch

    def fetch(self, messages, data, modifiers=None):
        if "BODY.PEEK[]" in data:
            downloads.extend(messages)
        return real_fetch(self, messages, data, modifiers)

    monkeypatch.setattr(IMAPClient, "fetch", fetch)
    result = poll()
    poll()

    assert downloads == [2]
    assert (result.stored, result.oversized) == (1, 1)
    assert tickets(world.tea)[1:] == ["小さい"]
    with scopes_disabled():
        notice = RawMail.objects.get(shop=world.tea, outcome="oversize")
    assert notice.status == "failed"
    size = int(notice.last_error.split()[2])
    assert notice.last_error == f"Not downloaded: {size} bytes is over the mailbox limit."
    assert size == len(big)
    assert notice.is_reprocessable is False
    assert dovecot.flags() == {1: PROCESSED, 2: PROCESSED}


@pytest.mark.django_db
def test_processed_mail_can_be_moved_to_a_folder(world, mailbox, poll, dovecot):
    client = dovecot.client()
    client.create_folder("Processed")
    client.logout()
    with scopes_disabled():
        Mailbox.objects.filter(pk=mailbox.pk).update(processed_folder="Processed")
    dovecot.append(make_mail(message_id="move@x.example"))

    poll()

    client = dovecot.client()
    inbox = client.select_folder("INBOX")[b"EXISTS"]
    moved = client.select_folder("Processed")[b"EXISTS"]
    client.logout()
    assert (inbox, moved) == (0, 1)
    assert len(tickets(world.tea)) == 2


@pytest.mark.django_db
def test_a_poll_processes_its_mails_in_one_batch_task(world, mailbox, poll, dovecot, monkeypatch):
    from madoguchi.connectors.mail import pipeline

    real_parse = parsing.parse_mail

    def parse(raw):
        if b"POISON" in raw:
            raise RecursionError("maximum recursion depth exceeded")
        return real_parse(raw)

    batches = []
    singles = []
    real_batch = pipeline.raw_mail_process_batch

    def process_batch(*, raw_mail_ids):
        batches.append(list(raw_mail_ids))
        return real_batch(raw_mail_ids=raw_mail_ids)

    def process_one(*, raw_mail_id):
        singles.append(raw_mail_id)
        raise AssertionError("a polled mail was processed on its own")

    monkeypatch.setattr(parsing, "parse_mail", parse)
    monkeypatch.setattr(pipeline, "raw_mail_process_batch", process_batch)
    monkeypatch.setattr(pipeline, "raw_mail_process", process_one)
    mails = [
        make_mail(message_id=f"n{n}@x.example", subject=f"件名{n}", sender=f"n{n}@example.com")
        for n in range(5)
    ]
    mails[2] = make_mail(message_id="poison@x.example", subject="POISON")
    dovecot.append(*mails)

    result = poll()

    with scopes_disabled():
        stored = list(
            RawMail.objects.filter(shop=world.tea).order_by("id").values_list("id", flat=True)
        )
    assert result.stored == 5
    assert (batches, singles) == ([stored], [])
    assert (
        raw_rows(world.tea)
        == [("processed", "created")] * 2 + [("failed", "")] + [("processed", "created")] * 2
    )
    assert tickets(world.tea)[1:] == ["件名0", "件名1", "件名3", "件名4"]
    assert ack_count(world.tea) == 4
    assert dovecot.flags() == {uid: PROCESSED for uid in range(1, 6)}


def test_downloads_are_grouped_up_to_the_byte_budget(monkeypatch):
    monkeypatch.setattr(imap, "FETCH_BYTES", 100)
    sizes = [(1, 40), (2, 40), (3, 40), (4, 150), (5, 10)]
    # A mail over the budget on its own still goes, alone; the order is kept.
    assert imap._by_total_size(sizes) == [[1, 2], [3], [4], [5]]
    assert imap._by_total_size([]) == []
