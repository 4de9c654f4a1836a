"""Checklist 60 for what leaves by mail: with mirror data in two shops, the mails one shop's
work sends (the monthly client report with its PDF, a CSAT survey, a reply) carry nothing of
the other shop and reach only the first shop's people.

The other shop's name, ticket subject, customer name and client user are the identifiers that
must not appear. Madoguchi sends no webhooks yet (the REST API and its webhooks come later), so
there are no webhook payloads to compare.
"""

from __future__ import annotations

from typing import Any

import pypdfium2
import pytest
from django.core import mail

from madoguchi.connectors.mail.models import OutboundMail
from madoguchi.connectors.mail.tests.mail_builders import mail_setup
from madoguchi.conversations.models import Ticket
from madoguchi.csat.services import survey_send
from madoguchi.csat.tests.helpers import email_ticket, enable_csat, solve
from madoguchi.operations.replies import reply_send
from madoguchi.reports.services import report_generate, report_send
from madoguchi.reports.tests.history import NOVEMBER, NOW, build_report_history
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db

OTHER_SUBJECT = "陶房だけの件名"
OTHER_CUSTOMER = "青木だけのお客様"


@pytest.fixture
def mirrored(world: Any) -> Any:
    """Both shops with tickets, customers, mail addresses and CSAT on; the other shop's rows
    carry names of their own."""
    history = build_report_history(world)
    mail_setup(world)
    for shop in (world.tea, world.ceramics):
        enable_csat(world, shop, delay_minutes=0)
    with unscoped("test setup"):
        Ticket.objects.filter(shop=world.ceramics).update(subject=OTHER_SUBJECT)
        for ticket in Ticket.objects.filter(shop=world.ceramics).select_related("customer"):
            ticket.customer.name = OTHER_CUSTOMER
            ticket.customer.save(update_fields=["name"])
    return history


def _foreign(world: Any) -> tuple[str, ...]:
    return (
        world.ceramics.name,
        world.ceramics.slug,
        f"#{world.ceramics.ticket_prefix}-",
        OTHER_SUBJECT,
        OTHER_CUSTOMER,
        world.client_ceramics.email,
        world.operator_ceramics.email,
    )


def _assert_clean(text: str, world: Any, where: str) -> None:
    found = [value for value in _foreign(world) if value and value in text]
    assert found == [], f"{where} holds {found}"


def test_the_monthly_report_mail_and_pdf_hold_only_their_shop(world: Any, mirrored: Any) -> None:
    with in_shop(world.tea.id):
        report = report_generate(shop=world.tea, month=NOVEMBER, user=world.supervisor, now=NOW)
        report_send(report=report, user=world.supervisor)
    (sent,) = mail.outbox
    assert sent.bcc == [world.client_tea.email] and sent.to == []
    _assert_clean(sent.subject + sent.body, world, "report mail")
    ((filename, pdf, _type),) = sent.attachments
    assert filename.endswith(".pdf")
    document = pypdfium2.PdfDocument(pdf)
    text = "".join(page.get_textpage().get_text_range() for page in document)
    assert world.tea.name in text
    _assert_clean(text, world, "report PDF")
    _assert_clean(report.html, world, "report page")


def test_a_survey_and_a_reply_to_a_customer_hold_only_their_shop(
    world: Any, mirrored: Any, settings: Any
) -> None:
    settings.EMAIL_PORT = 9  # nothing listens: the mails stay queued, their bytes are compared
    tickets = {shop.slug: email_ticket(shop) for shop in (world.tea, world.ceramics)}
    for ticket in tickets.values():
        solve(world, ticket)
    with in_shop(world.tea.id):
        survey = survey_send(ticket_id=tickets["tea"].id)
        assert survey is not None
        reply_send(
            actor=actor_for_user(world.operator_tea),
            ticket=tickets["tea"],
            body_text="お問い合わせありがとうございます。",
        )
        sent = list(OutboundMail.objects.filter(ticket=tickets["tea"]))
    assert len(sent) == 2
    for outbound in sent:
        raw = bytes(outbound.raw).decode("utf-8", "replace")
        assert outbound.to_address == "hanako@example.com"
        _assert_clean(raw + outbound.subject, world, f"mail {outbound.id}")
