"""The customer's orders on the customer page (a `customers.panels.CustomerPanel`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch

from madoguchi.commerce.models import Order, Shipment
from madoguchi.customers.panels import CustomerPanel

if TYPE_CHECKING:
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.access import Actor

ORDERS_SHOWN = 10


def customer_orders(*, customer: Customer, limit: int = ORDERS_SHOWN) -> list[Order]:
    """Return the customer's newest orders with their shipments (in the request's scope)."""
    shipments = Prefetch(
        "shipments", queryset=Shipment.objects.filter(shop_id=customer.shop_id).order_by("-id")
    )
    return list(
        Order.objects.filter(shop_id=customer.shop_id, customer_id=customer.id)
        .prefetch_related(shipments)
        .order_by("-placed_at", "-id")[:limit]
    )


def _context(actor: Actor, customer: Customer) -> Mapping[str, Any] | None:
    # Orders are staff pages: a client sees the customer but not this panel.
    if not actor.is_staff_for(customer.shop_id):
        return None
    return {"orders": customer_orders(customer=customer), "shop": customer.shop}


CUSTOMER_ORDERS_PANEL = CustomerPanel(
    key="commerce.orders",
    template="commerce/_ticket_orders.html",
    context=_context,
    order=10,
)
