"""The operator UI of tickets, through the Django test client with real rows."""

import datetime as dt
import html
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Message, Ticket
from madoguchi.core.testing import factories
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.events.models import Event
from madoguchi.tenancy.scoping import unscoped

HTMX = {"HTTP_HX_REQUEST": "true"}
NOT_SENT = (
    "Your reply was saved but not sent: this channel has no sending set up for the shop. "
    "Contact the customer another way."
)


@pytest.fixture
def client(client):
    """A test client that reads English, whatever catalogue is compiled."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def ticket_url(ticket, suffix=""):
    name = "conversations:ticket" + (f"_{suffix}" if suffix else "")
    return reverse(name, kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number})


def references(response):
    return re.findall(r'data-testid="ticket-row" data-reference="([^"]+)"', response.text)


def load_more_url(response):
    match = re.search(r'data-testid="load-more" href="([^"]+)"', response.text)
    return html.unescape(match.group(1)) if match else None


def reload(ticket):
    with unscoped("test assertion"):
        return Ticket.objects.select_related("shop").get(pk=ticket.pk)


# Inbox ------------------------------------------------------------------------------------------


def sidebar_counts(client, **params):
    """The saved-view counts as the sidebar loads them after the inbox."""
    response = client.get(reverse("conversations:inbox_counts"), params)
    assert response.status_code == 200
    return {view["key"]: view["count"] for view in response.context["saved_views"]}


def test_inbox_shows_only_the_shops_of_the_operator(client, world):
    client.force_login(world.operator_tea)
    response = client.get(reverse("conversations:inbox"))
    assert response.status_code == 200
    assert references(response) == ["#TEA-1"]
    assert "お茶が届きません" in response.text
    assert "器が割れていました" not in response.text
    assert 'data-testid="shop-tea"' in response.text
    assert 'data-testid="shop-ceramics"' not in response.text
    assert sidebar_counts(client) == {
        "mine": "0",
        "unassigned": "1",
        "open": "1",
        "pending": "0",
        "solved": None,
        "undelivered": "0",
    }


def test_inbox_of_a_supervisor_lists_both_shops(client, world):
    client.force_login(world.supervisor)
    response = client.get(reverse("conversations:inbox"))
    assert sorted(references(response)) == ["#CER-1", "#TEA-1"]
    response = client.get(reverse("conversations:inbox"), {"shop": "ceramics"})
    assert references(response) == ["#CER-1"]


def test_inbox_links_the_shop_tools_of_the_selected_shop_for_staff(client, world):
    client.force_login(world.operator_tea)
    response = client.get(reverse("conversations:inbox"), {"shop": "tea"})
    assert 'data-testid="shop-tools"' in response.text
    assert f'href="{reverse("commerce:order_list", args=["tea"])}"' in response.text
    assert 'data-testid="shop-tools"' not in client.get(reverse("conversations:inbox")).text
    client.force_login(world.client_tea)
    response = client.get(reverse("conversations:inbox"), {"shop": "tea"})
    assert response.status_code == 200
    assert 'data-testid="shop-tools"' not in response.text


def test_inbox_filter_for_a_shop_of_another_tenant_is_404(client, world):
    client.force_login(world.operator_tea)
    response = client.get(reverse("conversations:inbox"), {"shop": "ceramics"})
    assert response.status_code == 404


def test_inbox_filters_swap_the_list_with_htmx(client, world):
    with unscoped("test setup"):
        factories.TicketFactory(shop=world.tea, subject="至急", priority="urgent", channel="line")
    client.force_login(world.operator_tea)
    response = client.get(
        reverse("conversations:inbox"), {"view": "open", "priority": "urgent"}, **HTMX
    )
    assert response.status_code == 200
    assert response.text.startswith('<div id="ticket-list"')
    assert "<html" not in response.text
    assert references(response) == ["#TEA-2"]
    assert "HX-Request" in response["Vary"]
    response = client.get(reverse("conversations:inbox"), {"channel": "email"}, **HTMX)
    assert references(response) == ["#TEA-1"]
    response = client.get(reverse("conversations:inbox"), {"status": "solved"}, **HTMX)
    assert references(response) == []
    assert 'data-testid="inbox-empty"' in response.text


def test_inbox_ignores_unknown_filter_values(client, world):
    client.force_login(world.operator_tea)
    response = client.get(reverse("conversations:inbox"), {"view": "bogus", "status": "x"})
    assert response.status_code == 200
    assert response.context["current_view"] == "open"
    assert references(response) == ["#TEA-1"]


def test_inbox_rejects_a_forged_cursor(client, world):
    client.force_login(world.operator_tea)
    response = client.get(reverse("conversations:inbox"), {"cursor": "not-a-cursor"})
    assert response.status_code == 400


def test_load_more_returns_every_ticket_once_in_activity_order(client, world, settings):
    settings.MADOGUCHI = {**settings.MADOGUCHI, "INBOX_PAGE_SIZE": 4}
    base = timezone.now() - dt.timedelta(days=1)
    with unscoped("test setup"):
        Ticket.objects.filter(pk=world.tea_ticket.pk).update(last_activity_at=base)
        for index in range(9):
            # Pairs share a timestamp: the cursor must break ties on the id.
            at = base + dt.timedelta(minutes=1 + index // 2)
            factories.TicketFactory(shop=world.tea, created_at=at, last_activity_at=at)
    client.force_login(world.operator_tea)
    first = client.get(reverse("conversations:inbox"))
    seen = references(first)
    assert seen == ["#TEA-10", "#TEA-9", "#TEA-8", "#TEA-7"]
    url = load_more_url(first)
    pages = 1
    while url:
        page = client.get(url, **HTMX)
        assert page.status_code == 200
        assert "ticket-list" not in page.text  # rows only, appended in place of the button
        seen += references(page)
        url = load_more_url(page)
        pages += 1
    assert pages == 3
    assert seen == [f"#TEA-{n}" for n in range(10, 0, -1)]
    # Without htmx the same link is a whole page that starts after the cursor.
    plain = client.get(load_more_url(first))
    assert "<html" in plain.text
    assert references(plain) == ["#TEA-6", "#TEA-5", "#TEA-4", "#TEA-3"]


# Ticket page ------------------------------------------------------------------------------------


def test_ticket_page_shows_timeline_properties_and_customer(client, world):
    with unscoped("test setup"):
        factories.MessageFactory(
            ticket=world.tea_ticket, direction=Message.Direction.NOTE, body_text="社内メモです"
        )
        factories.ContactIdentityFactory(
            customer=world.tea_ticket.customer,
            value="taro@example.jp",
            display_value="Taro@Example.jp",
        )
        factories.TicketFactory(
            shop=world.tea, customer=world.tea_ticket.customer, subject="前回の注文"
        )
    client.force_login(world.operator_tea)
    response = client.get(ticket_url(world.tea_ticket))
    assert response.status_code == 200
    text = response.text
    assert text.count('data-testid="timeline-message"') == 2
    assert 'data-direction="note"' in text
    assert "社内メモです" in text
    assert 'data-testid="reply-form"' in text
    assert 'data-testid="note-form"' in text
    assert 'data-testid="properties-form"' in text
    assert "Taro@Example.jp" in text
    assert "前回の注文" in text
    assert 'data-testid="status-badge">New<' in text


def test_ticket_of_another_shop_is_404(client, world):
    client.force_login(world.operator_tea)
    response = client.get(ticket_url(world.ceramics_ticket))
    assert response.status_code == 404
    assert 'data-testid="not-found"' in response.text
    assert "Page not found" in response.text
    assert "器が割れていました" not in response.text


def test_not_found_page_speaks_japanese_by_default(client, world):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    client.force_login(world.operator_tea)
    response = client.get(ticket_url(world.ceramics_ticket))
    assert response.status_code == 404
    assert '<h1 class="error-box__title">ページが見つかりません</h1>' in response.text


def test_not_found_for_htmx_is_a_fragment(client, world):
    client.force_login(world.operator_tea)
    response = client.get(ticket_url(world.ceramics_ticket), **HTMX)
    assert response.status_code == 404
    assert 'data-testid="not-found"' in response.text
    assert "<html" not in response.text


def test_refusal_for_htmx_is_an_error_fragment(client, world):
    client.force_login(world.client_tea)
    response = client.post(ticket_url(world.tea_ticket, "properties"), {"status": "solved"}, **HTMX)
    assert response.status_code == 403
    assert 'data-testid="error"' in response.text
    assert "Only support staff may do this." in response.text
    assert "<html" not in response.text


def test_client_sees_the_ticket_read_only_without_notes(client, world):
    with unscoped("test setup"):
        factories.MessageFactory(
            ticket=world.tea_ticket, direction=Message.Direction.NOTE, body_text="社内メモです"
        )
    client.force_login(world.client_tea)
    response = client.get(ticket_url(world.tea_ticket))
    assert response.status_code == 200
    text = response.text
    assert text.count('data-testid="timeline-message"') == 1
    assert "社内メモです" not in text
    assert 'data-testid="reply-form"' not in text  # an agency works this shop
    assert 'data-testid="note-form"' not in text
    assert 'data-testid="properties-form"' not in text
    assert 'data-testid="read-only"' in text


def test_client_of_an_in_house_shop_may_reply(client, world):
    with unscoped("test setup"):
        world.tea.engagements.all().delete()
    client.force_login(world.client_tea)
    response = client.get(ticket_url(world.tea_ticket))
    assert 'data-testid="reply-form"' in response.text
    assert 'data-testid="properties-form"' not in response.text
    response = client.post(ticket_url(world.tea_ticket, "reply"), {"body": "店主です。"})
    assert response.status_code == 302
    with unscoped("test assertion"):
        message = Message.objects.get(ticket=world.tea_ticket, direction="outbound")
    assert message.body_text == "店主です。"
    assert message.author_user == world.client_tea


def test_reply_solves_the_ticket_and_moves_it_to_the_solved_view(client, world):
    client.force_login(world.operator_tea)
    response = client.post(
        ticket_url(world.tea_ticket, "reply"),
        {"body": "お届けは明日の予定です。\r\nよろしくお願いします。", "status": "solved"},
    )
    assert response.status_code == 302
    assert response["Location"] == ticket_url(world.tea_ticket)
    with unscoped("test assertion"):
        message = Message.objects.get(ticket=world.tea_ticket, direction="outbound")
    assert message.body_text == "お届けは明日の予定です。\nよろしくお願いします。"
    assert message.delivery_status == "stored"
    assert reload(world.tea_ticket).status == "solved"
    page = client.get(ticket_url(world.tea_ticket))
    # The shop has no mail address set up: nothing was sent, and the page says so in words.
    assert NOT_SENT in page.text
    assert 'data-status="stored" data-testid="delivery-status">Saved, not sent<' in page.text
    assert "<br>よろしくお願いします。" in page.text
    assert references(client.get(reverse("conversations:inbox"), {"view": "solved"})) == ["#TEA-1"]
    assert references(client.get(reverse("conversations:inbox"), {"view": "open"})) == []


def test_reply_keeps_a_new_ticket_open_by_default(client, world):
    client.force_login(world.operator_tea)
    client.post(ticket_url(world.tea_ticket, "reply"), {"body": "確認します。", "status": ""})
    assert reload(world.tea_ticket).status == "open"


def test_reply_with_htmx_returns_the_fresh_workspace(client, world):
    client.force_login(world.operator_tea)
    response = client.post(
        ticket_url(world.tea_ticket, "reply"),
        {"body": "<b>確認</b>します。", "status": "pending"},
        **HTMX,
    )
    assert response.status_code == 200
    assert response.text.startswith('<div id="ticket-workspace"')
    assert "<html" not in response.text
    assert "&lt;b&gt;確認&lt;/b&gt;します。" in response.text
    assert 'data-testid="status-badge">Pending<' in response.text
    assert NOT_SENT in response.text
    assert references(client.get(reverse("conversations:inbox"), {"view": "pending"})) == ["#TEA-1"]


def test_empty_reply_shows_the_error_and_writes_nothing(client, world):
    client.force_login(world.operator_tea)
    with unscoped("test assertion"):
        before = Message.objects.count(), Event.objects.count()
    response = client.post(ticket_url(world.tea_ticket, "reply"), {"body": "   "})
    assert response.status_code == 200
    assert "This field is required." in response.text
    with unscoped("test assertion"):
        assert (Message.objects.count(), Event.objects.count()) == before


def test_reply_to_a_ticket_of_another_shop_is_404_and_writes_nothing(client, world):
    client.force_login(world.operator_tea)
    with unscoped("test assertion"):
        before = Message.objects.count()
    response = client.post(ticket_url(world.ceramics_ticket, "reply"), {"body": "x"})
    assert response.status_code == 404
    with unscoped("test assertion"):
        assert Message.objects.count() == before


def test_note_is_added_and_shown_only_to_staff(client, world):
    client.force_login(world.operator_tea)
    response = client.post(ticket_url(world.tea_ticket, "note"), {"body": "返品対応を確認中"})
    assert response.status_code == 302
    with unscoped("test assertion"):
        note = Message.objects.get(ticket=world.tea_ticket, direction="note")
    assert note.body_text == "返品対応を確認中"
    assert reload(world.tea_ticket).status == "new"
    client.force_login(world.client_tea)
    assert "返品対応を確認中" not in client.get(ticket_url(world.tea_ticket)).text


def test_client_may_not_add_a_note(client, world):
    client.force_login(world.client_tea)
    response = client.post(ticket_url(world.tea_ticket, "note"), {"body": "x"})
    assert response.status_code == 403
    with unscoped("test assertion"):
        assert not Message.objects.filter(direction="note").exists()


def test_properties_update_assigns_and_moves_the_ticket_to_mine(client, world):
    with unscoped("test setup"):
        category = factories_category(world.tea, "配送")
    client.force_login(world.operator_tea)
    response = client.post(
        ticket_url(world.tea_ticket, "properties"),
        {
            "status": "pending",
            "priority": "high",
            "assignee": str(world.operator_tea.id),
            "category": str(category.id),
            "tags": "配送遅延、 至急, 配送遅延",
        },
    )
    assert response.status_code == 302
    ticket = reload(world.tea_ticket)
    assert (ticket.status, ticket.priority, ticket.assignee_id, ticket.category_id) == (
        "pending",
        "high",
        world.operator_tea.id,
        category.id,
    )
    with unscoped("test assertion"):
        assert sorted(ticket.tags.values_list("name", flat=True)) == ["至急", "配送遅延"]
    inbox = client.get(reverse("conversations:inbox"), {"view": "mine"})
    assert references(inbox) == ["#TEA-1"]
    assert sidebar_counts(client) == {
        "mine": "1",
        "unassigned": "0",
        "open": "1",
        "pending": "1",
        "solved": None,
        "undelivered": "0",
    }
    page = client.get(ticket_url(world.tea_ticket))
    events = re.findall(r'data-testid="timeline-event" data-type="([^"]+)"', page.text)
    # The fixture's ticket was made by a factory, without a "ticket.created" event.
    assert events == [
        "ticket.status_changed",
        "ticket.priority_changed",
        "ticket.assigned",
        "ticket.category_changed",
        "ticket.tags_changed",
    ]
    name = world.operator_tea.display_name
    assert f"{name} changed the status from New to Pending" in page.text
    assert f"{name} assigned the ticket to {name}" in page.text
    assert f"{name} set the category to 配送" in page.text


def factories_category(shop, name):
    from madoguchi.conversations.models import Category

    return Category.objects.create(shop=shop, name=name)


def test_properties_refuse_an_assignee_who_does_not_work_the_shop(client, world):
    client.force_login(world.supervisor)
    response = client.post(
        ticket_url(world.tea_ticket, "properties"),
        {"status": "new", "priority": "normal", "assignee": str(world.operator_ceramics.id)},
    )
    assert response.status_code == 200
    assert "Select a valid choice." in response.text
    assert reload(world.tea_ticket).assignee_id is None


def test_client_may_not_update_properties(client, world):
    client.force_login(world.client_tea)
    with unscoped("test assertion"):
        before = Event.objects.count(), AuditEntry.objects.count()
    response = client.post(
        ticket_url(world.tea_ticket, "properties"), {"status": "solved", "priority": "urgent"}
    )
    assert response.status_code == 403
    ticket = reload(world.tea_ticket)
    assert (ticket.status, ticket.priority) == ("new", "normal")
    with unscoped("test assertion"):
        assert (Event.objects.count(), AuditEntry.objects.count()) == before


def test_get_on_a_change_url_is_not_allowed(client, world):
    client.force_login(world.operator_tea)
    assert client.get(ticket_url(world.tea_ticket, "reply")).status_code == 405


# New ticket -------------------------------------------------------------------------------------


def test_new_ticket_for_a_new_caller(client, world):
    client.force_login(world.operator_tea)
    page = client.get(reverse("conversations:ticket_new"))
    assert page.status_code == 200
    assert '<option value="tea">' in page.text
    assert '<option value="ceramics">' not in page.text
    assert '<option value="phone" selected>' in page.text
    response = client.post(
        reverse("conversations:ticket_new"),
        {
            "shop": "tea",
            "channel": "phone",
            "customer_name": "佐藤花子",
            "customer_email": "hanako@example.jp",
            "customer_phone": "090-1234-5678",
            "subject": "贈答用の包装について",
            "body": "のし紙を付けられるか知りたいとのこと。",
            "priority": "normal",
            "assign_to_self": "on",
        },
    )
    with unscoped("test assertion"):
        ticket = Ticket.objects.select_related("shop", "customer").get(shop=world.tea, number=2)
        identities = sorted(
            ContactIdentity.objects.filter(customer=ticket.customer).values_list("kind", "value")
        )
        first = Message.objects.get(ticket=ticket)
    assert response.status_code == 302
    assert response["Location"] == ticket_url(ticket)
    assert (ticket.subject, ticket.channel, ticket.status, ticket.assignee_id) == (
        "贈答用の包装について",
        "phone",
        "open",
        world.operator_tea.id,
    )
    assert ticket.customer.name == "佐藤花子"
    assert identities == [("email", "hanako@example.jp"), ("phone", "09012345678")]
    assert (first.direction, first.body_text) == (
        "inbound",
        "のし紙を付けられるか知りたいとのこと。",
    )


def test_new_ticket_for_an_existing_customer_from_the_prefill(client, world):
    customer = world.tea_ticket.customer
    client.force_login(world.operator_tea)
    url = reverse("conversations:ticket_new") + f"?shop=tea&customer={customer.id}"
    page = client.get(url)
    assert page.status_code == 200
    assert f'data-testid="prefilled-customer">{customer.name}' in page.text
    response = client.post(
        url,
        {
            "shop": "tea",
            "channel": "phone",
            "customer": str(customer.id),
            "subject": "再配達の依頼",
            "body": "明日の午前に再配達希望。",
            "priority": "high",
        },
    )
    assert response.status_code == 302
    with unscoped("test assertion"):
        ticket = Ticket.objects.get(shop=world.tea, number=2)
        assert Customer.objects.filter(shop=world.tea).count() == 1
    assert (ticket.customer_id, ticket.priority, ticket.assignee_id, ticket.status) == (
        customer.id,
        "high",
        None,
        "new",
    )


def test_new_ticket_shows_validation_errors(client, world):
    client.force_login(world.operator_tea)
    response = client.post(
        reverse("conversations:ticket_new"),
        {"shop": "tea", "channel": "phone", "subject": "", "body": "x", "priority": "normal"},
    )
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert "Choose a customer or enter their name or contact." in response.text
    with unscoped("test assertion"):
        assert Ticket.objects.count() == 2


def test_new_ticket_refuses_a_shop_of_another_tenant(client, world):
    client.force_login(world.operator_tea)
    assert client.get(reverse("conversations:ticket_new") + "?shop=ceramics").status_code == 404
    response = client.post(
        reverse("conversations:ticket_new"),
        {
            "shop": "ceramics",
            "channel": "phone",
            "customer_name": "x",
            "subject": "x",
            "body": "x",
            "priority": "normal",
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice." in response.text
    with unscoped("test assertion"):
        assert Ticket.objects.filter(shop=world.ceramics).count() == 1


def test_new_ticket_refuses_a_customer_of_another_shop(client, world):
    client.force_login(world.supervisor)
    response = client.post(
        reverse("conversations:ticket_new"),
        {
            "shop": "tea",
            "channel": "phone",
            "customer": str(world.ceramics_ticket.customer_id),
            "subject": "x",
            "body": "x",
            "priority": "normal",
        },
    )
    assert response.status_code == 200
    assert "The customer belongs to another shop." in response.text
    with unscoped("test assertion"):
        assert Ticket.objects.count() == 2


def test_clients_cannot_open_tickets(client, world):
    client.force_login(world.client_tea)
    assert client.get(reverse("conversations:ticket_new")).status_code == 403
    assert "/tickets/new/" not in client.get(reverse("conversations:inbox")).text


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_inbox_and_ticket_page_queries_do_not_grow_with_rows(client, world):
    client.force_login(world.operator_tea)
    inbox, page = reverse("conversations:inbox"), ticket_url(world.tea_ticket)
    _queries(client, inbox)  # warm the session and the content-type caches
    inbox_before, page_before = _queries(client, inbox), _queries(client, page)
    with unscoped("test setup"):
        for _ in range(5):
            factories.TicketFactory(shop=world.tea, assignee=world.operator_tea)
            factories.MessageFactory(ticket=world.tea_ticket, direction="outbound")
            factories.MessageFactory(ticket=world.tea_ticket, direction="note")
    assert _queries(client, inbox) == inbox_before
    assert _queries(client, page) == page_before


def test_ticket_page_shows_the_customers_orders_to_staff_only(client, world):
    import datetime as dt

    from madoguchi.commerce.services import LineInput, OrderInput, order_create

    with unscoped("test setup"):
        order_create(
            shop=world.tea,
            data=OrderInput(
                number="YE-2001",
                placed_at=dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.UTC),
                payment_method="bank_transfer",
                lines=[LineInput(name="煎茶", unit_price=1080, tax_rate=8)],
                customer=world.tea_ticket.customer,
            ),
        )
    client.force_login(world.operator_tea)
    page = client.get(ticket_url(world.tea_ticket))
    assert 'data-testid="orders-panel"' in page.text
    assert 'data-order="YE-2001"' in page.text
    assert "¥1,080" in page.text
    client.force_login(world.client_tea)
    page = client.get(ticket_url(world.tea_ticket))
    assert 'data-testid="orders-panel"' not in page.text
    assert "YE-2001" not in page.text


def test_saved_view_counts_load_after_the_inbox(client, world):
    client.force_login(world.operator_tea)
    page = client.get(reverse("conversations:inbox")).content.decode()
    assert 'hx-get="/inbox/counts/?view=open"' in page
    assert 'data-testid="count-open"' not in page
    counts = client.get(reverse("conversations:inbox_counts"), {"view": "open"})
    html = counts.content.decode()
    assert counts.status_code == 200
    assert 'data-testid="count-open">1<' in html
    assert 'data-testid="count-mine">0<' in html
    assert "hx-get" not in html


def test_saved_view_counts_of_another_shop_are_404(client, world):
    client.force_login(world.operator_tea)
    response = client.get(reverse("conversations:inbox_counts"), {"shop": world.ceramics.slug})
    assert response.status_code == 404
