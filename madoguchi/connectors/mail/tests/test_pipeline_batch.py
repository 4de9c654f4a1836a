"""A worker run over several stored mails: one transaction, each mail in its own savepoint."""

import pytest
from django.db import OperationalError
from django_scopes import scopes_disabled

from madoguchi.connectors.mail import parsing, pipeline
from madoguchi.connectors.mail.models import OutboundMail, RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw, raw_mail_process_batch
from madoguchi.connectors.mail.tests.mail_builders import mail_setup, make_mail
from madoguchi.conversations.models import Message, Ticket
from madoguchi.search.models import SearchDocument
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
    real_receive = pipeline.receive_inbound

    def receive(inbound, **kwargs):
        result = real_receive(inbound, **kwargs)
        if inbound.subject == "壊れたメール":
            raise ValueError("broken after its ticket was written")
        return result

    monkeypatch.setattr(pipeline, "receive_inbound", receive)
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

    monkeypatch.setattr(pipeline, "receive_inbound", busy)
    ids = _store(
        mail_world.tea,
        make_mail(message_id="r@mail.example.com"),
        make_mail(message_id="s@mail.example.com", sender="s@example.com"),
    )
    with in_shop(mail_world.tea.id):
        statuses = raw_mail_process_batch(raw_mail_ids=ids)
    assert statuses == {ids[0]: "received", ids[1]: "received"}
    assert [row.next_attempt_at is not None for row in _rows(ids)] == [True, True]
