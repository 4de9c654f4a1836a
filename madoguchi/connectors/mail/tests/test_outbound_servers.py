"""Outgoing mail per shop: the sender address's SMTP server, the system fallback, test sends.

Real SMTP servers (aiosmtpd) on loopback: one stands for the system's EMAIL_* server, others
for the shops' own servers.
"""

import smtplib

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.translation import override
from django_scopes import scopes_disabled

from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.mail.channel_setup import smtp_server_test_send
from madoguchi.connectors.mail.diagnostics import explain_error, explain_stored_error
from madoguchi.connectors.mail.models import MailAddress, OutboundMail, SmtpServer
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.sending import DELIVERY_UNKNOWN
from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS, mail_setup, make_mail
from madoguchi.conversations.models import Ticket
from madoguchi.conversations.services import message_reply
from madoguchi.core.errors import PermissionDeniedError
from madoguchi.core.testing.mailservers import free_port
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db

REFUSED_WORDS = (
    "接続を拒否されました。このホストとポートで待ち受けているメールサーバーがありません。"
    "ホスト名とポート番号を確認してください。"
)


@pytest.fixture
def system_smtp(smtp_capture_factory, settings):
    """The system's EMAIL_* server: mail sent without a shop server arrives here."""
    capture = smtp_capture_factory()
    settings.EMAIL_HOST, settings.EMAIL_PORT = capture.host, capture.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    return capture


def tea_server(*, port, username="", password="", is_active=True, name="provider"):
    """The tea shop's own SMTP server on loopback, named by its support address."""
    with scopes_disabled():
        address = MailAddress.objects.get(address=TEA_ADDRESS)
        server = SmtpServer.objects.create(
            shop_id=address.shop_id,
            name=name,
            host="127.0.0.1",
            port=port,
            security=SmtpServer.Security.NONE,
            username=username,
            password=password,
            is_active=is_active,
        )
        MailAddress.objects.filter(pk=address.pk).update(outbound_server=server)
    return server


@pytest.fixture
def answered_ticket(world, django_capture_on_commit_callbacks):
    """Open a ticket by a customer's mail (acknowledged), then reply to it; return both."""

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            ingest_raw(shop_ids=[world.tea.id], raw=make_mail(), source="imap")
        with scopes_disabled():
            ticket = Ticket.objects.filter(shop=world.tea).order_by("-number").first()
        with in_shop(world.tea.id), django_capture_on_commit_callbacks(execute=True):
            message = message_reply(
                actor=actor_for_user(world.operator_tea),
                ticket=ticket,
                body_text="明日お届けします。",
            )
        return ticket, message

    return run


def test_replies_go_out_through_the_address_server(
    world, system_smtp, smtp_capture_factory, answered_ticket
):
    shop_smtp = smtp_capture_factory()
    mail_setup(world)
    server = tea_server(port=shop_smtp.port)

    ticket, message = answered_ticket()

    with scopes_disabled():
        outbound = OutboundMail.objects.get(message=message)
        server.refresh_from_db()
    assert system_smtp.received == []
    assert len(shop_smtp.received) == 2  # the acknowledgement, then the reply
    mail_from, recipients, _content = shop_smtp.received[1]
    assert (mail_from, recipients) == (TEA_ADDRESS, ["hanako@example.com"])
    reply = shop_smtp.received[1].message()
    assert str(reply["From"]) == f"山田園 サポート <{TEA_ADDRESS}>"
    assert str(reply["In-Reply-To"]) == "<first@mail.example.com>"
    assert str(reply["References"]) == "<first@mail.example.com>"
    assert str(reply["Message-ID"]) == f"<{outbound.internet_message_id}>"
    assert str(reply["Subject"]) == f"Re: 注文した商品について [#TEA-{ticket.number}]"
    assert reply.get_content() == "明日お届けします。\r\n"
    assert (outbound.status, outbound.smtp_response) == ("sent", "250 2.0.0 Ok: queued as TEST1")
    assert server.last_error == ""
    assert server.last_used_at is not None


def test_without_a_server_the_system_settings_are_used(world, system_smtp, answered_ticket):
    mail_setup(world)

    _ticket, message = answered_ticket()

    with scopes_disabled():
        outbound = OutboundMail.objects.get(message=message)
    assert [mail.rcpt_tos for mail in system_smtp.received] == [
        ["hanako@example.com"],
        ["hanako@example.com"],
    ]
    assert outbound.status == "sent"


def test_an_inactive_server_is_skipped_for_the_system_settings(
    world, system_smtp, smtp_capture_factory, answered_ticket
):
    shop_smtp = smtp_capture_factory()
    mail_setup(world)
    server = tea_server(port=shop_smtp.port, is_active=False)

    answered_ticket()

    with scopes_disabled():
        server.refresh_from_db()
    assert [mail.mail_from for mail in system_smtp.received] == [TEA_ADDRESS, TEA_ADDRESS]
    assert shop_smtp.received == []
    assert server.last_used_at is None


