"""Inbound batch hooks: the new messages of one transaction reach each batch hook once, per shop."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from madoguchi.commerce.models import TicketOrderLink
from madoguchi.commerce.tests.helpers import make_order
from madoguchi.conversations.models import Message
from madoguchi.conversations.services import InboundMessage, receive_inbound
from madoguchi.customers.services import IdentityInput
from madoguchi.operations import replies
from madoguchi.operations.models import AfterHoursSettings
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db
SUNDAY_NIGHT = dt.datetime(2026, 11, 22, 20, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def _inbound(world, n, body):
    return InboundMessage(
        shop_id=world.tea.id,
        channel="email",
        external_id=f"batch-hook-{n}@example.jp",
        subject=f"問い合わせ{n}",
        body_text=body,
        identities=[IdentityInput(kind="email", value=f"batch{n}@example.jp")],
        received_at=SUNDAY_NIGHT,
    )


def test_one_pass_per_transaction_and_a_failing_message_stays_alone(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    real_reply = replies.after_hours_reply

    def reply(message, **kwargs):
        if message.body_text.startswith("壊れる"):
            raise RuntimeError("the reply for this message fails")
        return real_reply(message, **kwargs)

    monkeypatch.setattr(replies, "after_hours_reply", reply)
    with in_shop(world.tea.id):
        AfterHoursSettings.objects.create(shop=world.tea, is_enabled=True)
        order = make_order(world.tea, 54321, 3240)
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
            transaction.atomic(),
        ):
            results = [
                receive_inbound(_inbound(world, 1, "注文番号54321の件です。")),
                receive_inbound(_inbound(world, 2, "壊れる: 注文番号99999の件です。")),
                receive_inbound(_inbound(world, 3, "ご質問です。")),
            ]
        tickets = [result.ticket for result in results]
        links = list(TicketOrderLink.objects.values_list("ticket_id", "order_id"))
        auto_replies = sorted(
            Message.objects.filter(
                ticket__in=tickets, direction=Message.Direction.OUTBOUND
            ).values_list("ticket_id", flat=True)
        )

    sql = [query["sql"] for query in queries.captured_queries]
    # One read of the settings for the batch (`after_hours_reply` reads them again for the
    # messages it answers).
    settings_reads = [q for q in sql if 'FROM "operations_afterhourssettings"' in q]
    assert len([q for q in settings_reads if "LIMIT" not in q]) == 1
    assert len(settings_reads) == 3  # the batch's, then one per message answered
    assert links == [(tickets[0].id, order.id)]
    # The second message's reply failed; the first and the third still got theirs.
    assert auto_replies == [tickets[0].id, tickets[2].id]
