"""Customers are found by any of their contact values and never shared between shops."""

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.core.errors import ValidationError
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.customers.normalize import identity_digest
from madoguchi.customers.services import (
    IdentityInput,
    customer_create,
    customer_find,
    customer_find_or_create,
)
from madoguchi.events.models import Event
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db

EMAIL = IdentityInput(kind="email", value="Hanako.Sato@Example.JP", display_name="佐藤 花子")
PHONE = IdentityInput(kind="phone", value="０９０－１１１１－２２２２")


def _identities(customer):
    return sorted(
        ContactIdentity.objects.filter(customer=customer).values_list(
            "kind", "value", "display_value", "display_name"
        )
    )


def test_find_or_create_creates_customer_with_normalized_identities(world):
    with in_shop(world.tea.id):
        customer, created = customer_find_or_create(
            shop=world.tea, name=" 佐藤 花子 ", identities=[EMAIL, PHONE], actor=world.operator_tea
        )
        assert created is True
        assert (customer.shop_id, customer.name) == (world.tea.id, "佐藤 花子")
        assert _identities(customer) == [
            ("email", "hanako.sato@example.jp", "Hanako.Sato@Example.JP", "佐藤 花子"),
            ("phone", "09011112222", "０９０－１１１１－２２２２", ""),
        ]
        events = list(Event.objects.filter(type="customer.created"))
        assert [(e.payload, e.actor_kind, e.actor_user_id) for e in events] == [
            ({"customer_id": customer.id}, "operator", world.operator_tea.id)
        ]
    audit = AuditEntry.objects.get(action="customer.created")
    assert (audit.shop_id, audit.target_id, audit.actor_id) == (
        world.tea.id,
        str(customer.id),
        world.operator_tea.id,
    )


def test_system_creation_is_logged_as_system(world):
    with in_shop(world.tea.id):
        customer_create(shop=world.tea, name="匿名", identities=[EMAIL])
        assert Event.objects.get(type="customer.created").actor_kind == "system"


def test_find_by_any_identity_and_add_the_missing_ones(world):
    with in_shop(world.tea.id):
        customer, _ = customer_find_or_create(shop=world.tea, name="佐藤", identities=[EMAIL])
        # The same person calls: typed differently, plus a phone number we did not know.
        found, created = customer_find_or_create(
            shop=world.tea,
            name="別名",
            identities=[PHONE, IdentityInput(kind="email", value=" HANAKO.SATO@example.jp ")],
        )
        assert created is False
        assert found == customer
        assert Customer.objects.count() == 2  # the world's own customer and this one
        assert [kind for kind, *_ in _identities(customer)] == ["email", "phone"]

        by_phone, created = customer_find_or_create(
            shop=world.tea, name="", identities=[IdentityInput(kind="phone", value="090 1111 2222")]
        )
        assert (by_phone, created) == (customer, False)
        assert customer_find(shop=world.tea, identities=[PHONE]) == customer
        assert Event.objects.filter(type="customer.created").count() == 1


def test_identity_of_another_customer_is_not_moved(world):
    with in_shop(world.tea.id):
        first, _ = customer_find_or_create(shop=world.tea, name="一", identities=[EMAIL])
        second, _ = customer_find_or_create(shop=world.tea, name="二", identities=[PHONE])
        found, created = customer_find_or_create(
            shop=world.tea, name="?", identities=[EMAIL, PHONE]
        )
        assert (found, created) == (first, False)
        assert [kind for kind, *_ in _identities(first)] == ["email"]
        assert [kind for kind, *_ in _identities(second)] == ["phone"]


def test_same_email_in_two_shops_gives_two_customers(world):
    with in_shop(world.tea.id):
        tea_customer, tea_created = customer_find_or_create(
            shop=world.tea, name="佐藤", identities=[EMAIL]
        )
    with in_shop(world.ceramics.id):
        ceramics_customer, ceramics_created = customer_find_or_create(
            shop=world.ceramics, name="佐藤", identities=[EMAIL]
        )
        assert customer_find(shop=world.ceramics, identities=[EMAIL]) == ceramics_customer
    assert tea_created is True and ceramics_created is True
    assert tea_customer.id != ceramics_customer.id
    assert (tea_customer.shop_id, ceramics_customer.shop_id) == (world.tea.id, world.ceramics.id)
    with unscoped("test: identities across shops"):
        assert (
            ContactIdentity.objects.filter(
                value_digest=identity_digest("email", "hanako.sato@example.jp")
            ).count()
            == 2
        )


def test_unknown_kind_raises_and_blank_values_are_skipped(world):
    with in_shop(world.tea.id):
        with pytest.raises(ValidationError, match="Unknown contact kind"):
            customer_find_or_create(
                shop=world.tea, name="x", identities=[IdentityInput(kind="fax", value="1")]
            )
        customer, created = customer_find_or_create(
            shop=world.tea,
            name="電話のみ",
            identities=[IdentityInput(kind="email", value="  "), PHONE],
        )
        assert created is True
        assert [kind for kind, *_ in _identities(customer)] == ["phone"]


def test_without_identities_each_call_creates_a_customer(world):
    with in_shop(world.tea.id):
        first, _ = customer_find_or_create(shop=world.tea, name="名無し", identities=[])
        second, created = customer_find_or_create(shop=world.tea, name="名無し", identities=[])
        assert created is True and first != second


def test_nul_characters_are_dropped_from_names_and_identities(world):
    # A chat or LINE payload may carry U+0000; PostgreSQL refuses it in text columns.
    with in_shop(world.tea.id):
        customer, created = customer_find_or_create(
            shop=world.tea,
            name="山田\x00太郎",
            identities=[IdentityInput(kind="line", value="U1234\x00", display_name="やまだ\x00")],
        )
        assert created is True
        assert customer.name == "山田太郎"
        assert _identities(customer) == [("line", "U1234", "U1234", "やまだ")]
        found, created = customer_find_or_create(
            shop=world.tea, name="", identities=[IdentityInput(kind="line", value="U1234")]
        )
        assert (found, created) == (customer, False)


def test_a_merge_keeps_both_memos(world):
    from madoguchi.customers.models import Customer
    from madoguchi.customers.services import customer_merge
    from madoguchi.tenancy.access import actor_for_user
    from madoguchi.tenancy.scoping import in_shop

    with in_shop(world.tea.id):
        target = Customer.objects.create(shop=world.tea, name="山田 太郎", note="贈答品が多い")
        source = Customer.objects.create(shop=world.tea, name="", note="午前中に連絡")
        empty = Customer.objects.create(shop=world.tea, name="", note="")
        customer_merge(actor=actor_for_user(world.operator_tea), source=source, target=target)
        customer_merge(actor=actor_for_user(world.operator_tea), source=empty, target=target)
        target.refresh_from_db()
    assert target.note == "贈答品が多い\n\n午前中に連絡"
