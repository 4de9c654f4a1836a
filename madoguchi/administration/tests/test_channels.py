"""The channels overview: every channel's state computed from real rows, links by role, menu."""

import datetime as dt

import pytest
from django.urls import reverse

from madoguchi.commerce.models import CommerceConnection, WebhookDelivery
from madoguchi.connectors.chat.models import ChatWidget
from madoguchi.connectors.line.models import LineChannel, LineOutbound, LineWebhook
from madoguchi.connectors.mail.models import MailAddress, Mailbox, OutboundMail, RawMail
from madoguchi.connectors.phone.models import CallLog, PhoneNumber
from madoguchi.connectors.webform.models import Submission, WebForm
from madoguchi.conversations.models import Message
from madoguchi.core.testing import factories
from madoguchi.demo.seed import seed_demo
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import in_shop

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
OVERVIEW = reverse("administration:channels", args=["tea"])
KEYS = ["email", "web_form", "chat", "line", "phone", "shopify", "eccube"]


def _at(hours: int) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours)


@pytest.fixture
def tea_channels(world):
    """The tea shop with every channel set up, something received and an error on most."""
    shop = world.tea
    ticket = world.tea_ticket
    with in_shop(shop.id):
        MailAddress.objects.create(shop=shop, address="info@tea.example.jp")
        Mailbox.objects.create(
            shop=shop,
            name="info",
            host="imap.example.jp",
            username="info",
            password="imap-password",
            last_error="LOGIN failed",
            last_polled_at=_at(5),
        )
        RawMail.objects.create(
            shop=shop,
            source="imap",
            raw=b"Subject: a\r\n\r\nb",
            sha256="0" * 64,
            idempotency_key="m-1",
            status="processed",
            received_at=_at(2),
        )
        OutboundMail.objects.create(
            shop=shop,
            ticket=ticket,
            internet_message_id="out-1@tea.example.jp",
            from_address="info@tea.example.jp",
            to_address="customer@example.com",
            subject="Re: a",
            raw=b"",
            status="failed",
            last_error="550 mailbox unavailable",
            created_at=_at(3),
        )
        form = WebForm.objects.create(shop=shop)
        Submission.objects.create(
            shop=shop,
            form=form,
            email="a@example.com",
            message="お問い合わせ",
            status="failed",
            last_error="ticket could not be created",
            created_at=_at(6),
        )
        Submission.objects.create(
            shop=shop, form=form, email="b@example.com", message="再送", created_at=_at(1)
        )
        ChatWidget.objects.create(shop=shop, is_enabled=False)
        chat_ticket = factories.TicketFactory(shop=shop, channel="chat")
        factories.MessageFactory(ticket=chat_ticket, created_at=_at(4))
        factories.MessageFactory(
            ticket=chat_ticket, direction=Message.Direction.OUTBOUND, created_at=_at(0)
        )
        line = LineChannel.objects.create(
            shop=shop, name="山田園 公式", channel_id="1", channel_secret="s", access_token="t"
        )
        LineWebhook.objects.create(shop=shop, channel=line, body=b"{}", received_at=_at(7))
        LineWebhook.objects.create(
            shop=shop,
            channel=line,
            body=b"{}",
            status="failed",
            last_error="image fetch failed",
            received_at=_at(9),
        )
        LineOutbound.objects.create(
            shop=shop,
            ticket=ticket,
            message=factories.MessageFactory(
                ticket=ticket, direction=Message.Direction.OUTBOUND, created_at=_at(8)
            ),
            status="failed",
            http_status=429,
            last_error="429 monthly limit",
            created_at=_at(8),
        )
        PhoneNumber.objects.create(
            shop=shop, number="03-1111-2222", number_normalized="0311112222", label="代表"
        )
        for direction, hours in (("inbound", 10), ("outbound", 1)):
            CallLog.objects.create(
                shop=shop,
                direction=direction,
                number="090-1234-5678",
                number_normalized="09012345678",
                result="answered",
                created_at=_at(hours),
            )
        shopify = CommerceConnection.objects.create(
            shop=shop,
            platform="shopify",
            store_domain="tea.myshopify.com",
            webhook_secret="shpss_0123456789abcdef",
        )
        WebhookDelivery.objects.create(
            shop=shop,
            connection=shopify,
            topic="orders/create",
            raw_body=b"{}",
            received_at=_at(11),
        )
        WebhookDelivery.objects.create(
            shop=shop,
            connection=shopify,
            topic="orders/create",
            raw_body=b"{}",
            error="No order with Shopify id 1.",
            received_at=_at(12),
        )
    return shop


def _states(response) -> dict[str, tuple]:
    return {
        row.kind.key: (
            row.state.is_connected,
            row.state.summary,
            row.state.last_received_at,
            row.state.last_error,
            row.state.last_error_at,
        )
        for row in response.context["rows"]
    }


def test_states_come_from_the_shops_rows(english, world, tea_channels):
    english.force_login(world.supervisor)
    response = english.get(OVERVIEW)
    assert response.status_code == 200
    assert [row.kind.key for row in response.context["rows"]] == KEYS
    assert _states(response) == {
        "email": (
            True,
            "info@tea.example.jp, 1 mailbox",
            _at(2),
            "550 mailbox unavailable",
            _at(3),
        ),
        "web_form": (
            True,
            "Accepting submissions",
            _at(1),
            "ticket could not be created",
            _at(6),
        ),
        "chat": (False, "Widget disabled", _at(4), "", None),
        "line": (
            True,
            "山田園 公式",
            _at(7),
            "LINE refused the message: the monthly message quota is used up.",
            _at(8),
        ),
        "phone": (True, "代表 03-1111-2222", _at(10), "", None),
        "shopify": (
            True,
            "tea.myshopify.com",
            _at(11),
            "No order with Shopify id 1.",
            _at(12),
        ),
        "eccube": (False, "No connection yet.", None, "", None),
    }
    html = response.content.decode()
    assert html.count(">Connected<") == 5
    assert html.count(">Not set up<") == 2


