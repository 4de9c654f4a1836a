"""The search page audits the customers it shows: one `customers.searched` entry per request,
none when no customer is shown."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.audit import actions
from madoguchi.audit.models import AuditEntry
from madoguchi.core.testing import factories
from madoguchi.search.services import search_index_customer
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db


def _customer(shop: Any, name: str) -> Any:
    with unscoped("test setup"):
        customer = factories.CustomerFactory(shop=shop, name=name)
        search_index_customer(customer.id)
    return customer


def _searched() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=actions.CUSTOMERS_SEARCHED).order_by("id"))


def test_customers_shown_in_two_shops_make_one_entry(client: Client, world: Any) -> None:
    tea = _customer(world.tea, "検索 太郎")
    ceramics = _customer(world.ceramics, "検索 花子")
    client.force_login(world.supervisor)

    response = client.get(reverse("search:results"), {"q": "検索"}, REMOTE_ADDR="192.0.2.8")

    assert response.status_code == 200
    [entry] = _searched()
    assert entry.actor_id == world.supervisor.id
    assert entry.shop_id is None  # several shops: the entry lists them
    assert entry.ip_address == "192.0.2.8"
    customers = entry.changes.pop("customers")
    assert sorted(customers) == sorted([tea.id, ceramics.id])  # in the page's order
    assert entry.changes == {
        "page": "search",
        "query": "検索",
        "shops": sorted([world.tea.id, world.ceramics.id]),
    }


def test_customers_of_one_shop_name_the_shop(client: Client, world: Any) -> None:
    tea = _customer(world.tea, "検索 太郎")
    _customer(world.ceramics, "検索 花子")  # not the operator's shop: not shown, not written
    client.force_login(world.operator_tea)
    client.get(reverse("search:results"), {"q": "検索"})
    [entry] = _searched()
    assert (entry.shop_id, entry.changes["customers"], entry.changes["shops"]) == (
        world.tea.id,
        [tea.id],
        [world.tea.id],
    )


def test_no_customer_shown_no_entry(client: Client, world: Any) -> None:
    _customer(world.tea, "検索 太郎")
    client.force_login(world.operator_tea)
    client.get(reverse("search:results"), {"q": "お茶"})  # the tea ticket, no customer
    client.get(reverse("search:results"))  # no query
    assert _searched() == []
