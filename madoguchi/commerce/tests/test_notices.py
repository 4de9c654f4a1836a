"""Order notices go only to the order's own customer; their text follows the order's state."""

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from madoguchi.commerce.models import OrderNotice, TicketOrderLink
from madoguchi.commerce.selectors import orders_for_ticket
from madoguchi.commerce.services import payment_record, shipment_add
from madoguchi.commerce.tests.helpers import make_order
from madoguchi.commerce.ticket_orders import (
    notice_destination,
    order_notice_send,
    ticket_link_orders,
    ticket_order_link_confirm,
)
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.services import InboundMessage, receive_inbound
from madoguchi.core.testing import factories
from madoguchi.customers.models import Customer
from madoguchi.customers.services import IdentityInput
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped


def _line_ticket(world, django_capture_on_commit_callbacks, text) -> Ticket:
    """A ticket of an anonymous LINE user who types an order number."""
    with django_capture_on_commit_callbacks(execute=True):
        result = receive_inbound(
            InboundMessage(
                shop_id=world.tea.id,
                channel="line",
                external_id="line-mention-1",
                body_text=text,
                identities=[IdentityInput(kind="line", value="U" + "0" * 32)],
            )
        )
    return result.ticket


def _outbound(ticket):
    return list(
        Message.objects.filter(ticket=ticket, direction=Message.Direction.OUTBOUND).values_list(
            "body_text", flat=True
        )
    )


def test_a_mention_never_receives_the_orders_notice(world, django_capture_on_commit_callbacks):
    actor = actor_for_user(world.operator_tea)
    with in_shop(world.tea.id):
        owner_ticket = world.tea_ticket
        order = make_order(world.tea, "YE-20260137", 3142, customer=owner_ticket.customer)
        stranger = _line_ticket(world, django_capture_on_commit_callbacks, "YE-20260137 入金した")
        link = TicketOrderLink.objects.get(ticket=stranger)
        assert (link.order_id, link.source, link.is_confirmed) == (order.id, "mention", False)
        # The mention was the latest link; the notice still goes to the order's customer.
        with translation.override("en"):  # the operator's language is not the customer's
            notice = order_notice_send(order=order, kind="payment_thanks", actor=actor)
        assert notice.message.ticket_id == owner_ticket.id
        assert notice.body_text.splitlines()[0] == (
            "ご注文 YE-20260137 のご入金を確認いたしました。ありがとうございます。"
        )
        assert notice.unsent_reason == ""
        assert _outbound(stranger) == []
        # Staff see the mentioned order beside the stranger's ticket, marked unconfirmed; a
        # reply there cannot quote it.
        shown = orders_for_ticket(stranger)
        assert [(o.number, o.is_confirmed_for_ticket) for o in shown] == [("YE-20260137", False)]
        assert orders_for_ticket(stranger, confirmed_only=True) == []
        with translation.override("ja"):
            panel = render_to_string(
                "commerce/_ticket_orders.html",
                {"orders": shown, "shop": world.tea, "ticket": stranger},
            )
        owner = owner_ticket.customer.name
        assert f"この注文は {owner} 様の注文として登録されています。" in panel
        assert 'name="action" value="link_confirm"' in panel


def test_an_order_without_customer_is_only_stored_until_staff_confirm(
    world, django_capture_on_commit_callbacks
):
    actor = actor_for_user(world.operator_tea)
    with in_shop(world.tea.id):
        order = make_order(world.tea, "YE-20260137", 3142)
        order.customer = None
        order.save(update_fields=["customer"])
        stranger = _line_ticket(world, django_capture_on_commit_callbacks, "注文番号 20260137")
        assert notice_destination(order).unsent_reason == "no_customer"
        notice = order_notice_send(order=order, kind="payment_thanks", actor=actor)
        assert (notice.message_id, notice.unsent_reason) == (None, "no_customer")
        assert _outbound(stranger) == []

        ticket_order_link_confirm(actor=actor, ticket=stranger, order=order)
        order.refresh_from_db()
        assert order.customer_id == stranger.customer_id
        link = TicketOrderLink.objects.get(ticket=stranger)
        assert (link.source, link.is_confirmed) == ("manual", True)
        sent = order_notice_send(order=order, kind="payment_thanks", actor=actor)
        assert (sent.message.ticket_id, sent.unsent_reason) == (stranger.id, "")
        assert len(_outbound(stranger)) == 1
        # Nobody to send it as (automatic reconciliation): stored, with the reason.
        quiet = order_notice_send(order=order, kind="payment_thanks")
        assert (quiet.message_id, quiet.unsent_reason) == (None, "no_sender")


def test_a_customer_without_conversation_has_no_channel(world):
    actor = actor_for_user(world.operator_tea)
    with in_shop(world.tea.id):
        lonely = Customer.objects.create(shop=world.tea, name="会話のない顧客")
        order = make_order(world.tea, "YE-20260200", 3142, customer=lonely)
        notice = order_notice_send(order=order, kind="shipping", actor=actor)
        assert (notice.message_id, notice.unsent_reason) == (None, "no_ticket")
        assert notice.get_unsent_reason_display() == (
            "この注文の顧客は、返信を送れるチャネル（メール・Webフォーム・LINE・チャット）で"
            "まだ連絡していません。"
        )
        # A phone call is a conversation, but no channel a notice can be sent on.
        factories.TicketFactory(shop=world.tea, customer=lonely, channel="phone")
        by_phone = order_notice_send(order=order, kind="shipping", actor=actor)
        assert (by_phone.message_id, by_phone.unsent_reason) == (None, "no_ticket")


