"""Orders as search documents: commerce hands search what to index, search never reads orders.

Registered with `search.services.register_source` in `CommerceConfig.ready`; the write services
call `search_index_order_on_commit` after every change of what is indexed (number, shipments,
names, status); a change of the order's customer reaches its orders through the customer's
re-indexing (`objects_of_customers`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db.models import Max, Prefetch

from madoguchi.commerce.models import Order, Shipment
from madoguchi.search.models import SearchDocument
from madoguchi.search.services import DocumentSource, IndexEntry

_PREFIX = re.compile(r"^[^0-9]*")


def order_number_forms(number: str) -> list[str]:
    """Return the ways an order number is typed: as stored, without hyphens, digits only.

    "EC-2024-000123" is also found as "EC2024000123" and "2024000123"; the "#" of "#1001" is
    dropped when the number is stored (`normalize_order_number`).
    """
    forms = [number]
    compact = number.replace("-", "").replace(" ", "")
    forms.append(compact)
    forms.append(_PREFIX.sub("", compact))
    return list(dict.fromkeys(form for form in forms if form))


def _shop_of(order_id: int) -> int | None:
    shop_id: int | None = (
        Order.objects.filter(pk=order_id).values_list("shop_id", flat=True).first()
    )
    return shop_id


def _entries(order_ids: Sequence[int]) -> list[IndexEntry]:
    orders = (
        Order.objects.filter(pk__in=order_ids)
        .select_related("customer")
        .prefetch_related(
            Prefetch("shipments", queryset=Shipment.objects.order_by("created_at", "id"))
        )
        .annotate(last_shipped=Max("shipments__created_at"))
    )
    entries = []
    for order in orders:
        texts = order_number_forms(order.number)
        for shipment in order.shipments.all():
            texts.extend([shipment.tracking_number, shipment.tracking_number_original])
        names = [order.shipping_name, order.shipping_name_kana, order.billing_name_kana]
        if order.customer is not None:
            names.extend([order.customer.name, order.customer.name_kana])
        for name in dict.fromkeys(name for name in names if name):
            # Names are typed with and without the space between family and given name.
            texts.extend([name, name.replace(" ", "").replace("\u3000", "")])
        activity = max(filter(None, [order.updated_at, order.last_shipped]))
        entries.append(
            IndexEntry(
                shop_id=order.shop_id,
                object_id=order.id,
                title=order.number,
                texts=texts,
                activity_at=activity,
                status=order.status,
            )
        )
    entries.sort(key=lambda entry: (entry.activity_at, entry.object_id))
    return entries


def _object_ids(shop_id: int | None) -> list[int]:
    orders = Order.objects.order_by("updated_at", "id")
    if shop_id is not None:
        orders = orders.filter(shop_id=shop_id)
    return list(orders.values_list("id", flat=True))


def _orders_of_customers(customer_ids: Sequence[int]) -> list[int]:
    # An order's entry holds its customer's name and reading: search refreshes these orders
    # when one of those customers' documents changes (renamed, merged).
    return list(Order.objects.filter(customer_id__in=customer_ids).values_list("id", flat=True))


ORDER_SOURCE = DocumentSource(
    kind=SearchDocument.Kind.ORDER,
    shop_of=_shop_of,
    entries=_entries,
    object_ids=_object_ids,
    objects_of_customers=_orders_of_customers,
)
