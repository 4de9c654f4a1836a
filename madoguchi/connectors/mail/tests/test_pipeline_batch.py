"""A worker run over several stored mails: one transaction, each mail in its own savepoint."""

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from madoguchi.connectors.mail import parsing, pipeline
from madoguchi.connectors.mail.models import MailSettings, OutboundMail, RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw, ingest_raw_batch, raw_mail_process_batch
from madoguchi.connectors.mail.tests.mail_builders import mail_setup, make_mail
from madoguchi.conversations.models import Message, Ticket
from madoguchi.search.models import SearchDocument
from madoguchi.tenancy import services
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_world(world, settings):
    settings.EMAIL_PORT = 9  # nothing listens: queued mail stays queued, nothing leaves
    mail_setup(world)
    return world


def _store(shop, *mails):
    with in_shop(shop.id):
        return [
            ingest_raw(shop_ids=[shop.id], raw=raw, source="imap", process=False)[0].raw_mail_id
            for raw in mails
        ]


def _rows(ids):
    with scopes_disabled():
        rows = RawMail.objects.in_bulk(ids)
    return [rows[raw_mail_id] for raw_mail_id in ids]


def test_one_failing_mail_rolls_back_alone(
    mail_world, monkeypatch, django_capture_on_commit_callbacks
):
    real_receive = pipeline.receive_inbound_many

    def receive(inbounds, **kwargs):
        results = real_receive(inbounds, **kwargs)
        if any(inbound.subject == "壊れたメール" for inbound in inbounds):
            raise ValueError("broken after its ticket was written")
        return results

    monkeypatch.setattr(pipeline, "receive_inbound_many", receive)
    ids = _store(
        mail_world.tea,
        make_mail(message_id="a@mail.example.com", subject="一通目", sender="a@example.com"),
        make_mail(message_id="b@mail.example.com", subject="壊れたメール", sender="b@example.com"),
        make_mail(
            message_id="c@mail.example.com",
            subject="Re: 一通目",
            sender="a@example.com",
            in_reply_to="<a@mail.example.com>",
        ),
    )
    with django_capture_on_commit_callbacks(execute=True), in_shop(mail_world.tea.id):
        statuses = raw_mail_process_batch(raw_mail_ids=ids)

    assert statuses == {ids[0]: "processed", ids[1]: "failed", ids[2]: "processed"}
    rows = _rows(ids)
    assert [row.outcome for row in rows] == ["created", "", "appended"]
    assert rows[1].last_error == "ValueError: broken after its ticket was written"
    # The reply found the ticket its parent opened earlier in the same transaction.
    assert rows[2].ticket_id == rows[0].ticket_id
    with scopes_disabled():
        subjects = list(
            Ticket.objects.filter(shop=mail_world.tea)
            .order_by("number")
            .values_list("subject", flat=True)
        )
        assert "壊れたメール" not in subjects
        assert Message.objects.filter(ticket_id=rows[0].ticket_id).count() == 2
        # One acknowledgement for the one new conversation that committed.
        assert OutboundMail.objects.filter(shop=mail_world.tea, kind="ack").count() == 1
        # The index was brought up to date by the batch's after-commit handler.
        assert SearchDocument.objects.filter(kind="ticket", object_id=rows[0].ticket_id).exists()


def test_an_archived_shop_fails_its_new_mail_and_keeps_the_raw_bytes(mail_world):
    first = make_mail(
        message_id="old@mail.example.com", subject="前からの相談", sender="a@example.com"
    )
    (old_id,) = _store(mail_world.tea, first)
    with in_shop(mail_world.tea.id):
        assert raw_mail_process_batch(raw_mail_ids=[old_id]) == {old_id: "processed"}
    services.shop_archive(actor=actor_for_user(mail_world.admin), shop=mail_world.tea)
    with scopes_disabled():
        messages_before = Message.objects.filter(shop=mail_world.tea).count()
    mails = [
        make_mail(message_id="new@mail.example.com", subject="新しい相談", sender="b@example.com"),
        make_mail(
            message_id="re@mail.example.com",
            subject="Re: 前からの相談",
            sender="a@example.com",
            in_reply_to="<old@mail.example.com>",
        ),
    ]
    ids = _store(mail_world.tea, *mails)
    with in_shop(mail_world.tea.id):
        statuses = raw_mail_process_batch(raw_mail_ids=ids)
    assert statuses == {ids[0]: "failed", ids[1]: "failed"}
    rows = _rows(ids)
    assert [row.last_error for row in rows] == [
        "This shop is archived: it accepts no new contacts."
    ] * 2
    assert [bytes(row.raw) for row in rows] == mails
    assert [row.next_attempt_at for row in rows] == [None, None]
    with scopes_disabled():
        assert Message.objects.filter(shop=mail_world.tea).count() == messages_before
    # Brought back, the shop gets the mail when it is processed again.
    services.shop_unarchive(actor=actor_for_user(mail_world.admin), shop=mail_world.tea)
    with in_shop(mail_world.tea.id):
        for row in rows:
            pipeline.raw_mail_reprocess(raw_mail=row)
        assert raw_mail_process_batch(raw_mail_ids=ids) == {
            ids[0]: "processed",
            ids[1]: "processed",
        }
    assert [row.outcome for row in _rows(ids)] == ["created", "appended"]


