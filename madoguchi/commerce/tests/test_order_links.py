"""Order numbers in the shop's own format link orders to tickets; phone orders find customers."""

import datetime as dt

from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from madoguchi.commerce.models import Order, TicketOrderLink
from madoguchi.commerce.order_numbers import (
    OrderNumberMention,
    find_order_number_mentions,
    order_number_digits,
    order_number_key,
)
from madoguchi.commerce.services import (
    AddressInput,
    LineInput,
    OrderInput,
    order_create,
    order_upsert,
)
from madoguchi.commerce.tests.helpers import TOKYO, make_order
from madoguchi.commerce.ticket_orders import ticket_link_orders
from madoguchi.conversations.services import InboundMessage, receive_inbound
from madoguchi.customers.models import ContactIdentity
from madoguchi.customers.normalize import identity_digest
from madoguchi.customers.services import IdentityInput, customer_create
from madoguchi.tenancy.scoping import in_shop, unscoped


def test_the_shops_formats_are_recognised_and_prose_is_not():
    def keys(text):
        return [(m.key, m.is_explicit) for m in find_order_number_mentions(text)]

    assert keys("返品について（YE-20260137）") == [("YE20260137", False)]
    assert keys("注文番号：ｙｅ－２０２６０１３７です") == [("YE20260137", True)]
    assert keys("YEー20260137の方をキャンセルしてください") == [("YE20260137", False)]
    assert keys("注文番号: YE 20260137") == [("YE20260137", True)]
    assert keys("注文番号 20260137 です") == [("20260137", True)]
    assert keys("ご注文番号は#10234、もう一つ #10235") == [("10234", True), ("10235", True)]
    assert keys("EC-2024-000123 と注文番号 EC-2024-000123") == [("EC2024000123", True)]
    # Ticket references, amounts, phone numbers and product names are no order numbers.
    assert keys("#TEA-1234 への返信 #1 です 3142円 090-1234-5678 iPhone15") == []
    assert find_order_number_mentions("注文番号 20260137")[0].digits == "20260137"
    assert OrderNumberMention(key="YE20260137", is_explicit=True).digits == ""
    assert (order_number_key("ye－2026 0137"), order_number_digits("EC-2024-000123")) == (
        "YE20260137",
        "2024000123",
    )


def test_prefixed_numbers_link_the_shops_orders_only(world):
    with in_shop(world.ceramics.id):
        make_order(world.ceramics, "YE-20260137", 9900)
    with in_shop(world.tea.id):
        order = make_order(world.tea, "YE-20260137", 3142)
        other = make_order(world.tea, "YE-20260174", 2000)
        assert (order.number, order.number_key, order.number_digits) == (
            "YE-20260137",
            "YE20260137",
            "20260137",
        )
        ticket = world.tea_ticket
        links = ticket_link_orders(
            ticket=ticket,
            text="注文番号：ｙｅ－２０２６０１３７ と 注文番号 20260174 と YE-99999999 と 20260137",
        )
        assert [(link.order_id, link.source) for link in links] == [
            (order.id, TicketOrderLink.Source.MENTION),
            (other.id, TicketOrderLink.Source.MENTION),
        ]
        assert ticket_link_orders(ticket=ticket, text="YE-20260137 の件") == []
    with unscoped("test assertion"):
        assert TicketOrderLink.objects.count() == 2


def test_a_batch_of_messages_is_matched_with_one_query(world, django_capture_on_commit_callbacks):
    with in_shop(world.tea.id):
        first = make_order(world.tea, "YE-20260137", 3142)
        second = make_order(world.tea, "YE-20260174", 2000)

        def inbound(number, subject, body):
            return InboundMessage(
                shop_id=world.tea.id,
                channel="email",
                external_id=f"links-{number}@example.jp",
                subject=subject,
                body_text=body,
                identities=[IdentityInput(kind="email", value=f"links{number}@example.jp")],
            )

        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
            transaction.atomic(),
        ):
            results = [
                receive_inbound(
                    inbound(1, "返品について（YE-20260137）", "よろしくお願いします。")
                ),
                receive_inbound(inbound(2, "お支払い", "注文番号 ＹＥ２０２６０１７４ の件です。")),
                receive_inbound(inbound(3, "ご質問", "3142円のお茶について。")),
            ]
        links = sorted(TicketOrderLink.objects.values_list("ticket_id", "order_id"))
    lookups = [q["sql"] for q in queries.captured_queries if '"number_key" IN' in q["sql"]]
    assert len(lookups) == 1
    assert links == sorted([(results[0].ticket.id, first.id), (results[1].ticket.id, second.id)])


def test_the_web_forms_order_number_field_links_the_order(
    client, world, django_capture_on_commit_callbacks
):
    from madoguchi.connectors.mail.models import MailAddress
    from madoguchi.connectors.webform.models import WebForm

    cache.clear()
    with unscoped("test setup"):
        MailAddress.objects.create(
            shop=world.tea,
            address="support@yamada-en.example.jp",
            is_verified=True,
            is_default_sender=True,
        )
        WebForm.objects.create(shop=world.tea, public_key="tea-form-key")
    with in_shop(world.tea.id):
        order = make_order(world.tea, "YE-20260137", 3142)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _form_url(),
            {
                "name": "佐藤 一郎",
                "email": "ichiro@example.jp",
                "order_number": "ye20260137",
                "message": "届いた器が欠けていました。",
                "privacy_consent": "on",
                "website": "",
            },
        )
    assert response.status_code == 200
    with in_shop(world.tea.id):
        link = TicketOrderLink.objects.get()
        assert (link.order_id, link.source, link.ticket.channel) == (
            order.id,
            TicketOrderLink.Source.MENTION,
            "web_form",
        )
    cache.clear()


