"""SMTP on loopback: our outbound mail reaches a real aiosmtpd server; `madoguchi smtpd` receives.

Checklist B (16, 19, 20) and A15 (unknown alias) of reference/security.md.
"""

import datetime as dt
import logging
import smtplib
from email import message_from_bytes
from email.policy import default

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from madoguchi.connectors.mail.models import OutboundMail, RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.sending import (
    DELIVERY_UNKNOWN,
    NOT_SENDABLE,
    outbound_send,
    outbound_sweep,
)
from madoguchi.connectors.mail.smtpd import make_controller
from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS, mail_setup, make_mail
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.services import message_reply
from madoguchi.core.testing.mailservers import free_port
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop


@pytest.fixture
def sink(smtp_capture, settings):
    """The global EMAIL_* settings point at a capturing SMTP server (no per-shop server)."""
    settings.EMAIL_HOST = smtp_capture.host
    settings.EMAIL_PORT = smtp_capture.port
    return smtp_capture


@pytest.fixture
def email_ticket(world, django_capture_on_commit_callbacks):
    """A ticket opened by a customer's mail to the tea shop (its acknowledgement is sent too)."""
    mail_setup(world)

    def open_ticket(subject="注文した商品について", raw_subject=b""):
        raw = make_mail(subject=subject)
        if raw_subject:  # a header exactly as an attacker writes it, not re-encoded
            raw = raw.replace(b"Subject: " + subject.encode(), b"Subject: " + raw_subject)
        with django_capture_on_commit_callbacks(execute=True):
            ingest_raw(shop_ids=[world.tea.id], raw=raw, source="imap")
        with scopes_disabled():
            return Ticket.objects.filter(shop=world.tea).order_by("-number").first()

    return open_ticket


def reply(world, ticket, body, django_capture_on_commit_callbacks):
    with in_shop(world.tea.id), django_capture_on_commit_callbacks(execute=True):
        return message_reply(
            actor=actor_for_user(world.operator_tea), ticket=ticket, body_text=body
        )


@pytest.mark.django_db
def test_a_reply_goes_out_by_smtp_with_threading_headers(
    world, sink, email_ticket, django_capture_on_commit_callbacks
):
    ticket = email_ticket()
    message = reply(
        world, ticket, "お届けは明日の予定です。\n山田園", django_capture_on_commit_callbacks
    )

    with scopes_disabled():
        outbound = OutboundMail.objects.get(message=message)
        message.refresh_from_db()
    assert [len(sink.received), outbound.status, message.delivery_status] == [2, "sent", "sent"]
    assert outbound.smtp_response == "250 2.0.0 Ok: queued as TEST1"
    mail_from, recipients, content = sink.received[1]
    assert (mail_from, recipients) == (TEA_ADDRESS, ["hanako@example.com"])
    mail = message_from_bytes(content, policy=default)
    assert str(mail["Subject"]) == f"Re: 注文した商品について [#TEA-{ticket.number}]"
    assert len(mail.get_all("Subject")) == 1
    assert str(mail["From"]) == f"山田園 サポート <{TEA_ADDRESS}>"
    assert str(mail["To"]) == "hanako@example.com"
    assert str(mail["Message-ID"]) == f"<{outbound.internet_message_id}>"
    assert outbound.internet_message_id.endswith("@madoguchi.localhost")
    assert str(mail["In-Reply-To"]) == "<first@mail.example.com>"
    assert str(mail["References"]) == "<first@mail.example.com>"
    assert mail.get("Auto-Submitted") is None
    assert mail.get_content_charset() == "utf-8"
    assert mail.get_content() == "お届けは明日の予定です。\r\n山田園\r\n"

    ack = message_from_bytes(sink.received[0][2], policy=default)
    assert str(ack["Auto-Submitted"]) == "auto-replied"
    assert str(ack["X-Auto-Response-Suppress"]) == "All"
    assert str(ack["In-Reply-To"]) == "<first@mail.example.com>"
    assert f"受付番号: #TEA-{ticket.number}" in ack.get_content()