def test_rows_already_taken_are_left_alone(mail_world):
    ids = _store(mail_world.tea, make_mail(message_id="x@mail.example.com"))
    with in_shop(mail_world.tea.id):
        first = raw_mail_process_batch(raw_mail_ids=ids)
        second = raw_mail_process_batch(raw_mail_ids=ids)
    assert first == second == {ids[0]: "processed"}
    assert _rows(ids)[0].attempts == 1


def test_a_parse_failure_fails_that_mail_before_the_transaction(mail_world, monkeypatch):
    real_parse = parsing.parse_mail

    def parse(raw):
        if b"POISON" in raw:
            raise RecursionError("maximum recursion depth exceeded")
        return real_parse(raw)

    monkeypatch.setattr(parsing, "parse_mail", parse)
    ids = _store(
        mail_world.tea,
        make_mail(message_id="p@mail.example.com", subject="POISON"),
        make_mail(message_id="q@mail.example.com", subject="普通のメール", sender="q@example.com"),
    )
    with in_shop(mail_world.tea.id):
        statuses = raw_mail_process_batch(raw_mail_ids=ids)
    assert statuses == {ids[0]: "failed", ids[1]: "processed"}


def test_a_database_failure_sends_the_whole_batch_back(mail_world, monkeypatch):
    def busy(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(pipeline, "receive_inbound_many", busy)
    ids = _store(
        mail_world.tea,
        make_mail(message_id="r@mail.example.com"),
        make_mail(message_id="s@mail.example.com", sender="s@example.com"),
    )
    with in_shop(mail_world.tea.id):
        statuses = raw_mail_process_batch(raw_mail_ids=ids)
    assert statuses == {ids[0]: "received", ids[1]: "received"}
    assert [row.next_attempt_at is not None for row in _rows(ids)] == [True, True]


def _independent_mails(count, *, prefix="n"):
    return [
        make_mail(
            message_id=f"{prefix}{index}@mail.example.com",
            subject=f"問い合わせ {index}",
            sender=f"{prefix}{index}@example.com",
        )
        for index in range(count)
    ]


def test_a_batch_writes_each_table_once_however_many_mails(mail_world):
    """Mails that do not answer one another are written together: the statements of a batch
    do not grow with its size (attachments and acknowledgements aside)."""
    # No acknowledgements here: each is an outbound row of its own.
    with scopes_disabled():
        MailSettings.objects.update_or_create(
            shop=mail_world.tea, defaults={"is_ack_enabled": False}
        )
    counts = []
    for size, prefix in ((5, "s"), (20, "l")):
        ids = _store(mail_world.tea, *_independent_mails(size, prefix=prefix))
        with CaptureQueriesContext(connection) as captured, in_shop(mail_world.tea.id):
            statuses = raw_mail_process_batch(raw_mail_ids=ids)
        assert set(statuses.values()) == {"processed"}
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_two_new_mails_of_one_new_sender_share_a_customer(mail_world):
    ids = _store(
        mail_world.tea,
        make_mail(message_id="one@mail.example.com", subject="一件目", sender="new@example.com"),
        make_mail(message_id="two@mail.example.com", subject="二件目", sender="new@example.com"),
    )
    with in_shop(mail_world.tea.id):
        statuses = raw_mail_process_batch(raw_mail_ids=ids)
    assert statuses == {ids[0]: "processed", ids[1]: "processed"}
    rows = _rows(ids)
    assert rows[0].ticket_id != rows[1].ticket_id
    with scopes_disabled():
        tickets = Ticket.objects.in_bulk([rows[0].ticket_id, rows[1].ticket_id])
        customers = {ticket.customer_id for ticket in tickets.values()}
        numbers = sorted(ticket.number for ticket in tickets.values())
    assert len(customers) == 1
    assert numbers[1] == numbers[0] + 1


def test_subject_threading_sees_a_ticket_opened_earlier_in_the_batch(mail_world):
    with scopes_disabled():
        MailSettings.objects.update_or_create(
            shop=mail_world.tea, defaults={"is_subject_threading_enabled": True}
        )
    ids = _store(
        mail_world.tea,
        make_mail(message_id="t1@mail.example.com", subject="配送について", sender="t@example.com"),
        make_mail(message_id="t2@mail.example.com", subject="別件", sender="u@example.com"),
        make_mail(
            message_id="t3@mail.example.com", subject="Re: 配送について", sender="t@example.com"
        ),
    )
    with in_shop(mail_world.tea.id):
        raw_mail_process_batch(raw_mail_ids=ids)
    rows = _rows(ids)
    assert [row.outcome for row in rows] == ["created", "created", "appended"]
    assert rows[2].ticket_id == rows[0].ticket_id


def test_a_reply_to_a_mail_of_the_same_batch_joins_its_ticket(mail_world):
    ids = _store(
        mail_world.tea,
        make_mail(message_id="p1@mail.example.com", subject="初回", sender="p@example.com"),
        make_mail(
            message_id="p2@mail.example.com",
            subject="Re: 初回",
            sender="p@example.com",
            in_reply_to="p1@mail.example.com",
        ),
    )
    with in_shop(mail_world.tea.id):
        raw_mail_process_batch(raw_mail_ids=ids)
    rows = _rows(ids)
    assert [row.outcome for row in rows] == ["created", "appended"]
    assert rows[1].ticket_id == rows[0].ticket_id


def test_a_stored_group_reports_duplicates_of_earlier_mail_and_of_itself(mail_world):
    earlier = _store(mail_world.tea, make_mail(message_id="old@mail.example.com"))
    mails = [
        make_mail(message_id="new@mail.example.com", subject="新規", sender="n@example.com"),
        make_mail(message_id="old@mail.example.com"),
        make_mail(message_id="new@mail.example.com", subject="新規", sender="n@example.com"),
    ]
    stored = ingest_raw_batch(shop_id=mail_world.tea.id, raws=mails, source="imap")
    assert [item.is_duplicate for item in stored] == [False, True, True]
    assert stored[1].raw_mail_id == earlier[0]
    assert stored[2].raw_mail_id == stored[0].raw_mail_id
    with scopes_disabled():
        assert RawMail.objects.filter(shop=mail_world.tea).count() == 2
        assert _rows([stored[0].raw_mail_id])[0].status == "received"


def test_a_group_stored_meanwhile_by_another_fetcher_is_stored_one_by_one(mail_world, monkeypatch):
    mails = [
        make_mail(message_id="race1@mail.example.com", sender="r1@example.com"),
        make_mail(message_id="race2@mail.example.com", sender="r2@example.com"),
    ]
    _store(mail_world.tea, mails[1])

    real_insert_all = pipeline.insert_all
    calls = []

    def lost_the_race(rows, *args, **kwargs):
        # The other fetcher committed one of them after our look-up (the group's INSERT, the
        # first; the one-by-one fallback then stores a mail at a time).
        calls.append(len(rows))
        if len(calls) == 1:
            raise IntegrityError("UNIQUE constraint failed: mail_rawmail.shop_id, idempotency_key")
        return real_insert_all(rows, *args, **kwargs)

    monkeypatch.setattr(pipeline, "insert_all", lost_the_race)
    stored = ingest_raw_batch(shop_id=mail_world.tea.id, raws=mails, source="imap")
    assert [item.is_duplicate for item in stored] == [False, True]
    with scopes_disabled():
        assert RawMail.objects.filter(shop=mail_world.tea).count() == 2


def test_a_mail_over_the_time_limit_fails_alone_and_the_rest_of_the_batch_goes_on(
    mail_world, slow_parsing
):
    ids = _store(
        mail_world.tea,
        make_mail(message_id="f1@mail.example.com", subject="一通目", sender="f1@example.com"),
        make_mail(message_id="slow@mail.example.com", subject="SLOW", sender="s@example.com"),
        make_mail(message_id="f2@mail.example.com", subject="三通目", sender="f2@example.com"),
    )
    with in_shop(mail_world.tea.id):
        statuses = raw_mail_process_batch(raw_mail_ids=ids)
    assert statuses == {ids[0]: "processed", ids[1]: "failed", ids[2]: "processed"}
    assert _rows(ids)[1].last_error == "Parsing took longer than 0.2 s."
