"""Customer reads: access by shop, search by name, kana, email and phone."""

import pytest

from madoguchi.core.errors import NotFoundError
from madoguchi.customers.selectors import access_customer, customer_search
from madoguchi.customers.services import IdentityInput, customer_create
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, shop_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    with in_shop(world.tea.id):
        sato = customer_create(
            shop=world.tea,
            name="佐藤 花子",
            name_kana="サトウ ハナコ",
            identities=[
                IdentityInput(kind="email", value="hanako@example.jp"),
                IdentityInput(kind="phone", value="090-1111-2222"),
            ],
        )
        suzuki = customer_create(
            shop=world.tea,
            name="鈴木 一郎",
            name_kana="スズキ イチロウ",
            identities=[IdentityInput(kind="email", value="ichiro.suzuki@shop.example.com")],
        )
        tanaka = customer_create(
            shop=world.tea,
            name="田中 次郎",
            identities=[IdentityInput(kind="phone", value="03-5555-1234")],
        )
    with in_shop(world.ceramics.id):
        other_sato = customer_create(
            shop=world.ceramics,
            name="佐藤 花子",
            identities=[IdentityInput(kind="email", value="hanako@example.jp")],
        )
    return {"sato": sato, "suzuki": suzuki, "tanaka": tanaka, "other_sato": other_sato}


def _search(shop, query):
    with in_shop(shop.id):
        return [customer.name for customer in customer_search(shop_id=shop.id, query=query)]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("佐藤", ["佐藤 花子"]),
        ("ハナコ", ["佐藤 花子"]),
        ("スズキ", ["鈴木 一郎"]),
        # Contacts are encrypted: a whole address or number is found by its digest, however
        # it is typed; a part of one is not (the search page's index finds parts).
        (" HANAKO@Example.JP", ["佐藤 花子"]),
        ("ichiro.suzuki@shop.example.com", ["鈴木 一郎"]),
        ("HANAKO@", []),
        ("example", []),
        ("09011112222", ["佐藤 花子"]),
        ("090-1111-2222", ["佐藤 花子"]),
        ("０９０－１１１１－２２２２", ["佐藤 花子"]),
        ("０９０－１１１１", []),
        ("5555-1234", []),
        ("+81 3 5555 1234", ["田中 次郎"]),
        ("山本", []),
        ("   ", []),
    ],
)
def test_customer_search(world, people, query, names):
    # Sorted by name in code point order: 佐 (U+4F50) < 田 (U+7530) < 鈴 (U+9234).
    assert _search(world.tea, query) == names


def test_customer_search_stays_in_its_shop_and_limit(world, people):
    assert _search(world.ceramics, "hanako@example.jp") == ["佐藤 花子"]
    with in_shop(world.ceramics.id):
        assert (
            list(customer_search(shop_id=world.ceramics.id, query="ichiro.suzuki@shop.example.com"))
            == []
        )
        # Asking for another shop's id inside this scope finds nothing.
        assert list(customer_search(shop_id=world.tea.id, query="佐藤")) == []
    with in_shop(world.tea.id):
        assert len(customer_search(shop_id=world.tea.id, query="ウ", limit=1)) == 1


def test_access_customer(world, people):
    operator = actor_for_user(world.operator_tea)
    with shop_scope(operator.shop_ids):
        customer = access_customer(
            actor=operator, shop_id=world.tea.id, customer_id=people["sato"].id
        )
        assert customer == people["sato"]
        assert [i.kind for i in customer.identities.all()] == ["email", "phone"]
        with pytest.raises(NotFoundError):
            access_customer(
                actor=operator, shop_id=world.tea.id, customer_id=people["other_sato"].id
            )
        with pytest.raises(NotFoundError):
            access_customer(
                actor=operator, shop_id=world.ceramics.id, customer_id=people["other_sato"].id
            )
        with pytest.raises(NotFoundError):
            access_customer(actor=operator, shop_id=world.tea.id, customer_id=10**9)
