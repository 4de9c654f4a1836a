import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from madoguchi.conversations.services import InboundMessage, message_reply, receive_inbound
from madoguchi.customers.services import IdentityInput
from madoguchi.events.models import Event
from madoguchi.operations.models import Closure, OpeningHours, SlaMeasureRecord, SlaPolicy
from madoguchi.operations.selectors import calendar_for_shop, policy_for_ticket
from madoguchi.operations.services import (
    sla_check_breaches,
    sla_check_warnings,
    sla_process_new_events,
    sla_refresh,
)
from madoguchi.operations.sla import Metric
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop

TOKYO = ZoneInfo("Asia/Tokyo")


def _inbound(shop_id: int, external_id: str, at: dt.datetime, channel: str = "email"):
    return receive_inbound(
        InboundMessage(
            shop_id=shop_id,
            channel=channel,
            external_id=external_id,
            body_text="商品はいつ届きますか",
            subject="配送について",
            identities=[IdentityInput(kind="email", value="hanako@example.jp")],
            received_at=at,
        )
    )


@pytest.fixture
def policies(world):
    with in_shop(world.tea.id):
        general = SlaPolicy.objects.create(
            shop=world.tea, name="標準", first_response_minutes=120, resolution_minutes=60 * 16
        )
        urgent_email = SlaPolicy.objects.create(
            shop=world.tea,
            name="至急メール",
            priority="urgent",
            channel="email",
            first_response_minutes=30,
        )
        urgent_any = SlaPolicy.objects.create(
            shop=world.tea, name="至急", priority="urgent", first_response_minutes=60
        )
    return general, urgent_email, urgent_any


def test_most_specific_policy_wins(world, policies):
    general, urgent_email, urgent_any = policies
    with in_shop(world.tea.id):
        ticket = world.tea_ticket
        assert policy_for_ticket(ticket=ticket) == general
        ticket.priority = "urgent"
        assert policy_for_ticket(ticket=ticket) == urgent_email
        ticket.channel = "line"
        assert policy_for_ticket(ticket=ticket) == urgent_any


def test_calendar_from_rows_and_default(world):
    with in_shop(world.tea.id):
        default = calendar_for_shop(shop_id=world.tea.id)
        assert default.weekly_hours[0] == [(dt.time(10), dt.time(12)), (dt.time(13), dt.time(18))]
        assert 5 not in default.weekly_hours
        OpeningHours.objects.create(
            shop=world.tea, weekday=5, opens_at=dt.time(9), closes_at=dt.time(0)
        )
        Closure.objects.create(
            shop=world.tea,
            name="棚卸",
            starts_on=dt.date(2026, 12, 1),
            ends_on=dt.date(2026, 12, 1),
        )
        calendar = calendar_for_shop(shop_id=world.tea.id)
    assert calendar.weekly_hours == {5: [(dt.time(9), dt.time(0))]}
    assert calendar.is_closed_on(dt.date(2026, 12, 1)) is True
    assert calendar.is_open_at(dt.datetime(2026, 11, 28, 23, 30, tzinfo=TOKYO)) is True


def test_event_log_drives_measures_and_breach(world, policies):
    created = dt.datetime(2026, 11, 25, 10, 30, tzinfo=TOKYO)
    with in_shop(world.tea.id):
        result = _inbound(world.tea.id, "m1@example.jp", created)
    assert sla_process_new_events() >= 1
    with in_shop(world.tea.id):
        first = SlaMeasureRecord.objects.get(ticket=result.ticket, metric=Metric.FIRST_RESPONSE)
        assert first.due_at == dt.datetime(2026, 11, 25, 13, 30, tzinfo=TOKYO)  # lunch skipped
        assert first.completed_at is None
    # Nothing new: the cursor has moved past these events.
    assert sla_process_new_events() == 0

    assert sla_check_breaches(now=dt.datetime(2026, 11, 25, 13, 31, tzinfo=TOKYO)) == 1
    assert sla_check_breaches(now=dt.datetime(2026, 11, 25, 13, 32, tzinfo=TOKYO)) == 0
    with in_shop(world.tea.id):
        breach = Event.objects.get(ticket=result.ticket, type="sla.breached")
        assert breach.payload["metric"] == Metric.FIRST_RESPONSE
        assert breach.payload["policy_id"] == policies[0].id
        escalation = Event.objects.get(ticket=result.ticket, type="sla.escalated")
        assert escalation.payload == {
            "metric": Metric.FIRST_RESPONSE,
            "cycle": 0,
            "supervisor_ids": sorted([world.admin.id, world.supervisor.id]),
            "reassignment": "off",
            "previous_assignee_id": None,
            "assignee_id": None,
        }
        assert escalation.payload_version == 2


