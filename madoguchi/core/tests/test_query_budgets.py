"""Security case 80: query ceilings of the pages staff open most, with a realistic number of rows.

Each page is measured with one row of each kind (a ticket, a contact identity, an order) and
again after its customer has several more tickets, contact identities and orders (with lines):
the count must not grow with the rows (an N+1 fails) and stays under a fixed ceiling. The ticket
list is checked in `conversations/tests/test_selectors.py::test_inbox_page_query_ceiling` and the
inbox and the ticket's messages in `conversations/tests/test_views.py`.

The ticket page is counted again with more staff who may be assigned its ticket. A chat reply
sent from the ticket page is counted too, and where its push to the visitor comes:
at 5,000 open chat sockets every statement before the push is latency the visitor sees (issue 19).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from madoguchi.commerce.services import AddressInput, LineInput, OrderInput, order_create
from madoguchi.connectors.chat import sending
from madoguchi.connectors.chat.tests.builders import conversation_on
from madoguchi.conversations.models import Message
from madoguchi.conversations.services import message_reply
from madoguchi.core.testing import factories
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import in_shop, unscoped

ROWS = 6
# Measured (SQLite and PostgreSQL alike): 14 and 31 queries, whatever the number of rows; the
# ceilings leave a little room.
CUSTOMER_PAGE_CEILING = 18
TICKET_PAGE_CEILING = 36
# Measured on SQLite: 33 statements, the push after the 19th (its BEGIN and COMMIT are statements).
CHAT_REPLY_CEILING = 36
CHAT_REPLY_PUSH_CEILING = 21


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def _add_rows(world, numbers: range) -> None:
    """Give the tea ticket's customer a ticket, an identity (of each kind in turn) and an order
    for each of `numbers`."""
    customer = world.tea_ticket.customer
    kinds = ["email", "phone", "line"]
    with unscoped("test setup"):
        for number in numbers:
            factories.TicketFactory(
                shop=world.tea,
                customer=customer,
                assignee=world.operator_tea if number % 2 else None,
                channel=["email", "line", "chat"][number % 3],
            )
            kind = kinds[number % len(kinds)]
            value = {
                "email": f"buyer{number}@example.jp",
                "phone": f"0312340{number:03d}",
                "line": f"U{number:032x}",
            }[kind]
            factories.ContactIdentityFactory(
                customer=customer, kind=kind, value=value, display_value=value
            )
            order_create(
                shop=world.tea,
                data=OrderInput(
                    number=f"YE-{3000 + number}",
                    placed_at=dt.datetime(2026, 11, 1 + number, 1, 0, tzinfo=dt.UTC),
                    payment_method="bank_transfer",
                    lines=[
                        LineInput(name="煎茶", unit_price=1080, tax_rate=8),
                        LineInput(name="急須", unit_price=3300, quantity=2),
                    ],
                    customer=customer,
                    address=AddressInput(
                        postal_code="1000001",
                        prefecture="東京都",
                        address1="千代田区千代田1-1",
                        name="山田 太郎",
                        phone="0312345678",
                    ),
                ),
            )


def test_customer_page_queries_do_not_grow_with_tickets_identities_and_orders(client, world):
    customer = world.tea_ticket.customer
    url = reverse("customers:detail", kwargs={"shop_slug": "tea", "pk": customer.pk})
    client.force_login(world.operator_tea)
    _add_rows(world, range(1))
    _queries(client, url)  # warm the session and the content-type caches
    before = _queries(client, url)
    _add_rows(world, range(1, ROWS + 1))
    after = _queries(client, url)
    page = client.get(url).text
    assert page.count('data-testid="ticket-row"') == ROWS + 2  # the world's ticket too
    assert f"YE-{3000 + ROWS}" in page  # the orders panel lists the orders
    assert after == before
    assert after <= CUSTOMER_PAGE_CEILING


def _add_staff(world) -> None:
    """More people who may be assigned the tea shop's tickets (the page's assignee list): an
    operator assigned to it, one assigned elsewhere, a supervisor of the agency, for each row."""
    role = Membership.Role
    for _ in range(ROWS):
        assigned = factories.MembershipFactory(workspace=world.agency, role=role.OPERATOR)
        factories.ShopAssignmentFactory(membership=assigned, shop=world.tea)
        elsewhere = factories.MembershipFactory(workspace=world.agency, role=role.OPERATOR)
        factories.ShopAssignmentFactory(membership=elsewhere, shop=world.ceramics)
        factories.MembershipFactory(workspace=world.agency, role=role.SUPERVISOR)


def test_ticket_page_queries_do_not_grow_with_the_customers_identities_and_orders(client, world):
    ticket = world.tea_ticket
    url = reverse("conversations:ticket", kwargs={"shop_slug": "tea", "number": ticket.number})
    client.force_login(world.operator_tea)
    _add_rows(world, range(1))
    _queries(client, url)
    before = _queries(client, url)
    _add_rows(world, range(1, ROWS + 1))
    with unscoped("test setup"):
        for _ in range(ROWS):
            factories.MessageFactory(ticket=ticket, direction="outbound")
            factories.MessageFactory(ticket=ticket, direction="note")
        _add_staff(world)
    after = _queries(client, url)
    assert f'data-order="YE-{3000 + ROWS}"' in client.get(url).text  # the newest order
    assert after == before
    assert after <= TICKET_PAGE_CEILING


@pytest.mark.django_db(transaction=True)  # the push runs after the commit
def test_a_chat_reply_from_the_ticket_page_is_pushed_after_a_few_statements(
    client, world, monkeypatch
):
    with in_shop(world.tea.id):
        ticket = factories.TicketFactory(shop=world.tea, channel="chat")
        factories.MessageFactory(ticket=ticket, channel="chat", body_text="いつ届きますか")
        conversation_on(ticket, public_id="chat-budget")
        message_reply(actor=actor_for_user(world.operator_tea), ticket=ticket, body_text="確認")
    url = reverse(
        "conversations:ticket_reply", kwargs={"shop_slug": "tea", "number": ticket.number}
    )
    client.force_login(world.operator_tea)
    captured = CaptureQueriesContext(connection)
    pushed_at: list[int] = []  # statements run before each push
    push_all = sending.push_all

    def counting_push_all(sends):
        pushed_at.append(len(captured))
        return push_all(sends)

    monkeypatch.setattr(sending, "push_all", counting_push_all)

    def reply(text: str) -> tuple[int, int]:
        with unscoped("test setup"):
            newest = Message.objects.filter(ticket=ticket).latest("id").id
        with captured:
            response = client.post(
                url, {"body": text, "status": "", "seen_message": newest}, HTTP_HX_REQUEST="true"
            )
        assert response.status_code == 200
        assert response["HX-Retarget"] == "#reply-composer"  # appended, not re-rendered
        return len(captured), pushed_at[-1]

    reply("少々お待ちください")  # warm the session and the content-type caches
    before = reply("明日発送します")
    with unscoped("test setup"):
        for _ in range(ROWS):
            factories.MessageFactory(ticket=ticket, channel="chat")
            factories.MessageFactory(ticket=ticket, channel="chat", direction="outbound")
    after = reply("発送しました")
    assert after == before
    total, before_the_push = after
    assert total <= CHAT_REPLY_CEILING
    assert before_the_push <= CHAT_REPLY_PUSH_CEILING
