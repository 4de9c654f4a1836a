"""Checklist 19: automatic mail goes out only from the shop's verified sending identities.

Every automatic mail of a shop (the acknowledgement, the after-hours reply, the CSAT survey) is
an `OutboundMail` whose From is chosen by `sending.sender_address` (verified addresses only) and
re-checked when it is sent. Mail Madoguchi sends in its own name (monthly reports, chat
transcripts, invitations, password resets) comes from the system's `DEFAULT_FROM_EMAIL`, never
from a shop's address. There are no notification mails (SLA warnings and breaches are events
and in-app alerts).
"""

from __future__ import annotations

import ast
import datetime as dt
from email import message_from_bytes
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scopes_disabled

from madoguchi.connectors.mail.models import MailAddress, OutboundMail
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.sending import SENDER_NOT_VERIFIED, outbound_send
from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS, mail_setup, make_mail
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.services import InboundMessage, receive_inbound
from madoguchi.csat.services import survey_send
from madoguchi.customers.services import IdentityInput
from madoguchi.operations.models import AfterHoursSettings
from madoguchi.operations.replies import after_hours_reply
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db

UNVERIFIED = "campaign@yamada-en.example"
PACKAGE = Path(__file__).resolve().parents[3]  # madoguchi/


@pytest.fixture
def tea_senders(world: Any, settings: Any) -> Any:
    """The tea shop has its verified address and an unverified one marked as default sender."""
    settings.EMAIL_PORT = 9  # nothing listens: queued mail stays queued, nothing leaves
    mail_setup(world)
    with scopes_disabled():
        MailAddress.objects.filter(address=TEA_ADDRESS).update(is_default_sender=False)
        MailAddress.objects.create(
            shop=world.tea, address=UNVERIFIED, is_verified=False, is_default_sender=True
        )
    return world


def _from_header(outbound: OutboundMail) -> str:
    return str(message_from_bytes(bytes(outbound.raw))["From"])


def _assert_from_verified(outbound: OutboundMail) -> None:
    assert outbound.from_address == TEA_ADDRESS
    assert TEA_ADDRESS in _from_header(outbound)
    assert UNVERIFIED not in bytes(outbound.raw).decode("ascii", "replace")


def _email_ticket(world: Any, at: dt.datetime) -> Message:
    return receive_inbound(
        InboundMessage(
            shop_id=world.tea.id,
            channel="email",
            external_id=f"<{at.timestamp()}@example.jp>",
            body_text="届きません。",
            subject="配送について",
            identities=[IdentityInput(kind="email", value="night@example.jp")],
            customer_name="夜田",
            received_at=at,
        )
    ).message


def test_the_acknowledgement_comes_from_a_verified_address(
    tea_senders: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ingest_raw(shop_ids=[tea_senders.tea.id], raw=make_mail(), source="imap")
    with scopes_disabled():
        (ack,) = OutboundMail.objects.filter(kind=OutboundMail.Kind.ACKNOWLEDGEMENT)
    _assert_from_verified(ack)


def test_the_after_hours_reply_comes_from_a_verified_address(tea_senders: Any) -> None:
    sunday_night = dt.datetime(2026, 11, 22, 20, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    with in_shop(tea_senders.tea.id):
        AfterHoursSettings.objects.create(shop=tea_senders.tea, is_enabled=True)
        message = _email_ticket(tea_senders, sunday_night)
        reply = after_hours_reply(message)
        assert reply is not None
        outbound = OutboundMail.objects.get(message=reply)
    _assert_from_verified(outbound)


def test_the_csat_survey_comes_from_a_verified_address(tea_senders: Any) -> None:
    with in_shop(tea_senders.tea.id):
        message = _email_ticket(tea_senders, dt.datetime.now(dt.UTC))
        Ticket.objects.filter(pk=message.ticket_id).update(status=Ticket.Status.SOLVED)
        survey = survey_send(ticket_id=message.ticket_id)
        assert survey is not None and survey.message is not None
        outbound = OutboundMail.objects.get(message=survey.message)
    _assert_from_verified(outbound)


def test_with_no_verified_address_no_automatic_mail_is_queued(
    tea_senders: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with scopes_disabled():
        MailAddress.objects.filter(address=TEA_ADDRESS).update(is_verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_raw(shop_ids=[tea_senders.tea.id], raw=make_mail(), source="imap")
    with in_shop(tea_senders.tea.id):
        message = _email_ticket(tea_senders, dt.datetime.now(dt.UTC))
        Ticket.objects.filter(pk=message.ticket_id).update(status=Ticket.Status.SOLVED)
        survey = survey_send(ticket_id=message.ticket_id)
        assert survey is not None and survey.message is not None
        survey.message.refresh_from_db()
        assert survey.message.delivery_status == Message.DeliveryStatus.FAILED
    with scopes_disabled():
        assert not OutboundMail.objects.exclude(status=OutboundMail.Status.FAILED).exists()
        assert not OutboundMail.objects.filter(from_address=UNVERIFIED).exists()


def test_a_sender_that_lost_its_verification_after_queueing_sends_nothing(
    tea_senders: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ingest_raw(shop_ids=[tea_senders.tea.id], raw=make_mail(), source="imap")
    with scopes_disabled():
        (ack,) = OutboundMail.objects.filter(kind=OutboundMail.Kind.ACKNOWLEDGEMENT)
        # Its first attempt found no server; the retry is due now.
        OutboundMail.objects.filter(pk=ack.pk).update(
            status=OutboundMail.Status.QUEUED, next_attempt_at=None
        )
        MailAddress.objects.filter(address=TEA_ADDRESS).update(is_verified=False)
    with in_shop(tea_senders.tea.id):
        # Nothing listens on the SMTP port: a send attempt would be a retry, not a failure.
        assert outbound_send(outbound_id=ack.id) == OutboundMail.Status.FAILED
        ack.refresh_from_db()
    assert (ack.status, ack.last_error, ack.next_attempt_at) == (
        OutboundMail.Status.FAILED,
        SENDER_NOT_VERIFIED,
        None,
    )


def _mail_calls(tree: ast.AST) -> list[ast.Call]:
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in ("EmailMessage", "EmailMultiAlternatives", "send_mail", "send_mass_mail"):
                calls.append(node)
    return calls


def _is_system_sender(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "DEFAULT_FROM_EMAIL"


def test_mail_sent_in_madoguchis_own_name_comes_from_the_system_address() -> None:
    """Reports, chat transcripts, invitations and password resets go through Django's mail:
    their From is the system's address (or Django's default, the same), never a shop's."""
    checked: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "tests" in path.parts or "testing" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _mail_calls(tree):
            name = getattr(call.func, "id", getattr(call.func, "attr", ""))
            if name == "EmailMessage" and not call.args and not call.keywords:
                continue  # email.message.EmailMessage: the shop's OutboundMail (checked above)
            keywords = {k.arg: k.value for k in call.keywords}
            if name in ("send_mail", "send_mass_mail"):
                sender = keywords.get("from_email", call.args[2] if len(call.args) > 2 else None)
            else:
                sender = keywords.get("from_email", call.args[2] if len(call.args) > 2 else None)
            where = f"{path.relative_to(PACKAGE.parent)}:{call.lineno}"
            assert sender is None or _is_system_sender(sender), where
            checked.append(where)
    # The reports, the chat transcript, the invitations and the password reset at least.
    assert len(checked) >= 4, checked