def test_reply_completes_first_response(world, policies):
    created = timezone.now() - dt.timedelta(minutes=5)
    with in_shop(world.tea.id):
        result = _inbound(world.tea.id, "m2@example.jp", created)
        message = message_reply(
            actor=actor_for_user(world.operator_tea), ticket=result.ticket, body_text="確認します"
        )
        records = sla_refresh(ticket_id=result.ticket.id)
    first = next(r for r in records if r.metric == Metric.FIRST_RESPONSE)
    assert first.completed_at == message.created_at
    assert [r.metric for r in records] == [Metric.FIRST_RESPONSE, Metric.RESOLUTION]


def test_ticket_without_policy_has_no_measures(world):
    with in_shop(world.ceramics.id):
        assert sla_refresh(ticket_id=world.ceramics_ticket.id) == []


def test_warning_once_inside_the_window_and_no_escalation_when_off(world, policies):
    general = policies[0]
    with in_shop(world.tea.id):
        SlaPolicy.objects.filter(pk=general.pk).update(
            warn_minutes_before=45, escalate_on_breach=False
        )
        result = _inbound(
            world.tea.id, "m3@example.jp", dt.datetime(2026, 11, 25, 10, 30, tzinfo=TOKYO)
        )
    sla_process_new_events()
    # First response due 13:30 (lunch skipped): nothing at 12:40, a warning at 12:50, once.
    assert sla_check_warnings(now=dt.datetime(2026, 11, 25, 12, 40, tzinfo=TOKYO)) == 0
    assert sla_check_warnings(now=dt.datetime(2026, 11, 25, 12, 50, tzinfo=TOKYO)) == 1
    assert sla_check_warnings(now=dt.datetime(2026, 11, 25, 13, 0, tzinfo=TOKYO)) == 0
    assert sla_check_breaches(now=dt.datetime(2026, 11, 25, 13, 31, tzinfo=TOKYO)) == 1
    with in_shop(world.tea.id):
        warning = Event.objects.get(ticket=result.ticket, type="sla.warning")
        assert (warning.payload["metric"], warning.payload["minutes_left"]) == (
            Metric.FIRST_RESPONSE,
            40,
        )
        assert not Event.objects.filter(ticket=result.ticket, type="sla.escalated").exists()


def test_a_shop_without_a_policy_costs_one_statement_per_batch(
    world, policies, django_assert_max_num_queries
):
    # The tea shop measures; the ceramics shop has no policy (its old measures go). The job
    # shares the web process's CPU in the embedded default: a burst of the ceramics shop's
    # chats must not cost queries per ticket.
    created = dt.datetime(2026, 11, 25, 10, 30, tzinfo=TOKYO)
    with in_shop(world.tea.id):
        measured = _inbound(world.tea.id, "tea@example.jp", created)
    with in_shop(world.ceramics.id):
        bursts = [
            _inbound(world.ceramics.id, f"c{n}@example.jp", created, channel="chat")
            for n in range(30)
        ]
        stale = SlaMeasureRecord.objects.create(
            shop=world.ceramics,
            ticket=bursts[0].ticket,
            policy=policies[0],
            metric=Metric.FIRST_RESPONSE,
            started_at=created,
            due_at=created,
            computed_at=created,
        )
    with django_assert_max_num_queries(40):
        assert sla_process_new_events() == 31
    with in_shop(world.tea.id):
        assert SlaMeasureRecord.objects.filter(ticket=measured.ticket).exists()
    with in_shop(world.ceramics.id):
        assert not SlaMeasureRecord.objects.filter(pk=stale.pk).exists()
