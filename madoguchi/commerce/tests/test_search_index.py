"""Orders in search: indexed by the commerce services after commit, found by number (with or
without hyphens), tracking number and customer name, only in the actor's shops."""

import datetime as dt
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from madoguchi.commerce.search_index import order_number_forms
from madoguchi.commerce.services import order_set_status, shipment_add
from madoguchi.commerce.tests.helpers import make_order
from madoguchi.search.models import SearchDocument
from madoguchi.search.selectors import SearchFilters, search
from madoguchi.search.services import search_rebuild
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
    today = timezone.localdate()
    assert found_orders(world.operator_tea, "T5003", date_from=today) == [order.id]
    assert found_orders(world.operator_tea, "T5003", date_to=today - dt.timedelta(days=2)) == []
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
