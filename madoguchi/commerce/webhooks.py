"""Receive EC-platform webhooks: verify the signature on the raw body, store, then process.

Shopify signs with base64 HMAC-SHA256 (`X-Shopify-Hmac-Sha256`) and names each delivery
(`X-Shopify-Webhook-Id`, used to store a retried delivery once). EC-CUBE 4 signs with a
lowercase hex HMAC-SHA256 (`X-ECCUBE-Signature`) and sends only entity ids. The body is stored
as a durable row before anything else; a task turns it into orders and shipments.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.commerce.carriers import carrier_from_name
from madoguchi.commerce.imports.orders_csv import payment_method_from_text
from madoguchi.commerce.models import CommerceConnection, Order, PaymentStatus, WebhookDelivery
from madoguchi.commerce.services import (
    AddressInput,
    LineInput,
    OrderInput,
    order_upsert,
    shipment_add,
)
from madoguchi.core.errors import ValidationError

SHOPIFY_HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-API-Version",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Triggered-At",
    "X-Shopify-Event-Id",
)
ECCUBE_HEADERS = ("X-ECCUBE-URL",)


def verify_shopify(raw_body: bytes, header: str, secret: str) -> bool:
    """Whether `header` is the base64 HMAC-SHA256 of the raw body under `secret`."""
    mac = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(mac), (header or "").strip().encode())


def verify_eccube(raw_body: bytes, header: str, secret: str) -> bool:
    """Whether `header` is the lowercase hex HMAC-SHA256 of the raw body under `secret`."""
    mac = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, (header or "").strip().lower())


def verify(connection: CommerceConnection, raw_body: bytes, headers: Mapping[str, str]) -> bool:
    """Check the delivery's signature with the connection's secret."""
    if connection.platform == CommerceConnection.Platform.SHOPIFY:
        return verify_shopify(
            raw_body, headers.get("X-Shopify-Hmac-Sha256", ""), connection.webhook_secret
        )
    return verify_eccube(raw_body, headers.get("X-ECCUBE-Signature", ""), connection.webhook_secret)


def delivery_store(
    *, connection: CommerceConnection, raw_body: bytes, headers: Mapping[str, str]
) -> tuple[WebhookDelivery, bool]:
    """Store a verified delivery; return (delivery, created). A repeated id is stored once."""
    names = SHOPIFY_HEADERS if connection.platform == "shopify" else ECCUBE_HEADERS
    kept = {name: headers[name] for name in names if name in headers}
    delivery_id = headers.get("X-Shopify-Webhook-Id", "")[:100]
    topic = headers.get("X-Shopify-Topic", "")[:64] or "eccube"
    if delivery_id:
        existing = WebhookDelivery.objects.filter(
            connection=connection, delivery_id=delivery_id
        ).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                shop_id=connection.shop_id,
                connection=connection,
                topic=topic,
                delivery_id=delivery_id,
                headers=kept,
                raw_body=raw_body,
                received_at=timezone.now(),
            )
    except IntegrityError:
        existing = WebhookDelivery.objects.get(connection=connection, delivery_id=delivery_id)
        return existing, False
    return delivery, True


def _yen(value: Any) -> int:
    if value in (None, ""):
        return 0
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def shopify_order_input(payload: dict[str, Any]) -> OrderInput:
    """Map a Shopify order object (REST shape, as webhooks send it) to an order."""
    address = payload.get("shipping_address") or {}
    placed_at = dt.datetime.fromisoformat(str(payload["created_at"]))
    lines = [
        LineInput(
            name=str(item.get("name") or item.get("title") or "")[:255],
            unit_price=_yen(item.get("price")),
            quantity=int(item.get("quantity") or 1),
            sku=str(item.get("sku") or "")[:64],
        )
        for item in payload.get("line_items") or []
    ]
    gateways = " ".join(payload.get("payment_gateway_names") or [str(payload.get("gateway", ""))])
    financial = str(payload.get("financial_status") or "")
    number = str(payload.get("order_number") or payload.get("name") or "")
    province = str(address.get("province") or "")
    city = str(address.get("city") or "")
    customer = payload.get("customer") or {}
    return OrderInput(
        number=number,
        placed_at=placed_at,
        payment_method=payment_method_from_text(gateways),
        lines=lines,
        source=Order.Source.SHOPIFY,
        address=AddressInput(
            postal_code=str(address.get("zip") or ""),
            prefecture=province[:10],
            address1=f"{city}{address.get('address1') or ''}",
            address2=str(address.get("address2") or ""),
            name=str(address.get("name") or ""),
            phone=str(address.get("phone") or ""),
        ),
        shipping_fee=sum(_yen(line.get("price")) for line in payload.get("shipping_lines") or []),
        discount=_yen(payload.get("total_discounts")),
        email=str(payload.get("email") or customer.get("email") or ""),
        note=str(payload.get("note") or ""),
        external_id=str(payload.get("id") or ""),
        status=Order.Status.CANCELLED if payload.get("cancelled_at") else Order.Status.PENDING,
        payment_status=PaymentStatus.PAID if financial == "paid" else PaymentStatus.UNPAID,
    )


def _shopify_fulfillment(delivery: WebhookDelivery, payload: dict[str, Any]) -> str:
    order = Order.objects.filter(
        shop_id=delivery.shop_id, external_id=str(payload.get("order_id"))
    ).first()
    if order is None:
        raise ValidationError(f"No order with Shopify id {payload.get('order_id')}.")
    numbers = payload.get("tracking_numbers") or [payload.get("tracking_number") or ""]
    carrier = carrier_from_name(str(payload.get("tracking_company") or ""))
    for index, number in enumerate(numbers):
        shipment_add(
            order=order,
            carrier=carrier,
            tracking_number=str(number or ""),
            external_id=f"{payload.get('id')}:{index}",
        )
    return f"{len(numbers)} shipment(s) for order {order.number}"


def process_delivery(delivery: WebhookDelivery) -> str:
    """Turn a stored delivery into orders / shipments; return a short description."""
    from madoguchi.tenancy.models import Shop

    payload = json.loads(bytes(delivery.raw_body).decode("utf-8"))
    if delivery.connection.platform == CommerceConnection.Platform.ECCUBE:
        # EC-CUBE sends ids only; fetching the entities needs the shop's API credentials.
        entities = ", ".join(f"{item.get('entity')}:{item.get('id')}" for item in payload)
        return f"ids recorded ({entities})"
    topic = delivery.topic
    if topic.startswith("orders/"):
        body = payload.get("order", payload)
        shop = Shop.objects.get(pk=delivery.shop_id)
        order, created = order_upsert(shop=shop, data=shopify_order_input(body))
        return f"order {order.number} {'created' if created else 'updated'}"
    if topic.startswith("fulfillments/"):
        return _shopify_fulfillment(delivery, payload.get("fulfillment", payload))
    return "ignored"
