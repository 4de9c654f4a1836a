"""An order's history names states in the UI language, never as stored values."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from madoguchi.commerce.services import order_set_status
from madoguchi.commerce.tests.helpers import make_order
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop


def _shipped_order(world: Any) -> Any:
    with in_shop(world.tea.id):
        order = make_order(world.tea, "YE-20260101", 3142)
        order_set_status(actor=actor_for_user(world.operator_tea), order=order, status="shipped")
    return order


def test_history_shows_state_labels(client: Client, world: Any) -> None:
    order = _shipped_order(world)
    client.force_login(world.operator_tea)
    html = client.get(reverse("commerce:order", args=[world.tea.slug, order.number])).text
    history = html.split("<ol>", 1)[1].split("</ol>", 1)[0]
    assert "ステータス: — → 未確定" in history
    assert "入金状況: — → 未入金" in history
    assert "ステータス: 未確定 → 発送済み" in history
    for stored in ("pending", "unpaid", "shipped"):
        assert stored not in history


def test_another_shops_order_is_not_found(client: Client, world: Any) -> None:
    order = _shipped_order(world)
    client.force_login(world.operator_ceramics)
    response = client.get(reverse("commerce:order", args=[world.tea.slug, order.number]))
    assert response.status_code == 404
