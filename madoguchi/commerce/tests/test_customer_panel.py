"""The customer's orders on the customer page (the commerce customer panel)."""

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse

from madoguchi.commerce.tests.helpers import make_order
from madoguchi.tenancy.scoping import in_shop, unscoped


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def orders(world):
    customer = world.tea_ticket.customer
    with in_shop(world.tea.id):
        make_order(world.tea, "YE-10001", 3142, customer=customer, day=dt.date(2026, 11, 1))
        make_order(world.tea, "YE-10002", 5400, customer=customer, day=dt.date(2026, 11, 20))
        make_order(world.tea, "YE-20001", 999, name="別の客")
    with in_shop(world.ceramics.id):
        make_order(world.ceramics, "AT-1", 2000, name="青木の客")
    return customer


def _page(client, world, customer_id):
    url = reverse("customers:detail", kwargs={"shop_slug": "tea", "pk": customer_id})
    return client.get(url)


def test_staff_see_the_customers_orders_newest_first(client, world, orders):
    client.force_login(world.operator_tea)
    text = _page(client, world, orders.id).text
    assert 'data-panel="commerce.orders"' in text
    assert text.count('class="order-card"') == 2
    assert text.index('data-order="YE-10002"') < text.index('data-order="YE-10001"')
    assert reverse("commerce:order", args=["tea", "YE-10001"]) in text
    assert "YE-20001" not in text  # another customer's order
    assert "AT-1" not in text  # another shop's


def test_a_customer_without_orders_says_so(client, world, orders):
    with unscoped("test setup"):
        from madoguchi.core.testing import factories

        other = factories.CustomerFactory(shop=world.tea, name="注文なし")
    client.force_login(world.operator_tea)
    text = _page(client, world, other.id).text
    assert 'data-panel="commerce.orders"' in text
    assert "No orders for this customer." in text


def test_a_client_sees_the_customer_without_the_orders(client, world, orders):
    client.force_login(world.client_tea)
    response = _page(client, world, orders.id)
    assert response.status_code == 200
    assert 'data-panel="commerce.orders"' not in response.text
    assert "YE-10001" not in response.text


def test_staff_of_another_shop_see_neither_customer_nor_orders(client, world, orders):
    client.force_login(world.operator_ceramics)
    assert _page(client, world, orders.id).status_code == 404
