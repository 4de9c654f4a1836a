"""Contacts on the pages: whole for staff who reply, masked for trainees and clients, revealed
with a reason that is audited, for that page only; never for another shop."""

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.commerce.models import Order
from madoguchi.commerce.services import AddressInput, LineInput, OrderInput, order_create
from madoguchi.core.testing import factories
from madoguchi.customers.services import IdentityInput, customer_create
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db

PLAIN = ("Hanako.Sato@Example.jp", "090-1234-5678")
MASKED = ("H***@Example.jp", "090-****-5678")


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def trainee(world):
    with unscoped("test setup"):
        membership = factories.MembershipFactory(
            workspace=world.agency, role=Membership.Role.OPERATOR, is_trainee=True
        )
        factories.ShopAssignmentFactory(membership=membership, shop=world.tea)
    return membership.user


@pytest.fixture
def hanako(world):
    with in_shop(world.tea.id):
        return customer_create(
            shop=world.tea,
            name="佐藤 花子",
            identities=[
                IdentityInput(kind="email", value=PLAIN[0]),
                IdentityInput(kind="phone", value=PLAIN[1]),
            ],
        )


def page(customer, shop_slug="tea"):
    return reverse("customers:detail", kwargs={"shop_slug": shop_slug, "pk": customer.id})


def reveal(customer, shop_slug="tea"):
    return reverse("customers:reveal", kwargs={"shop_slug": shop_slug, "pk": customer.id})


def reveals():
    return list(
        AuditEntry.objects.filter(action="customer.pii_revealed")
        .order_by("id")
        .values_list("actor_id", "shop_id", "target_id", "changes", "ip_address")
    )


def shows(text, values):
    return all(
        f'class="identities__value"><span translate="no">{value}<' in text for value in values
    )


def test_staff_who_reply_see_contacts_whole_without_a_reveal(client, world, hanako):
    for user in (world.operator_tea, world.supervisor, world.admin):
        client.force_login(user)
        response = client.get(page(hanako))
        assert response.status_code == 200
        assert shows(response.text, PLAIN)
        assert 'data-testid="reveal-form"' not in response.text
    assert "no-store" in response["Cache-Control"]  # personal data: kept by no cache


def test_trainees_and_clients_see_them_masked_with_a_reveal(client, world, hanako, trainee):
    for user in (trainee, world.client_tea):
        client.force_login(user)
        response = client.get(page(hanako))
        assert response.status_code == 200
        assert shows(response.text, MASKED)
        assert "Hanako.Sato" not in response.text and "1234" not in response.text
        assert 'data-testid="reveal-form"' in response.text
        assert f'action="{reveal(hanako)}"' in response.text
    assert reveals() == []


def test_a_reveal_needs_a_reason(client, world, hanako, trainee):
    client.force_login(trainee)
    response = client.post(reveal(hanako), {"reason": "   "})
    assert response.status_code == 400
    assert shows(response.text, MASKED)
    assert "Hanako.Sato" not in response.text
    assert "This field is required." in response.text
    assert reveals() == []


def test_a_reveal_with_a_reason_shows_them_for_that_page_and_is_audited(
    client, world, hanako, trainee
):
    client.force_login(trainee)
    response = client.post(
        reveal(hanako), {"reason": "再配達の住所確認"}, REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 200
    assert shows(response.text, PLAIN)
    assert 'data-testid="contacts-revealed"' in response.text
    assert reveals() == [
        (
            trainee.id,
            world.tea.id,
            str(hanako.id),
            {"reason": "再配達の住所確認", "shown": ["email", "phone"]},
            "203.0.113.9",
        )
    ]
    # The next view of the page is masked again.
    assert shows(client.get(page(hanako)).text, MASKED)
    # The shop's client reveals too; each reveal is its own entry.
    client.force_login(world.client_tea)
    assert client.post(reveal(hanako), {"reason": "問い合わせの本人確認"}).status_code == 200
    assert [entry[0] for entry in reveals()] == [trainee.id, world.client_tea.id]


def test_another_shops_customer_is_404_and_leaves_no_entry(client, world, hanako):
    for user in (world.operator_ceramics, world.client_ceramics):
        client.force_login(user)
        assert client.post(reveal(hanako), {"reason": "見たい"}).status_code == 404
    # The supervisor sees both shops, but the tea customer is not a ceramics customer.
    client.force_login(world.supervisor)
    assert client.post(reveal(hanako, "ceramics"), {"reason": "見たい"}).status_code == 404
    assert client.get(reveal(hanako)).status_code == 405
    client.logout()
    assert client.post(reveal(hanako), {"reason": "見たい"}).status_code == 302
    assert reveals() == []


def test_the_ticket_page_masks_the_contact_card_for_trainees(client, world, trainee):
    with unscoped("test setup"):
        factories.ContactIdentityFactory(
            customer=world.tea_ticket.customer,
            kind="phone",
            value="0312345678",
            display_value="03-1234-5678",
        )
    url = reverse("conversations:ticket", args=["tea", world.tea_ticket.number])
    client.force_login(world.operator_tea)
    assert 'class="identities__value"><span translate="no">03-1234-5678<' in client.get(url).text
    client.force_login(trainee)
    text = client.get(url).text
    assert 'class="identities__value"><span translate="no">03-****-5678<' in text
    assert "03-1234-5678" not in text


def test_the_order_page_shows_the_address_to_the_city_for_trainees(client, world, trainee):
    with in_shop(world.tea.id):
        order_create(
            shop=world.tea,
            data=OrderInput(
                number="P-1",
                placed_at=dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC),
                payment_method="bank_transfer",
                lines=[LineInput(name="煎茶", unit_price=3142)],
                source=Order.Source.PHONE,
                address=AddressInput(
                    postal_code="150-0001",
                    prefecture="東京都",
                    address1="渋谷区神宮前1-1-1",
                    address2="青山ハイツ101",
                    name="佐藤 花子",
                    phone="090-1234-5678",
                ),
            ),
        )
    url = reverse("commerce:order", args=["tea", "P-1"])
    client.force_login(world.operator_tea)
    text = client.get(url).text
    assert "〒150-0001 東京都渋谷区神宮前1-1-1 青山ハイツ101<br>佐藤 花子 090-1234-5678" in text
    client.force_login(trainee)
    text = client.get(url).text
    assert "〒150-**** 東京都渋谷区***<br>佐藤 花子 090-****-5678" in text
    assert "神宮前" not in text and "青山" not in text


def test_the_search_page_shows_a_customers_contacts_only_to_staff_who_see_them(
    client, world, hanako, trainee
):
    from madoguchi.search.services import search_index_customer

    search_index_customer(hanako.id)
    url = reverse("search:results") + "?q=Hanako.Sato"
    client.force_login(world.operator_tea)
    response = client.get(url)
    assert f'data-testid="hit-customer-{hanako.id}"' in response.text
    assert "@example.jp 090-1234-5678" in response.text  # the snippet, the match highlighted
    for user in (trainee, world.client_tea):
        client.force_login(user)
        response = client.get(url)
        assert f'data-testid="hit-customer-{hanako.id}"' in response.text
        assert "Example.jp" not in response.text and "1234" not in response.text