@pytest.fixture
def japanese():
    with translation.override("ja"):
        yield


def test_amounts_have_separators_and_the_text_follows_the_orders_state(world, japanese):
    with in_shop(world.tea.id):
        order = make_order(world.tea, "YE-20260137", 3142, customer=world.tea_ticket.customer)
        payment_record(order=order, amount=3142, paid_on=order.placed_at.date())
        order.refresh_from_db()
        pending = order_notice_send(order=order, kind="payment_thanks").body_text
        assert pending.splitlines()[1:3] == [
            "ご入金額：3,142円",
            "近日中に発送し、伝票番号をお知らせいたします。",
        ]
        shipment_add(order=order, carrier="yamato", tracking_number="1234-5678-9013")
        order.refresh_from_db()
        shipped = order_notice_send(order=order, kind="payment_thanks").body_text
        assert "近日中に発送" not in shipped
        assert shipped.splitlines()[1:5] == [
            "ご入金額：3,142円",
            "ご注文の商品はすでに発送いたしました。",
            "ヤマト運輸 123456789013",
            "https://toi.kuronekoyamato.co.jp/cgi-bin/tneko?number01=123456789013",
        ]

        unpaid = make_order(world.tea, "YE-20260174", 12800, customer=world.tea_ticket.customer)
        reminder = order_notice_send(order=unpaid, kind="payment_reminder").body_text
        assert reminder.splitlines()[1] == "ご請求金額：12,800円"
        preparing = order_notice_send(order=unpaid, kind="shipping").body_text
        assert preparing.splitlines()[0] == (
            "ご注文 YE-20260174 の商品は発送の準備をしております。"
            "発送いたしましたら伝票番号をお知らせいたします。"
        )


# The order page and the ticket panel, each with the other-shop case.


@pytest.fixture
def mention(world, django_capture_on_commit_callbacks):
    with in_shop(world.tea.id):
        order = make_order(world.tea, "YE-20260137", 3142)
        order.customer = None
        order.save(update_fields=["customer"])
        ticket_link_orders(ticket=world.tea_ticket, text="注文番号 YE-20260137")
    return order


def test_the_order_page_says_why_a_notice_is_only_stored(client, world, mention):
    client.force_login(world.operator_tea)
    page = client.get("/commerce/tea/orders/YE-20260137/").content.decode()
    assert "お知らせは送信されず、記録のみされます：" in page
    assert "この注文にはまだ顧客が紐付いていません。" in page
    response = client.post(
        "/commerce/tea/orders/YE-20260137/", {"action": "notice", "kind": "payment_thanks"}
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert (
        "注文 YE-20260137 のお知らせは送信せず記録のみしました："
        "この注文にはまだ顧客が紐付いていません。"
    ) in page
    assert "記録のみ（未送信）" in page


def test_staff_confirm_a_mention_from_the_ticket_panel(client, world, mention):
    client.force_login(world.operator_tea)
    ticket_url = f"/shops/tea/tickets/{world.tea_ticket.number}/"
    panel = client.get(ticket_url).content.decode()
    assert "言及のみ・未確認" in panel
    assert 'name="action" value="link_confirm"' in panel
    response = client.post(
        "/commerce/tea/orders/YE-20260137/",
        {"action": "link_confirm", "ticket": world.tea_ticket.number},
    )
    assert (response.status_code, response["Location"]) == (302, ticket_url)
    with unscoped("test assertion"):
        assert TicketOrderLink.objects.get().source == "manual"
        mention.refresh_from_db()
        assert mention.customer_id == world.tea_ticket.customer_id
    assert "言及のみ・未確認" not in client.get(ticket_url).content.decode()
    page = client.get("/commerce/tea/orders/YE-20260137/").content.decode()
    reference = f"#TEA-{world.tea_ticket.number}"
    assert f"お知らせは注文の顧客のチケット {reference}（" in page
    response = client.post(
        "/commerce/tea/orders/YE-20260137/", {"action": "notice", "kind": "payment_thanks"}
    )
    page = client.get(response["Location"]).content.decode()
    assert f"注文 YE-20260137 のお知らせをチケット {reference} への返信として送信しました。" in page
    assert "送信済み" in page


def test_the_other_shops_operator_cannot_confirm_or_send(client, world, mention):
    client.force_login(world.operator_ceramics)
    for data in (
        {"action": "link_confirm", "ticket": world.tea_ticket.number},
        {"action": "notice", "kind": "payment_thanks"},
    ):
        assert client.post("/commerce/tea/orders/YE-20260137/", data).status_code == 404
    # A ticket of another shop cannot be named from this shop's order either.
    client.force_login(world.admin)
    response = client.post(
        "/commerce/tea/orders/YE-20260137/",
        {"action": "link_confirm", "ticket": world.ceramics_ticket.number + 1000},
    )
    assert response.status_code == 404
    with unscoped("test assertion"):
        assert TicketOrderLink.objects.get().source == "mention"
        assert OrderNotice.objects.count() == 0
