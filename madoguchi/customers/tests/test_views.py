"""The customer page of the operator UI."""

import pytest
from django.conf import settings
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.core.testing import factories
from madoguchi.tenancy.scoping import unscoped


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def customer_url(shop_slug, customer_id):
    return reverse("customers:detail", kwargs={"shop_slug": shop_slug, "pk": customer_id})


@pytest.fixture
def customer(world):
    with unscoped("test setup"):
        customer = world.tea_ticket.customer
        customer.name_kana = "ヤマダ タロウ"
        customer.note = "贈答品の注文が多い"
        customer.save()
        factories.ContactIdentityFactory(
            customer=customer, value="taro@example.jp", display_value="Taro@Example.jp"
        )
        factories.ContactIdentityFactory(
            customer=customer, kind="phone", value="0312345678", display_value="03-1234-5678"
        )
        factories.TicketFactory(shop=world.tea, customer=customer, subject="のしの指定")
    return customer


def test_customer_page_shows_identities_note_and_tickets(client, world, customer):
    client.force_login(world.operator_tea)
    response = client.get(customer_url("tea", customer.id))
    assert response.status_code == 200
    text = response.text
    assert f'data-testid="customer-name">{customer.name}<' in text
    assert "ヤマダ タロウ" in text
    assert "贈答品の注文が多い" in text
    assert "Taro@Example.jp" in text
    assert "03-1234-5678" in text
    assert text.count('data-testid="ticket-row"') == 2
    assert text.index("のしの指定") < text.index("お茶が届きません")  # newest activity first
    assert "2 tickets" in text
    new_ticket = reverse("conversations:ticket_new") + f"?shop=tea&amp;customer={customer.id}"
    assert f'href="{new_ticket}"' in text


def test_client_sees_the_customer_without_the_new_ticket_link(client, world, customer):
    client.force_login(world.client_tea)
    response = client.get(customer_url("tea", customer.id))
    assert response.status_code == 200
    assert 'data-testid="new-ticket-for-customer"' not in response.text


def test_customer_of_another_shop_is_404(client, world, customer):
    client.force_login(world.operator_ceramics)
    assert client.get(customer_url("tea", customer.id)).status_code == 404
    client.force_login(world.client_ceramics)
    assert client.get(customer_url("tea", customer.id)).status_code == 404


def test_customer_named_under_the_wrong_shop_is_404(client, world, customer):
    # The supervisor sees both shops, but the tea customer is not a ceramics customer.
    client.force_login(world.supervisor)
    assert client.get(customer_url("ceramics", customer.id)).status_code == 404
    assert client.get(customer_url("tea", customer.id)).status_code == 200


def test_customer_page_needs_a_sign_in(client, world, customer):
    response = client.get(customer_url("tea", customer.id))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")


