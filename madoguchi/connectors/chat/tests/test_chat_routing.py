"""A new chat goes to an operator who is connected now, by the shop's routing mode."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.connectors.chat import services
from madoguchi.connectors.chat.models import OperatorPresence
from madoguchi.conversations.models import Ticket
from madoguchi.conversations.services import InboundMessage, receive_inbound
from madoguchi.customers.services import IdentityInput
from madoguchi.operations.models import RoutingSettings
from madoguchi.operations.services import route_new_tickets, route_ticket
from madoguchi.operations.tests.staffing import tea_operator
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db


def _present(world, user, *, seconds_ago: int = 0, socket: str = "socket-1") -> None:
    with unscoped("test setup"):
        OperatorPresence.objects.create(
            shop=world.tea,
            user=user,
            channel_name=socket,
            seen_at=timezone.now() - dt.timedelta(seconds=seconds_ago),
        )


def _chat_ticket(world, widget, number: int) -> Ticket:
    with in_shop(world.tea.id):
        opened = services.conversation_open(widget=widget, name=f"訪問者{number}")
        received = services.visitor_message(
            conversation=opened.conversation,
            client_id=f"client-{number:04d}",
            text="在庫はありますか",
        )
        return received.message.ticket


def _mail_ticket(world, number: int) -> Ticket:
    with in_shop(world.tea.id):
        return receive_inbound(
            InboundMessage(
                shop_id=world.tea.id,
                channel="email",
                external_id=f"mail-{number}@example.jp",
                body_text="問い合わせです",
                subject="件名",
                language="ja",
                identities=[IdentityInput(kind="email", value=f"m{number}@example.jp")],
            )
        ).ticket


@pytest.fixture
def round_robin(world) -> RoutingSettings:
    with in_shop(world.tea.id):
        return RoutingSettings.objects.create(shop=world.tea, mode=RoutingSettings.Mode.ROUND_ROBIN)


def test_a_new_chat_goes_to_the_operator_who_is_connected(world, widget, round_robin) -> None:
    now = timezone.now()
    offline = tea_operator(world, on_shift_at=now)  # on duty, but not connected
    online = tea_operator(world, on_shift_at=now)
    assert offline.id < online.id  # round robin alone would pick `offline` first
    _present(world, online)
    tickets = [_chat_ticket(world, widget, number) for number in range(3)]
    assert route_new_tickets() == 3
    with in_shop(world.tea.id):
        assignees = [Ticket.objects.get(pk=ticket.id).assignee for ticket in tickets]
    assert assignees == [online, online, online]
    # Mail has no presence: it still takes turns among everyone on duty.
    mail = [_mail_ticket(world, number) for number in range(2)]
    with in_shop(world.tea.id):
        assert [route_ticket(ticket_id=ticket.id) for ticket in mail] == [offline, online]


def test_a_chat_left_while_nobody_is_connected_goes_to_whoever_is_on_duty(
    world, widget, round_robin
) -> None:
    now = timezone.now()
    first = tea_operator(world, on_shift_at=now)
    second = tea_operator(world, on_shift_at=now)
    # A socket not seen for longer than CHAT_PRESENCE_SECONDS (90 s) is gone.
    _present(world, second, seconds_ago=600)
    tickets = [_chat_ticket(world, widget, number) for number in range(2)]
    with in_shop(world.tea.id):
        assert [route_ticket(ticket_id=ticket.id) for ticket in tickets] == [first, second]


def test_a_connected_operator_still_needs_duty_when_the_shop_requires_it(
    world, widget, round_robin
) -> None:
    now = timezone.now()
    off_shift = tea_operator(world, on_shift_at=None)
    _present(world, off_shift)
    ticket = _chat_ticket(world, widget, 1)
    with in_shop(world.tea.id):
        assert route_ticket(ticket_id=ticket.id) is None
        RoutingSettings.objects.filter(pk=round_robin.pk).update(requires_on_duty=False)
        assert route_ticket(ticket_id=ticket.id, now=now) == off_shift


def test_presence_of_another_shop_does_not_count(world, widget, round_robin) -> None:
    operator = tea_operator(world, on_shift_at=timezone.now())
    with unscoped("test setup"):
        OperatorPresence.objects.create(
            shop=world.ceramics, user=operator, channel_name="socket-9", seen_at=timezone.now()
        )
    assert services.operators_online(world.tea.id, timezone.now()) == frozenset()
    assert services.operators_online(world.ceramics.id, timezone.now()) == frozenset({operator.id})