def test_the_server_login_is_used_and_a_refusal_is_kept_on_the_server(
    world, system_smtp, smtp_capture_factory, answered_ticket
):
    shop_smtp = smtp_capture_factory(login=("tea-user", "right-pass"))
    mail_setup(world)
    server = tea_server(port=shop_smtp.port, username="tea-user", password="wrong-pass")

    _ticket, message = answered_ticket()

    with scopes_disabled():
        outbound = OutboundMail.objects.get(message=message)
        server.refresh_from_db()
    assert (shop_smtp.received, shop_smtp.logins, system_smtp.received) == ([], [], [])
    assert (outbound.status, outbound.attempts) == ("failed", 1)  # 535 is permanent
    assert outbound.last_error.startswith("SMTPAuthenticationError: (535")
    assert server.last_error == outbound.last_error
    with override("ja"):
        words = explain_stored_error(server.last_error)
    assert words.summary == (
        "ユーザー名またはパスワードが受け付けられませんでした。"
        "アプリ パスワードが必要なサービスもあります。"
    )
    assert words.detail == "535 5.7.8 Authentication credentials invalid"


def test_a_test_send_reaches_the_server_and_marks_it_verified(
    world, smtp_capture_factory, settings
):
    settings.LANGUAGE_CODE = "ja"
    shop_smtp = smtp_capture_factory(login=("tea-user", "right-pass"))
    mail_setup(world)
    server = tea_server(port=shop_smtp.port, username="tea-user", password="right-pass")

    with in_shop(world.tea.id), override("ja"):
        check = smtp_server_test_send(
            actor=actor_for_user(world.admin), server=server, to_address="owner@example.org"
        )

    assert (check.is_ok, check.summary, check.detail, check.error) == (
        True,
        "サーバーは owner@example.org 宛てのテストメールを受け付けました。",
        "250 2.0.0 Ok: queued as TEST1",
        "",
    )
    assert shop_smtp.logins == ["tea-user"]
    [received] = shop_smtp.received
    assert (received.mail_from, received.rcpt_tos) == (TEA_ADDRESS, ["owner@example.org"])
    mail = received.message()
    assert str(mail["Subject"]) == "Madoguchi からのテストメール"
    assert "送信サーバー「provider」（127.0.0.1:" in mail.get_content()
    with scopes_disabled():
        server.refresh_from_db()
        entry = AuditEntry.objects.get(action="mail.smtp_server_tested")
    assert server.verified_at is not None and server.last_error == ""
    assert entry.changes["to"] == "owner@example.org"
    assert entry.changes["is_ok"] is True
    assert entry.changes["verified_at"][0] is None
    assert "right-pass" not in str(entry.changes)


def test_a_test_send_to_a_closed_port_says_so_in_japanese(world):
    mail_setup(world)
    server = tea_server(port=free_port())

    with in_shop(world.tea.id), override("ja"):
        check = smtp_server_test_send(
            actor=actor_for_user(world.supervisor), server=server, to_address="owner@example.org"
        )

    assert (check.is_ok, check.summary) == (False, REFUSED_WORDS)
    assert check.error.startswith("ConnectionRefusedError: [Errno 111]")
    with scopes_disabled():
        server.refresh_from_db()
    assert server.verified_at is None
    assert server.last_error == check.error


def test_only_leads_may_send_a_test_mail(world):
    mail_setup(world)
    server = tea_server(port=free_port())

    with in_shop(world.tea.id), pytest.raises(PermissionDeniedError):
        smtp_server_test_send(
            actor=actor_for_user(world.operator_tea), server=server, to_address="x@example.org"
        )


def test_errors_are_explained_in_words():
    with override("ja"):
        refused = explain_error(ConnectionRefusedError(111, "Connection refused"))
        recipient = explain_error(
            smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"5.1.1 User unknown")})
        )
        unknown = explain_stored_error(DELIVERY_UNKNOWN)
        stored = explain_stored_error(
            "SMTPRecipientsRefused: {'a@example.org': (550, b'5.1.1 User unknown')}"
        )
        plain = explain_stored_error("Something we never wrote")
    assert refused.summary == REFUSED_WORDS
    assert (recipient.summary, recipient.detail) == (
        "サーバーが宛先アドレスを拒否しました。",
        "a@example.org: 550 5.1.1 User unknown",
    )
    assert unknown.summary.startswith("送信結果が不明です")
    assert (stored.summary, stored.detail) == (
        "サーバーが宛先アドレスを拒否しました。",
        "550 5.1.1 User unknown",
    )
    assert (plain.summary, plain.detail) == ("Something we never wrote", "")


def test_passwords_are_encrypted_in_the_database(world):
    mail_setup(world)
    server = tea_server(port=25, username="u", password="smtp-secret")
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM mail_smtpserver WHERE id = %s", [server.id])
        (stored,) = cursor.fetchone()
    with scopes_disabled():
        fresh = SmtpServer.objects.get(pk=server.pk)
    assert stored.startswith("fernet:")
    assert "smtp-secret" not in stored
    assert fresh.password == "smtp-secret"
    assert fresh.created_at <= timezone.now()