def test_picker_finds_customers_by_name_and_contact(client, world, customer):
    client.force_login(world.operator_tea)
    url = reverse("customers:picker")
    # Contacts are found whole (they are encrypted: by their digest), however typed.
    response = client.get(url, {"shop": "tea", "q": "TARO@example.jp"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.text.startswith('<div id="customer-results"')
    choices = response.text.count('data-testid="customer-choice"')
    assert choices == 1
    prefill = reverse("conversations:ticket_new") + f"?shop=tea&amp;customer={customer.id}"
    assert f'href="{prefill}"' in response.text
    # A list: the contacts are masked, even for the operator who sees them on the page.
    assert 'data-testid="picker-contact">T***@Example.jp<' in response.text
    assert 'data-testid="picker-contact">03-****-5678<' in response.text
    assert "Taro@" not in response.text and "1234" not in response.text
    assert "no-store" in response["Cache-Control"]  # personal data: kept by no cache
    response = client.get(url, {"shop": "tea", "q": "03 1234 5678"})
    assert "<html" in response.text
    assert response.text.count('data-testid="customer-choice"') == 1
    response = client.get(url, {"shop": "tea", "q": "存在しない"}, HTTP_HX_REQUEST="true")
    assert 'data-testid="customer-choice"' not in response.text
    assert "No customer matches" in response.text


def test_picker_never_searches_another_shop(client, world, customer):
    client.force_login(world.operator_ceramics)
    url = reverse("customers:picker")
    assert client.get(url, {"shop": "tea", "q": customer.name}).status_code == 404
    response = client.get(url, {"shop": "ceramics", "q": customer.name})
    assert response.status_code == 200
    assert 'data-testid="customer-choice"' not in response.text


def test_opening_a_customer_page_is_audited(client, world, customer):
    client.force_login(world.operator_tea)
    url = customer_url("tea", customer.id)
    assert client.get(url, REMOTE_ADDR="203.0.113.4").status_code == 200
    entries = AuditEntry.objects.filter(action="customer.viewed")
    assert list(
        entries.values_list(
            "actor_id", "shop_id", "target_type", "target_id", "changes", "ip_address"
        )
    ) == [
        (
            world.operator_tea.id,
            world.tea.id,
            "customers.customer",
            str(customer.id),
            {"page": "customer"},
            "203.0.113.4",
        )
    ]
    # Staff of another shop get 404 and leave no entry of having seen the customer.
    client.force_login(world.operator_ceramics)
    assert client.get(url).status_code == 404
    client.force_login(world.supervisor)
    assert client.get(customer_url("ceramics", customer.id)).status_code == 404
    assert entries.count() == 1
    # The shop's client reading the page is recorded too.
    client.force_login(world.client_tea)
    assert client.get(url).status_code == 200
    assert list(entries.order_by("id").values_list("actor_id", flat=True)) == [
        world.operator_tea.id,
        world.client_tea.id,
    ]


def test_a_search_showing_customers_contacts_is_audited(client, world, customer):
    client.force_login(world.operator_tea)
    url = reverse("customers:picker")
    client.get(url, {"shop": "tea", "q": "taro@example.jp"}, HTTP_HX_REQUEST="true")
    client.get(url, {"shop": "tea", "q": "存在しない"}, HTTP_HX_REQUEST="true")
    client.get(url, {"shop": "tea", "q": ""})
    entries = AuditEntry.objects.filter(action="customers.searched")
    assert list(entries.values_list("actor_id", "shop_id", "changes")) == [
        (world.operator_tea.id, world.tea.id, {"customers": [customer.id]})
    ]
    client.force_login(world.operator_ceramics)
    assert client.get(url, {"shop": "tea", "q": customer.name}).status_code == 404
    assert entries.count() == 1


def note_url(shop_slug, customer_id):
    return reverse("customers:note_edit", kwargs={"shop_slug": shop_slug, "pk": customer_id})


def test_each_ticket_on_the_customer_page_says_its_channel(client, world, customer):
    with unscoped("test setup"):
        factories.TicketFactory(
            shop=world.tea, customer=customer, subject="チャット", channel="chat"
        )
    client.force_login(world.operator_tea)
    text = client.get(customer_url("tea", customer.id)).text
    chips = [line.strip() for line in text.splitlines() if 'data-testid="ticket-channel"' in line]
    assert len(chips) == 3
    assert '<span class="chip chip--chat" data-testid="ticket-channel">Chat</span>' in chips[0]
    assert sum('chip--email" data-testid="ticket-channel">Email<' in chip for chip in chips) == 2


def test_staff_save_the_memo_with_an_audit_entry(client, world, customer):
    client.force_login(world.operator_tea)
    text = client.get(customer_url("tea", customer.id)).text
    assert 'data-testid="customer-memo-form"' in text
    response = client.post(note_url("tea", customer.id), {"note": "  午前中の連絡を希望\r\n"})
    assert response.status_code == 302
    assert response["Location"] == customer_url("tea", customer.id)
    with unscoped("test check"):
        customer.refresh_from_db()
        entry = AuditEntry.objects.get(action="customer.note_changed")
    assert customer.note == "午前中の連絡を希望"
    assert customer.note_updated_by == world.operator_tea
    assert customer.note_updated_at is not None
    assert (entry.actor, entry.target_id) == (world.operator_tea, str(customer.id))
    assert entry.changes == {"old": "贈答品の注文が多い", "new": "午前中の連絡を希望"}
    page = client.get(customer_url("tea", customer.id)).text
    assert "The memo was saved." in page
    assert f"by {world.operator_tea}" in page
    # Saving the same text again changes nothing and records nothing.
    client.post(note_url("tea", customer.id), {"note": "午前中の連絡を希望"})
    with unscoped("test check"):
        assert AuditEntry.objects.filter(action="customer.note_changed").count() == 1


def test_a_too_long_memo_is_refused_in_japanese_and_kept(client, world, customer):
    client.force_login(world.operator_tea)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    typed = "長" * 5001
    response = client.post(note_url("tea", customer.id), {"note": typed})
    assert response.status_code == 400
    assert typed in response.text
    assert "この値は 5000 文字以下でなければなりません( 5001 文字になっています)。" in response.text
    with unscoped("test check"):
        customer.refresh_from_db()
    assert customer.note == "贈答品の注文が多い"


def test_a_client_reads_the_memo_but_cannot_change_it(client, world, customer):
    client.force_login(world.client_tea)
    text = client.get(customer_url("tea", customer.id)).text
    assert 'data-testid="customer-memo-form"' not in text
    assert '<p data-testid="customer-memo">贈答品の注文が多い</p>' in text
    assert client.post(note_url("tea", customer.id), {"note": "変更"}).status_code == 403
    with unscoped("test check"):
        customer.refresh_from_db()
    assert customer.note == "贈答品の注文が多い"


def test_staff_of_another_shop_cannot_change_the_memo(client, world, customer):
    client.force_login(world.operator_ceramics)
    assert client.post(note_url("tea", customer.id), {"note": "変更"}).status_code == 404
    client.force_login(world.supervisor)
    assert client.post(note_url("ceramics", customer.id), {"note": "変更"}).status_code == 404
    with unscoped("test check"):
        customer.refresh_from_db()
    assert customer.note == "贈答品の注文が多い"


def test_the_customer_page_with_memo_orders_and_channels_is_all_japanese(client, world, customer):
    from madoguchi.core.testing.japanese import english_words, untranslated_msgids

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    client.force_login(world.operator_tea)
    client.post(note_url("tea", customer.id), {"note": "午前中の連絡を希望"})
    with untranslated_msgids() as missing:
        staff_page = client.get(customer_url("tea", customer.id)).text
        client.force_login(world.client_tea)
        client_page = client.get(customer_url("tea", customer.id)).text
    assert missing == set()
    assert "最終更新 " in staff_page and "最終更新 " in client_page
    assert "メモを保存" in staff_page and "この顧客の注文はありません。" in staff_page
    assert english_words(staff_page, allowed=set()) == []
    assert english_words(client_page, allowed=set()) == []