def _form_url():
    from django.urls import reverse

    return reverse("webform:public", args=["tea-form-key"])


def _phone_order(shop, number, *, phone="", email=""):
    return order_create(
        shop=shop,
        data=OrderInput(
            number=number,
            placed_at=dt.datetime(2026, 11, 1, 10, 0, tzinfo=TOKYO),
            payment_method="bank_transfer",
            lines=[LineInput(name="煎茶", unit_price=3142)],
            source=Order.Source.PHONE,
            email=email,
            address=AddressInput(name="鈴木 花子", phone=phone),
        ),
    )


def test_a_phone_order_gets_the_customer_whose_number_matches(world):
    with in_shop(world.ceramics.id):
        customer_create(
            shop=world.ceramics,
            name="別ショップの鈴木",
            identities=[IdentityInput(kind=ContactIdentity.Kind.PHONE, value="090-1234-5601")],
        )
    with in_shop(world.tea.id):
        hanako = customer_create(
            shop=world.tea,
            name="鈴木 花子",
            identities=[
                IdentityInput(kind=ContactIdentity.Kind.EMAIL, value="hanako@example.jp"),
                IdentityInput(kind=ContactIdentity.Kind.PHONE, value="+81 90-1234-5601"),
            ],
        )
        by_phone = _phone_order(world.tea, "P-0001", phone="０９０（１２３４）５６０１")
        by_email = _phone_order(world.tea, "P-0002", email=" Hanako@Example.JP ")
        unknown = _phone_order(world.tea, "P-0003", phone="03-9999-0000")
        too_short = _phone_order(world.tea, "P-0004", phone="5601")
        dialled = _phone_order(world.tea, "P-0005", phone="010-81-90-1234-5601")
        assert (by_phone.customer_id, by_email.customer_id) == (hanako.id, hanako.id)
        assert (dialled.customer_id, dialled.contact_phone) == (
            hanako.id,
            identity_digest("phone", "09012345601"),
        )
        assert (unknown.customer_id, too_short.customer_id) == (None, None)
        # An import refreshing an order without a customer finds it too.
        refreshed, created = order_upsert(
            shop=world.tea,
            data=OrderInput(
                number="P-0003",
                placed_at=dt.datetime(2026, 11, 1, 10, 0, tzinfo=TOKYO),
                payment_method="bank_transfer",
                lines=[LineInput(name="煎茶", unit_price=3142)],
                source=Order.Source.CSV,
                address=AddressInput(phone="'090-1234-5601"),
            ),
        )
        assert (created, refreshed.customer_id) == (False, hanako.id)


def test_the_migration_gives_existing_orders_their_keys(world):
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "madoguchi.commerce.migrations.0003_order_match_keys_notice_reason"
    )
    with in_shop(world.tea.id):
        order = _phone_order(world.tea, "EC-2024-000123", phone="03-1234-5678", email="A@B.jp")
        Order.objects.filter(pk=order.pk).update(
            number_key="", number_digits="", contact_email="", contact_phone=""
        )
        migration.fill_match_keys(apps, None)
        order.refresh_from_db()
    # The keys as they were then: the normalised values (0004 turns them into digests).
    assert (order.number_key, order.number_digits, order.contact_email, order.contact_phone) == (
        "EC2024000123",
        "2024000123",
        "a@b.jp",
        "0312345678",
    )


def test_a_customer_who_writes_or_calls_later_gets_their_orders(
    world, django_capture_on_commit_callbacks
):
    with in_shop(world.ceramics.id):
        elsewhere = _phone_order(world.ceramics, "P-0001", phone="090-1234-5601")
    with in_shop(world.tea.id):
        by_phone = _phone_order(world.tea, "P-0001", phone="090-1234-5601")
        by_email = _phone_order(world.tea, "P-0002", email="Hanako@Example.jp")
        fragment = _phone_order(world.tea, "P-0003", phone="5601")
        assert (by_phone.customer_id, by_email.customer_id) == (None, None)
        assert (by_phone.contact_phone, by_email.contact_email) == (
            identity_digest("phone", "09012345601"),
            identity_digest("email", "hanako@example.jp"),
        )

        def inbound(number, channel, identity):
            return InboundMessage(
                shop_id=world.tea.id,
                channel=channel,
                external_id=f"later-{number}",
                subject="注文について",
                body_text="先日電話で注文した者です。",
                identities=[identity],
            )

        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            called = receive_inbound(
                inbound(1, "phone", IdentityInput(kind="phone", value="+81 90-1234-5601"))
            )
            wrote = receive_inbound(
                inbound(2, "email", IdentityInput(kind="email", value="hanako@example.jp"))
            )
        for order in (by_phone, by_email, fragment):
            order.refresh_from_db()
        assert (by_phone.customer_id, by_email.customer_id, fragment.customer_id) == (
            called.ticket.customer_id,
            wrote.ticket.customer_id,
            None,
        )
    with in_shop(world.ceramics.id):
        elsewhere.refresh_from_db()
        assert elsewhere.customer_id is None
