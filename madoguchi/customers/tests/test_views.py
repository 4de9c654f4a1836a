"""The customer page of the operator UI."""

import pytest
from django.conf import settings
from django.urls import reverse

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
    response = client.get(url, {"shop": "tea", "q": "taro@example"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.text.startswith('<div id="customer-results"')
    choices = response.text.count('data-testid="customer-choice"')
    assert choices == 1
    prefill = reverse("conversations:ticket_new") + f"?shop=tea&amp;customer={customer.id}"
    assert f'href="{prefill}"' in response.text
    response = client.get(url, {"shop": "tea", "q": "1234-5678"})
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
