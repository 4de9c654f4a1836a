"""Cases of the security checklist (docs/security-checklist.md) for mail: headers that claim an
internal meaning change nothing (13), a sender claiming an operator's address is a customer like
any other (12), and failing servers log no password or customer data (75)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django_scopes import scopes_disabled

from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.tests.mail_builders import mail_setup, make_mail
from madoguchi.conversations.models import Message, Ticket
from madoguchi.customers.models import Customer

from .test_outbound_servers import answered_ticket, system_smtp, tea_server  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_world(world: Any, settings: Any) -> Any:
    settings.EMAIL_PORT = 9  # nothing listens: queued mail stays queued, nothing leaves
    mail_setup(world)
    return world


@pytest.fixture
def deliver(django_capture_on_commit_callbacks: Any) -> Any:
    def deliver(raw: bytes, *shops: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return ingest_raw(shop_ids=[shop.id for shop in shops], raw=raw, source="imap")

    return deliver


def _tickets(shop: Any) -> list[Ticket]:
    with scopes_disabled():
        return list(Ticket.objects.filter(shop=shop).order_by("number"))


def test_internal_looking_headers_of_inbound_mail_change_nothing(
    mail_world: Any, deliver: Any
) -> None:
    world = mail_world
    before_ceramics = len(_tickets(world.ceramics))
    deliver(make_mail(message_id="plain@mail.example.com"), world.tea)
    forged = {
        "X-Tenant-Id": str(world.ceramics.id),
        "X-Shop-Id": str(world.ceramics.id),
        "X-Madoguchi-Shop": world.ceramics.slug,
        "X-Madoguchi-Ticket": str(world.ceramics_ticket.number),
        "X-Madoguchi-Internal": "note",
        "X-Priority-Override": "urgent",
        "X-Priority": "1 (Highest)",
        "Importance": "high",
        "X-Madoguchi-Assignee": str(world.admin.pk),
    }
    deliver(make_mail(message_id="forged@mail.example.com", headers=forged), world.tea)

    plain, headed = _tickets(world.tea)[-2:]
    with scopes_disabled():
        fields = ("priority", "assignee_id", "status", "channel", "category_id")
        assert [getattr(headed, name) for name in fields] == [
            getattr(plain, name) for name in fields
        ]
        assert headed.priority == Ticket.Priority.NORMAL
        assert headed.assignee_id is None
        message = Message.objects.get(ticket=headed)
        assert message.direction == Message.Direction.INBOUND
        assert message.author_user_id is None
    # Nothing reached the shop the headers named.
    assert len(_tickets(world.ceramics)) == before_ceramics
    with scopes_disabled():
        assert (
            not Message.objects.filter(ticket=world.ceramics_ticket)
            .exclude(body_text="届いた器にひびがありました。")
            .exists()
        )


def test_mail_from_an_operators_address_is_a_customers_message(
    mail_world: Any, deliver: Any
) -> None:
    world = mail_world
    operator = world.operator_tea
    deliver(
        make_mail(
            sender=operator.email,
            sender_name=str(operator),
            message_id="claims-operator@mail.example.com",
            subject="返金処理を承認します",
        ),
        world.tea,
    )
    ticket = _tickets(world.tea)[-1]
    with scopes_disabled():
        message = Message.objects.get(ticket=ticket)
        assert message.direction == Message.Direction.INBOUND
        assert message.author_user_id is None  # never written as the operator
        customer = Customer.objects.get(pk=ticket.customer_id)
        assert customer.shop_id == world.tea.id
        # No staff reply, note or change was made in the operator's name.
        assert not Message.objects.filter(author_user=operator).exists()
    assert ticket.assignee_id is None


SERVER_PASSWORD = "smtp-Pa55word-tea"


def test_a_refusing_and_a_closed_server_log_no_password_or_customer_data(
    world: Any,
    system_smtp: Any,  # noqa: F811
    smtp_capture_factory: Any,
    answered_ticket: Any,  # noqa: F811
    caplog: Any,
) -> None:
    from madoguchi.core.testing.mailservers import free_port

    refusing = smtp_capture_factory(login=("tea-user", "right-pass"))
    mail_setup(world)
    server = tea_server(port=refusing.port, username="tea-user", password=SERVER_PASSWORD)
    with caplog.at_level(logging.DEBUG):
        answered_ticket()  # refused: 535
        with scopes_disabled():
            type(server).objects.filter(pk=server.pk).update(port=free_port())
        answered_ticket()  # nothing listens
    logged = "\n".join(
        [record.getMessage() for record in caplog.records]
        + [str(record.args) for record in caplog.records]
        + [record.exc_text or "" for record in caplog.records]
    )
    assert caplog.records, "the failures were logged"
    for secret in (SERVER_PASSWORD, "hanako@example.com", "佐藤 花子", "注文番号 1001"):
        assert secret not in logged, secret


IMAP_WRONG_PASSWORD = "imap-Pa55word-wrong"


def test_a_refusing_and_a_closed_imap_server_log_no_password_or_customer_data(
    world: Any, dovecot: Any, settings: Any, caplog: Any
) -> None:
    """Case 75 for IMAP: a mailbox whose password the server refuses and one where nothing
    listens, with a customer's mail waiting; the polls fail and are logged without either
    password, the account's or the customer's data."""
    from madoguchi.connectors.mail.imap import poll_all_mailboxes
    from madoguchi.connectors.mail.models import Mailbox, RawMail
    from madoguchi.core.testing.mailservers import free_port

    settings.EMAIL_PORT = free_port()
    mail_setup(world)
    dovecot.append(
        make_mail(
            sender="hanako@example.com",
            body="電話は090-1234-5678、住所は東京都千代田区千代田1-1です。",
            message_id="waiting@mail.example.com",
        )
    )
    with scopes_disabled():
        for shop, port, password in (
            (world.tea, dovecot.port, IMAP_WRONG_PASSWORD),  # refused
            (world.ceramics, free_port(), dovecot.password),  # nothing listens
        ):
            Mailbox.objects.create(
                shop=shop,
                name="support",
                host="127.0.0.1",
                port=port,
                security=Mailbox.Security.NONE,
                username=dovecot.user,
                password=password,
            )
    with caplog.at_level(logging.DEBUG):
        assert poll_all_mailboxes() == 0
    with scopes_disabled():
        errors = sorted(Mailbox.objects.values_list("last_error", flat=True))
        assert not RawMail.objects.exists()
    assert [error.split(":")[0] for error in errors] == ["ConnectionRefusedError", "LoginError"]
    logged = "\n".join(
        [record.getMessage() for record in caplog.records]
        + [str(record.args) for record in caplog.records]
        + [record.exc_text or "" for record in caplog.records]
    )
    assert logged.count("Polling mailbox") == 2, "both failures were logged"
    for secret in (
        IMAP_WRONG_PASSWORD,
        dovecot.password,
        "hanako@example.com",
        "佐藤 花子",
        "090-1234-5678",
        "千代田区",
    ):
        assert secret not in logged, secret
