"""Erasure removes one customer's personal data from every app and proves it later."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from madoguchi.audit.models import AuditEntry
from madoguchi.commerce.models import Order
from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.events.models import Event
from madoguchi.privacy.digests import fingerprint
from madoguchi.privacy.erasure import customer_erase, erasure_verify
from madoguchi.privacy.models import ErasureRecord
from madoguchi.privacy.tests.rows import EMAIL, NAME, customer_everywhere, remaining
from madoguchi.privacy.tickets import ERASED_SUBJECT
from madoguchi.search.models import SearchDocument
from madoguchi.search.services import (
    search_index_customers,
    search_index_order,
    search_index_tickets,
)
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _indexed(rows: Any) -> None:
    search_index_tickets([ticket.id for ticket in rows.tickets])
    search_index_customers([rows.customer.id])
    for order_id in rows.order_ids:
        search_index_order(order_id)


def test_erasure_leaves_nothing_of_the_customer_in_any_app(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with in_shop(world.tea.id):
        rows = customer_everywhere(world.tea)
        _indexed(rows)
        assert SearchDocument.objects.filter(content__contains="桜井").exists()
        other_ticket = world.tea_ticket
        other_messages = list(Message.objects.filter(ticket=other_ticket).values_list("body_text"))
        tickets_before, events_before = Ticket.objects.count(), Event.objects.count()
    with unscoped("test"):
        found_before = remaining(rows.words)
    assert {label for label, _, _ in found_before} >= {
        "customers.Customer",
        "customers.ContactIdentity",
        "conversations.Message",
        "conversations.Ticket",
        "commerce.Order",
        "chat.ChatConversation",
        "line.LineEvent",
        "line.LineWebhook",
        "mail.RawMail",
        "mail.OutboundMail",
        "phone.CallLog",
        "webform.Submission",
        "csat.CsatSurvey",
        "events.Event",
        "search.SearchDocument",
    }
    storage = Attachment._meta.get_field("file").storage
    assert storage.exists(rows.attachment_paths[0])

    with in_shop(world.tea.id), django_capture_on_commit_callbacks(execute=True):
        erasure = customer_erase(
            actor=actor_for_user(world.supervisor),
            customer=rows.customer,
            reason="本人からの削除依頼（メール）",
            confirmation=NAME,
        )

    with unscoped("test"):
        assert remaining(rows.words) == []
    assert not storage.exists(rows.attachment_paths[0])
    with in_shop(world.tea.id):
        # Shells stay for the reports; nobody else's ticket, message or event is touched.
        assert Ticket.objects.count() == tickets_before
        assert Event.objects.count() == events_before
        assert set(
            Ticket.objects.filter(customer=rows.customer).values_list("subject", flat=True)
        ) == {ERASED_SUBJECT}
        assert list(Message.objects.filter(ticket=other_ticket).values_list("body_text")) == (
            other_messages
        )
        customer = Customer.objects.get(id=rows.customer.id)
        assert (customer.name, customer.name_kana, customer.note) == ("", "", "")
        assert not ContactIdentity.objects.filter(customer=customer).exists()
        order = Order.objects.get(id=rows.order_ids[0])
        assert (order.email, order.shipping_name, order.shipping_address1, order.total) == (
            "",
            "",
            "",
            2160,
        )
    assert erasure.counts == {
        "tickets": 5,
        "messages": 10,
        "attachments": 1,
        "events": 6,
        "identities": 3,
        "chat_conversations": 1,
        "call_logs": 1,
        "submissions": 1,
        "raw_mails": 1,
        "line_deliveries": 1,
        "orders": 1,
        "deposits": 0,
    }
    assert erasure.ticket_ids == sorted(ticket.id for ticket in rows.tickets)
    assert fingerprint(erasure.salt, EMAIL) in erasure.digests
    assert fingerprint(erasure.salt, "midori.sakurai@EXAMPLE.jp ") in erasure.digests
    with unscoped("test"):
        assert EMAIL not in str(list(ErasureRecord.objects.values()))
    audit = AuditEntry.objects.get(action="privacy.customer_erased")
    assert (audit.shop_id, audit.actor_id, audit.target_id) == (
        world.tea.id,
        world.supervisor.id,
        str(erasure.id),
    )
    assert audit.changes["counts"] == erasure.counts
    assert audit.changes["digest"] == erasure.digest

    with in_shop(world.tea.id):
        checked = erasure_verify(erasure=erasure)
    assert (checked.is_verified, checked.findings) == (True, [])


def test_verification_finds_a_copy_that_survived(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from madoguchi.connectors.mail.models import RawMail

    with in_shop(world.tea.id):
        rows = customer_everywhere(world.tea)
        with django_capture_on_commit_callbacks(execute=True):
            erasure = customer_erase(
                actor=actor_for_user(world.admin),
                customer=rows.customer,
                reason="依頼",
                confirmation="削除",
            )
        # A mail from the customer imported after the erasure (or restored from a backup).
        late = RawMail.objects.create(
            shop=world.tea,
            source=RawMail.Source.IMPORT,
            raw=b"late",
            sha256="1" * 64,
            idempotency_key="<late@example.jp>",
            from_address=EMAIL.upper(),
            received_at=rows.tickets[0].created_at,
        )
        checked = erasure_verify(erasure=erasure)
    assert checked.is_verified is False
    assert checked.findings == [{"place": "raw mails", "ref": f"#{late.id}"}]
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_erasures", record=erasure.id, stdout=out)
    assert f"record {erasure.id}: found in raw mails #{late.id}" in out.getvalue()
    with in_shop(world.tea.id):
        late.delete()
    out = StringIO()
    call_command("verify_erasures", stdout=out)
    assert out.getvalue() == f"record {erasure.id}: nothing remains\n"


def test_erasure_needs_a_lead_a_reason_and_the_confirmation(world: Any) -> None:
    with in_shop(world.tea.id):
        rows = customer_everywhere(world.tea)
        with pytest.raises(PermissionDeniedError):
            customer_erase(
                actor=actor_for_user(world.operator_tea),
                customer=rows.customer,
                reason="依頼",
                confirmation=NAME,
            )
        with pytest.raises(ValidationError) as refused:
            customer_erase(
                actor=actor_for_user(world.supervisor),
                customer=rows.customer,
                reason="依頼",
                confirmation="桜井",
            )
        assert refused.value.field == "confirmation"
        with pytest.raises(ValidationError) as refused:
            customer_erase(
                actor=actor_for_user(world.supervisor),
                customer=rows.customer,
                reason=" ",
                confirmation=NAME,
            )
        assert refused.value.field == "reason"
        assert Customer.objects.get(id=rows.customer.id).name == NAME
    with unscoped("test"):
        assert not ErasureRecord.objects.exists()
    assert not AuditEntry.objects.filter(action="privacy.customer_erased").exists()
