"""Orders beside a ticket: numbers in messages are recognised and linked; the panel partial."""

from django.template.loader import render_to_string
from django.utils import translation

from madoguchi.commerce.models import TicketOrderLink
from madoguchi.commerce.selectors import orders_for_ticket
from madoguchi.commerce.services import shipment_add
from madoguchi.commerce.tests.helpers import make_order
from madoguchi.commerce.ticket_orders import order_notice_send, ticket_link_orders
from madoguchi.conversations.models import Message
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop


def test_order_numbers_in_a_message_link_orders_of_the_same_shop_only(world):
    with in_shop(world.ceramics.id):
        make_order(world.ceramics, 12345, 9900)
    with in_shop(world.tea.id):
        order = make_order(world.tea, 12345, 5400)
        other = make_order(world.tea, 12346, 2000)
        ticket = world.tea_ticket
        links = ticket_link_orders(ticket=ticket, text="ご注文番号：１２３４５ と #12346 と #99999")
        assert sorted(link.order.number for link in links) == ["12345", "12346"]
        assert ticket_link_orders(ticket=ticket, text="注文番号 12345") == []
        assert TicketOrderLink.objects.count() == 2
        assert {link.order_id for link in links} == {order.id, other.id}


def test_orders_for_ticket_and_the_panel_partial(world):
    with in_shop(world.tea.id):
        ticket = world.tea_ticket
        own = make_order(world.tea, 20001, 3000, customer=ticket.customer)
        mentioned = make_order(world.tea, 12345, 5400)
        shipment_add(order=mentioned, carrier="yamato", tracking_number="1234-5678-9013")
        ticket_link_orders(ticket=ticket, text="注文番号 12345 の件")
        orders = orders_for_ticket(ticket)
        assert [o.number for o in orders] == ["12345", "20001"]
        with translation.override("en"):
            html = render_to_string(
                "commerce/_ticket_orders.html", {"orders": orders, "shop": ticket.shop}
            )
        assert own.number in html
        assert 'href="/commerce/tea/orders/12345/"' in html
        assert "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number01=123456789013" in html
        assert html.count('<span class="payment payment--unpaid">Unpaid</span>') == 2


def test_a_payment_notice_is_a_reply_on_the_customers_ticket(world):
    actor = actor_for_user(world.operator_tea)
    with in_shop(world.tea.id):
        order = make_order(world.tea, 20001, 3000, customer=world.tea_ticket.customer)
        notice = order_notice_send(order=order, kind="payment_thanks", actor=actor)
        assert notice.message is not None
        message = Message.objects.get(pk=notice.message_id)
        assert (message.ticket_id, message.direction) == (world.tea_ticket.id, "outbound")
        assert "20001" in message.body_text
        # Without a person to send it as (automatic reconciliation), it is only stored.
        quiet = order_notice_send(order=order, kind="payment_thanks")
        assert quiet.message is None and quiet.body_text == notice.body_text


def test_an_inbound_message_links_the_orders_it_mentions(world, django_capture_on_commit_callbacks):
    from madoguchi.conversations.services import InboundMessage, receive_inbound
    from madoguchi.customers.services import IdentityInput

    with in_shop(world.tea.id):
        order = make_order(world.tea, 54321, 3240)
        with django_capture_on_commit_callbacks(execute=True):
            result = receive_inbound(
                InboundMessage(
                    shop_id=world.tea.id,
                    channel="email",
                    external_id="order-mention@example.jp",
                    subject="入金について",
                    body_text="注文番号５４３２１の代金を振り込みました。",
                    identities=[IdentityInput(kind="email", value="furikomi@example.jp")],
                )
            )
        link = TicketOrderLink.objects.get(ticket=result.ticket)
        assert (link.order_id, link.source) == (order.id, TicketOrderLink.Source.MENTION)