@pytest.mark.django_db
def test_an_injected_subject_yields_one_subject_and_no_extra_recipient(
    world, sink, email_ticket, django_capture_on_commit_callbacks
):
    ticket = email_ticket(subject="x", raw_subject=b"=?UTF-8?Q?Hi=0ABcc:_x@evil.example?=")
    assert ticket.subject == "Hi Bcc: x@evil.example"
    reply(world, ticket, "了解しました。", django_capture_on_commit_callbacks)

    for _, recipients, content in sink.received:
        assert recipients == ["hanako@example.com"]
        mail = message_from_bytes(content, policy=default)
        assert len(mail.get_all("Subject")) == 1
        assert mail.get_all("Bcc") is None
        assert "\n" not in str(mail["Subject"])
    reply_mail = message_from_bytes(sink.received[1][2], policy=default)
    assert str(reply_mail["Subject"]) == f"Re: Hi Bcc: x@evil.example [#TEA-{ticket.number}]"


@pytest.mark.django_db
def test_a_refused_recipient_fails_the_message_without_retry(
    world, sink, email_ticket, django_capture_on_commit_callbacks
):
    sink.refuse.add("hanako@example.com")
    ticket = email_ticket()
    message = reply(world, ticket, "お届けは明日です。", django_capture_on_commit_callbacks)

    with scopes_disabled():
        outbound = OutboundMail.objects.get(message=message)
        message.refresh_from_db()
    assert (outbound.status, outbound.attempts, outbound.next_attempt_at) == ("failed", 1, None)
    assert outbound.last_error.startswith("SMTPRecipientsRefused")
    assert message.delivery_status == "failed"
    assert sink.received == []


@pytest.mark.django_db
def test_an_unreachable_server_retries_later(
    world, settings, email_ticket, django_capture_on_commit_callbacks
):
    settings.EMAIL_PORT = free_port()  # nobody listens there
    ticket = email_ticket()
    message = reply(world, ticket, "お届けは明日です。", django_capture_on_commit_callbacks)

    with scopes_disabled():
        outbound = OutboundMail.objects.get(message=message)
        message.refresh_from_db()
    assert (outbound.status, outbound.attempts, message.delivery_status) == (
        "queued",
        1,
        "queued",
    )
    assert outbound.next_attempt_at > timezone.now() + dt.timedelta(seconds=30)
    with scopes_disabled():  # not due yet: a second task does nothing
        assert outbound_send(outbound_id=outbound.id) == "queued"


@pytest.mark.django_db
def test_a_mail_deleted_before_its_task_ran_is_not_sent_and_the_task_ends_cleanly(
    world, settings, email_ticket, django_capture_on_commit_callbacks, caplog
):
    from madoguchi.connectors.mail.sending import GONE
    from madoguchi.connectors.mail.tasks import send_outbound_mail_task

    settings.EMAIL_PORT = free_port()  # the first attempt fails: the mail waits for a retry
    ticket = email_ticket()
    message = reply(world, ticket, "お届けは明日です。", django_capture_on_commit_callbacks)
    with scopes_disabled():
        outbound_id = OutboundMail.objects.get(message=message).id
        OutboundMail.objects.filter(id=outbound_id).delete()  # e.g. the ticket was erased
    caplog.set_level(logging.INFO, logger="madoguchi.connectors.mail.sending")
    assert send_outbound_mail_task.call(ticket.shop_id, outbound_id) == GONE
    assert f"Outbound mail {outbound_id} not sent: it no longer exists" in caplog.text


@pytest.mark.django_db
def test_a_row_left_in_sending_is_not_resent_blindly(
    world, sink, email_ticket, django_capture_on_commit_callbacks
):
    ticket = email_ticket()
    sink.received.clear()
    with scopes_disabled():
        # A worker claimed the row and died, perhaps after the server accepted the mail.
        message = Message.objects.create(
            shop=world.tea,
            ticket=ticket,
            direction="outbound",
            channel="email",
            body_text="x",
            delivery_status="queued",
            created_at=timezone.now(),
        )
        outbound = OutboundMail.objects.create(
            shop=world.tea,
            ticket=ticket,
            message=message,
            internet_message_id="x@madoguchi.localhost",
            from_address=TEA_ADDRESS,
            to_address="hanako@example.com",
            subject="s",
            raw=b"x",
            status="sending",
            attempts=1,
            created_at=timezone.now(),
            sending_started_at=timezone.now() - dt.timedelta(hours=1),
        )
        assert outbound_sweep() == {"stale": 1, "requeued": 0}
        outbound.refresh_from_db()
        message.refresh_from_db()
    assert (outbound.status, outbound.last_error) == ("failed", DELIVERY_UNKNOWN)
    assert message.delivery_status == "failed"
    assert sink.received == []