def test_a_shop_with_nothing_set_up(english, world):
    english.force_login(world.supervisor)
    response = english.get(reverse("administration:channels", args=["ceramics"]))
    assert _states(response) == {
        "email": (False, "No mail address yet.", None, "", None),
        "web_form": (False, "Not set up yet.", None, "", None),
        "chat": (False, "Not set up yet.", None, "", None),
        "line": (False, "No LINE channel yet.", None, "", None),
        "phone": (False, "No phone number yet.", None, "", None),
        "shopify": (False, "No connection yet.", None, "", None),
        "eccube": (False, "No connection yet.", None, "", None),
    }


def test_the_overview_is_japanese_by_default(client, world, tea_channels):
    client.force_login(world.supervisor)
    html = client.get(OVERVIEW).content.decode()
    assert "チャネル一覧" in html
    assert html.count(">接続済み<") == 5
    assert "受付中" in html


def test_leads_get_the_settings_links_other_staff_read_only_links(english, world):
    english.force_login(world.supervisor)
    links = {row.kind.key: row.settings_url for row in english.get(OVERVIEW).context["rows"]}
    assert links == {
        "email": "/mail/tea/addresses/",
        "web_form": "/webform/tea/settings/",
        "chat": "/chat/tea/settings/",
        "line": "/line/tea/channels/",
        "phone": "/phone/tea/numbers/",
        "shopify": "/commerce/tea/connections/",
        "eccube": "/commerce/tea/connections/",
    }
    english.force_login(world.operator_tea)
    response = english.get(OVERVIEW)
    assert response.status_code == 200
    links = {row.kind.key: row.settings_url for row in response.context["rows"]}
    assert (links["shopify"], links["eccube"], links["line"]) == ("", "", "/line/tea/channels/")
    html = response.content.decode()
    assert "/commerce/tea/connections/" not in html
    assert html.count(">View<") == 5
    for key, url in links.items():
        if url:  # every page linked for an operator opens for them
            assert english.get(url).status_code == 200, key


def test_other_shops_are_404_and_clients_403(client, world):
    client.force_login(world.operator_ceramics)
    assert client.get(OVERVIEW).status_code == 404
    client.force_login(world.client_tea)
    assert client.get(OVERVIEW).status_code == 403


def test_the_query_cost_is_a_few_per_channel(
    client, world, tea_channels, django_assert_max_num_queries
):
    client.force_login(world.supervisor)
    client.get(OVERVIEW)  # warm the session and the menu
    # About 19 for the seven channels (two or three each), the rest is the request's own.
    with django_assert_max_num_queries(30):
        assert client.get(OVERVIEW).status_code == 200


def _menu(client, url: str) -> dict[str, list[tuple[str, str]]]:
    sections = client.get(url).context["menu"].sections
    return {
        section.key: [(str(link.label), link.url) for link in section.links] for section in sections
    }


def test_the_menu_links_the_channel_pages_by_role(english, world):
    english.force_login(world.supervisor)
    menu = _menu(english, OVERVIEW)
    assert menu["channels"][:1] == [("Channels overview", OVERVIEW)]
    channel_urls = {url for _, url in menu["channels"]}
    assert {
        "/webform/tea/settings/",
        "/chat/tea/settings/",
        "/line/tea/channels/",
        "/line/tea/deliveries/",
        "/phone/tea/numbers/",
        "/commerce/tea/connections/",
    } <= channel_urls
    assert ("Log a phone call", "/phone/tea/calls/new/") in menu["work"]
    assert ("Callback queue", "/phone/tea/callbacks/") in menu["work"]
    assert [url for _, url in menu["commerce"]] == [
        "/commerce/tea/orders/",
        "/commerce/tea/orders/new/",
        "/commerce/tea/orders/import/",
        "/commerce/tea/deposits/import/",
        "/commerce/tea/deposits/review/",
        "/commerce/tea/orders/reminders/",
    ]
    english.force_login(world.operator_tea)
    menu = _menu(english, OVERVIEW)
    assert "/commerce/tea/connections/" not in {url for _, url in menu["channels"]}
    for _, url in menu["channels"] + menu["commerce"] + menu["work"]:
        assert english.get(url).status_code == 200, url


def test_a_clients_menu_has_no_channel_or_commerce_pages(english, world):
    english.force_login(world.client_tea)
    menu = _menu(english, reverse("conversations:inbox") + "?shop=tea")
    assert "channels" not in menu
    assert "commerce" not in menu
    work_urls = {url for _, url in menu.get("work", [])}
    assert "/phone/tea/calls/new/" not in work_urls


@pytest.mark.django_db
def test_the_demo_shops_show_real_states(english):
    seed_demo()
    admin = Membership.objects.get(role="admin", workspace__kind="agency").user
    english.force_login(admin)
    tea = _states(english.get(OVERVIEW))
    ceramics = _states(english.get(reverse("administration:channels", args=["ceramics"])))
    assert tea["phone"][:2] == (True, "代表 03-6555-0101, 注文専用 0120-555-010")
    assert tea["shopify"][:2] == (True, "yamada-en.myshopify.com")
    assert (tea["web_form"][0], tea["chat"][0]) == (True, True)
    assert ceramics["phone"][:2] == (True, "代表 0561-55-0202")
    assert ceramics["shopify"][:2] == (False, "No connection yet.")
