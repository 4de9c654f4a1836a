"""Orders in search: indexed by the commerce services after commit, found by number (with or
without hyphens), tracking number and customer name, only in the actor's shops."""

import datetime as dt
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from madoguchi.commerce.models import Order
from madoguchi.commerce.search_index import order_number_forms
from madoguchi.commerce.services import order_set_status, shipment_add
from madoguchi.commerce.tests.helpers import TOKYO, make_order
from madoguchi.customers.models import Customer
from madoguchi.customers.services import IdentityInput, customer_create, customer_merge
from madoguchi.search.models import SearchDocument
from madoguchi.search.selectors import SearchFilters, search
from madoguchi.search.services import (
    search_index_customer_on_commit,
    search_index_order,
    search_rebuild,
)
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, shop_scope, unscoped


def found_orders(user: Any, query: str, **filters: Any) -> list[int]:
    actor = actor_for_user(user)
    with shop_scope(actor.shop_ids):
        results = search(actor=actor, query=query, filters=SearchFilters(**filters))
    return [hit.object_id for hit in results.orders.hits]


def order_in(world: Any, shop: Any, number: str, capture: Any, **fields: Any) -> Any:
    with capture(execute=True), in_shop(shop.id):
        return make_order(shop, number, 3000, **fields)


def test_number_forms() -> None:
    assert order_number_forms("EC-2024-000123") == [
        "EC-2024-000123",
        "EC2024000123",
        "2024000123",
    ]
    assert order_number_forms("1001") == ["1001"]