@pytest.mark.django_db(transaction=True)
def test_smtpd_stores_mail_for_known_recipients_and_refuses_others(world, settings):
    settings.EMAIL_PORT = free_port()  # the acknowledgement stays queued
    mail_setup(world)
    port = free_port()
    controller = make_controller(host="127.0.0.1", port=port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            refused = client.sendmail(
                "hanako@example.com", [TEA_ADDRESS, "nobody@tea.example.jp"], make_mail()
            )
            with pytest.raises(smtplib.SMTPRecipientsRefused) as error:
                client.sendmail("x@example.com", ["nobody@example.org"], make_mail())
    finally:
        controller.stop()

    assert refused == {"nobody@tea.example.jp": (550, b"5.1.1 No such recipient here")}
    assert error.value.recipients == {"nobody@example.org": (550, b"5.1.1 No such recipient here")}
    with scopes_disabled():
        row = RawMail.objects.get()
        ticket = Ticket.objects.filter(shop=world.tea).order_by("-number").first()
    assert (row.shop_id, row.source, row.status, row.outcome) == (
        world.tea.id,
        "smtp",
        "processed",
        "created",
    )
    assert row.envelope_recipients == TEA_ADDRESS
    assert bytes(row.raw).startswith(b"Return-Path: <hanako@example.com>\r\n")
    assert ticket.subject == "注文した商品について"


@pytest.mark.django_db
def test_a_mail_the_backend_cannot_send_fails_and_the_rest_of_the_queue_goes_out(
    world, sink, email_ticket, django_capture_on_commit_callbacks, caplog
):
    """Security case 20: smtplib raises for a recipient it cannot encode (an internationalised
    address from a Reply-To); that mail fails with its error, once, and the mails queued after it
    are still handed over. The log names neither address."""
    poisoned = email_ticket()
    with scopes_disabled():
        RawMail.objects.filter(ticket=poisoned).update(reply_to_address="顧客@example.jp")
    tickets = [poisoned]
    for sender in ("refused@example.com", "jiro@example.com"):
        with django_capture_on_commit_callbacks(execute=True):
            ingest_raw(
                shop_ids=[world.tea.id],
                raw=make_mail(sender=sender, message_id=f"{sender}.first@mail.example.com"),
                source="imap",
            )
        with scopes_disabled():
            tickets.append(Ticket.objects.filter(shop=world.tea).order_by("-number").first())
    sink.refuse.add("refused@example.com")
    sink.received.clear()
    staff = actor_for_user(world.operator_tea)
    with in_shop(world.tea.id), django_capture_on_commit_callbacks() as queued:
        messages = [
            message_reply(actor=staff, ticket=ticket, body_text="お届けは明日です。")
            for ticket in tickets
        ]
    caplog.clear()
    with in_shop(world.tea.id), caplog.at_level(logging.DEBUG):
        for send in queued:  # the queue, in order
            send()

    with scopes_disabled():
        rows = [OutboundMail.objects.get(message=message) for message in messages]
        for message in messages:
            message.refresh_from_db()
    assert [row.status for row in rows] == ["failed", "failed", "sent"]
    assert [(row.attempts, row.next_attempt_at) for row in rows[:2]] == [(1, None), (1, None)]
    assert rows[0].last_error.startswith("UnicodeEncodeError")
    assert rows[1].last_error.startswith("SMTPRecipientsRefused")
    assert [message.delivery_status for message in messages] == ["failed", "failed", "sent"]
    assert messages[0].delivery_error == NOT_SENDABLE
    assert [mail.rcpt_tos for mail in sink.received] == [["jiro@example.com"]]
    # Failed is final: the sweeper sends nothing again, however late it runs.
    with scopes_disabled():
        later = outbound_sweep(now=timezone.now() + dt.timedelta(days=2))
    assert later == {"stale": 0, "requeued": 0}
    # Ours, not the receiving test server's (aiosmtpd logs every command it gets).
    logged = "\n".join(
        record.getMessage() for record in caplog.records if record.name != "mail.log"
    )
    assert f"Sending outbound mail {rows[0].id} failed: UnicodeEncodeError" in logged
    assert "SMTPRecipientsRefused 550" in logged
    for address in ("顧客@example.jp", "refused@example.com"):
        assert address not in logged, address