def test_order_number_typed_with_or_without_hyphens_and_prefix(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    order = order_in(world, world.tea, "EC-2024-000123", django_capture_on_commit_callbacks)
    for typed in (
        "EC-2024-000123",
        "EC2024000123",
        "ec2024000123",
        "2024000123",
        "２０２４０００１２３",
    ):
        assert found_orders(world.operator_tea, typed) == [order.id], typed
    assert found_orders(world.operator_tea, "EC-2024-000124") == []


def test_tracking_number_of_a_shipment_added_later(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    order = order_in(world, world.tea, "T-5001", django_capture_on_commit_callbacks)
    assert found_orders(world.operator_tea, "123456789012") == []
    with django_capture_on_commit_callbacks(execute=True), in_shop(world.tea.id):
        shipment_add(order=order, carrier="other", tracking_number="1234-5678-9012")
    assert found_orders(world.operator_tea, "123456789012") == [order.id]
    assert found_orders(world.operator_tea, "1234-5678-9012") == [order.id]
    with in_shop(world.tea.id):
        documents = SearchDocument.objects.filter(kind="order", object_id=order.id)
        assert documents.count() == 1


def test_customer_name_with_or_without_the_space_and_kana(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    order = order_in(
        world,
        world.tea,
        "T-5002",
        django_capture_on_commit_callbacks,
        name="佐藤 花子",
        kana="サトウ ハナコ",
    )
    for typed in ("佐藤花子", "佐藤 花子", "さとうはなこ", "サトウ"):
        assert found_orders(world.operator_tea, typed) == [order.id], typed


def test_another_shops_order_is_never_returned(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tea = order_in(world, world.tea, "EC-2024-000777", django_capture_on_commit_callbacks)
    ceramics = order_in(world, world.ceramics, "EC-2024-000777", django_capture_on_commit_callbacks)
    assert found_orders(world.operator_tea, "EC2024000777") == [tea.id]
    assert found_orders(world.operator_ceramics, "EC2024000777") == [ceramics.id]
    # The supervisor sees both shops, newest first; asking for one shop narrows it.
    assert found_orders(world.supervisor, "EC2024000777") == [ceramics.id, tea.id]
    assert found_orders(world.supervisor, "EC2024000777", shop_id=world.tea.id) == [tea.id]


def test_filters_apply_to_orders(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    order = order_in(world, world.tea, "T-5003", django_capture_on_commit_callbacks)
    # Last changed just after midnight in Tokyo, still the day before in UTC: the date filters
    # are the shop's days whatever the time of day the suite runs.
    changed = dt.datetime(2026, 11, 2, 0, 30, tzinfo=TOKYO)
    with in_shop(world.tea.id):
        Order.objects.filter(pk=order.pk).update(updated_at=changed)
    search_index_order(order.id)
    day = changed.date()
    assert found_orders(world.operator_tea, "T5003", date_from=day) == [order.id]
    assert found_orders(world.operator_tea, "T5003", date_to=day) == [order.id]
    assert found_orders(world.operator_tea, "T5003", date_from=day + dt.timedelta(days=1)) == []
    assert found_orders(world.operator_tea, "T5003", date_to=day - dt.timedelta(days=1)) == []
    # Status and channel are ticket fields: with either, only tickets are listed.
    assert found_orders(world.operator_tea, "T5003", status="open") == []


def test_status_change_reindexes_without_duplicates(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    order = order_in(world, world.tea, "T-5004", django_capture_on_commit_callbacks)
    actor = actor_for_user(world.operator_tea)
    with django_capture_on_commit_callbacks(execute=True), in_shop(world.tea.id):
        order_set_status(actor=actor, order=order, status="confirmed")
    with in_shop(world.tea.id):
        documents = list(SearchDocument.objects.filter(kind="order", object_id=order.id))
    assert [document.status for document in documents] == ["confirmed"]
    assert found_orders(world.operator_tea, "T5004") == [order.id]


def test_rebuild_indexes_orders(world: Any) -> None:
    with unscoped("test setup"):
        tea = make_order(world.tea, "R-1", 1000)
        make_order(world.ceramics, "R-2", 1000)
    # Created without running the commit callbacks: not indexed yet.
    assert found_orders(world.operator_tea, "R1") == []
    assert search_rebuild(world.tea.id)["orders"] == 1
    assert found_orders(world.operator_tea, "R1") == [tea.id]
    assert search_rebuild()["orders"] == 2


def test_search_page_lists_orders_with_a_link(
    client: Client, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tea = order_in(world, world.tea, "EC-2024-000888", django_capture_on_commit_callbacks)
    ceramics = order_in(world, world.ceramics, "EC-2024-000888", django_capture_on_commit_callbacks)
    client.force_login(world.operator_tea)
    html = client.get(reverse("search:results"), {"q": "EC2024000888"}).content.decode()
    assert 'data-testid="search-orders"' in html
    assert f'data-testid="hit-order-{tea.id}"' in html
    assert f'data-testid="hit-order-{ceramics.id}"' not in html
    url = reverse("commerce:order", args=[world.tea.slug, "EC-2024-000888"])
    assert f'href="{url}"' in html
    assert client.get(url).status_code == 200


def _customer_with_a_gift_order(
    world: Any, capture: Any, *, name: str, number: str, email: str = ""
) -> tuple[Any, Any]:
    """A customer and an order of theirs shipped to someone else (so only the customer's
    name ties the order to them)."""
    with capture(execute=True), in_shop(world.tea.id):
        identities = [IdentityInput(kind="email", value=email)] if email else []
        customer = customer_create(shop=world.tea, name=name, identities=identities)
        order = make_order(world.tea, number, 3000, name="贈答 先子", customer=customer)
    return customer, order


def _order_document_ids(world: Any, *orders: Any) -> list[int]:
    with in_shop(world.tea.id):
        return [SearchDocument.objects.get(kind="order", object_id=order.id).id for order in orders]


def test_a_renamed_customer_reindexes_their_orders_in_place(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer, order = _customer_with_a_gift_order(
        world, django_capture_on_commit_callbacks, name="山田 花子", number="G-1", email="h@ex.jp"
    )
    _, other = _customer_with_a_gift_order(
        world, django_capture_on_commit_callbacks, name="佐藤 一郎", number="G-2", email="s@ex.jp"
    )
    assert found_orders(world.operator_tea, "山田花子") == [order.id]
    before = _order_document_ids(world, order, other)

    # A customer write: the row changes and the customer is re-indexed after the commit, as
    # every write service of customers does.
    with django_capture_on_commit_callbacks(execute=True), in_shop(world.tea.id):
        Customer.objects.filter(pk=customer.pk).update(name="鈴木 花子")
        search_index_customer_on_commit(customer.pk)

    assert found_orders(world.operator_tea, "鈴木花子") == [order.id]
    assert found_orders(world.operator_tea, "鈴木 花子") == [order.id]
    assert found_orders(world.operator_tea, "山田花子") == []
    assert found_orders(world.operator_tea, "贈答先子") == [other.id, order.id]
    # The order keeps its place in the newest-first order: same document, new content.
    assert _order_document_ids(world, order, other) == before


def test_an_unchanged_customer_reindexed_leaves_their_orders_alone(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer, order = _customer_with_a_gift_order(
        world, django_capture_on_commit_callbacks, name="山田 花子", number="G-3", email="h@ex.jp"
    )
    with in_shop(world.tea.id):
        old = SearchDocument.objects.get(kind="order", object_id=order.id)
        # Every inbound mail re-indexes its sender: unchanged, no order is read or written.
        with django_capture_on_commit_callbacks() as callbacks:
            search_index_customer_on_commit(customer.pk)
        with CaptureQueriesContext(connection) as queries:
            for callback in callbacks:
                callback()
    assert len(callbacks) == 1
    assert queries.captured_queries  # the customer was re-indexed
    assert not [q for q in queries.captured_queries if "commerce_" in q["sql"]]
    with in_shop(world.tea.id):
        current = SearchDocument.objects.get(kind="order", object_id=order.id)
    assert (current.id, current.content) == (old.id, old.content)


def test_merging_customers_reindexes_the_orders_moved(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Without contacts: the target's own document does not change, the orders moved still do.
    source, moved = _customer_with_a_gift_order(
        world, django_capture_on_commit_callbacks, name="山田 花子", number="M-1"
    )
    target, kept = _customer_with_a_gift_order(
        world, django_capture_on_commit_callbacks, name="鈴木 花子", number="M-2", email="s@ex.jp"
    )
    assert found_orders(world.operator_tea, "山田花子") == [moved.id]

    with django_capture_on_commit_callbacks(execute=True), in_shop(world.tea.id):
        customer_merge(actor=actor_for_user(world.operator_tea), source=source, target=target)

    assert found_orders(world.operator_tea, "鈴木花子") == [kept.id, moved.id]
    assert found_orders(world.operator_tea, "山田花子") == []


def test_a_customer_of_another_shop_with_the_same_name_keeps_its_orders(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    customer, order = _customer_with_a_gift_order(
        world, django_capture_on_commit_callbacks, name="山田 花子", number="S-1", email="h@ex.jp"
    )
    with django_capture_on_commit_callbacks(execute=True), in_shop(world.ceramics.id):
        stranger = customer_create(shop=world.ceramics, name="山田 花子")
        theirs = make_order(world.ceramics, "S-1", 3000, name="贈答 先子", customer=stranger)
    with django_capture_on_commit_callbacks(execute=True), in_shop(world.tea.id):
        Customer.objects.filter(pk=customer.pk).update(name="鈴木 花子")
        search_index_customer_on_commit(customer.pk)
    assert found_orders(world.operator_tea, "山田花子") == []
    assert found_orders(world.operator_ceramics, "山田花子") == [theirs.id]
    assert found_orders(world.operator_tea, "鈴木花子") == [order.id]
