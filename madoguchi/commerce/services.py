"""Every write of orders, shipments, payments and requests goes through here; links to tickets
and notices live in `ticket_orders`."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.commerce.carriers import (
    Carrier,
    is_valid_tracking_number,
    normalize_tracking_number,
)
from madoguchi.commerce.models import (
    Order,
    OrderLine,
    OrderRequest,
    OrderStatusChange,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Shipment,
)
from madoguchi.commerce.order_numbers import (
    normalize_order_number,
    order_number_digits,
    order_number_key,
)
from madoguchi.commerce.tax import STANDARD_RATE, tax_breakdown
from madoguchi.core.errors import ConflictError, ValidationError
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append
from madoguchi.search.services import search_index_order_on_commit
from madoguchi.tenancy.access import require_staff

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.commerce.models import Deposit
    from madoguchi.conversations.models import Ticket
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.access import Actor
    from madoguchi.tenancy.models import Shop

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LineInput:
    name: str
    unit_price: int
    quantity: int = 1
    tax_rate: int = STANDARD_RATE
    sku: str = ""


@dataclass(frozen=True)
class AddressInput:
    postal_code: str = ""
    prefecture: str = ""
    address1: str = ""
    address2: str = ""
    name: str = ""
    name_kana: str = ""
    phone: str = ""


@dataclass(frozen=True)
class OrderInput:
    """What is needed to record an order, from staff (phone, fax), a CSV row or a webhook."""

    number: str
    placed_at: dt.datetime
    payment_method: str
    lines: Sequence[LineInput]
    source: str = Order.Source.MANUAL
    customer: Customer | None = None
    address: AddressInput = field(default_factory=AddressInput)
    shipping_fee: int = 0
    payment_fee: int = 0
    discount: int = 0
    payment_due_on: dt.date | None = None
    email: str = ""
    billing_name_kana: str = ""
    note: str = ""
    external_id: str = ""
    status: str = Order.Status.PENDING
    payment_status: str = PaymentStatus.UNPAID


def _validate(data: OrderInput) -> str:
    number = normalize_order_number(data.number)
    if not number:
        raise ValidationError(gettext_noop("An order needs a number."), field="number")
    if data.payment_method not in PaymentMethod.values:
        raise ValidationError(
            gettext_noop("Unknown payment method %(value)s."),
            extra={"value": data.payment_method},
            field="payment_method",
        )
    if data.status not in Order.Status.values:
        raise ValidationError(
            gettext_noop("Unknown order status %(value)s."), extra={"value": data.status}
        )
    if data.payment_status not in PaymentStatus.values:
        raise ValidationError(
            gettext_noop("Unknown payment status %(value)s."), extra={"value": data.payment_status}
        )
    for line in data.lines:
        if line.quantity < 1 or line.unit_price < 0:
            raise ValidationError(
                gettext_noop("%(item)s: the quantity must be 1 or more, the price 0 or more."),
                extra={"item": line.name},
                field="lines",
            )
        if line.tax_rate not in (8, 10):
            raise ValidationError(
                gettext_noop("%(item)s: the tax rate must be 8 or 10."),
                extra={"item": line.name},
                field="lines",
            )
    if min(data.shipping_fee, data.payment_fee, data.discount) < 0:
        raise ValidationError(
            gettext_noop("Fees and discounts cannot be negative."),
            field="shipping_fee" if data.shipping_fee < 0 else None,
        )
    return number


def _totals(data: OrderInput) -> dict[str, int]:
    """Compute tax-included totals; shipping and fees are standard-rate, discounts too.

    A discount is taken from the standard-rate total first, then the reduced-rate one.
    """
    amounts = [(line.unit_price * line.quantity, line.tax_rate) for line in data.lines]
    by_rate = {10: 0, 8: 0}
    for amount, rate in amounts:
        by_rate[rate] += amount
    by_rate[10] += data.shipping_fee + data.payment_fee
    discount_10 = min(data.discount, by_rate[10])
    by_rate[10] -= discount_10
    by_rate[8] -= min(data.discount - discount_10, by_rate[8])
    breakdown = tax_breakdown([(by_rate[10], 10), (by_rate[8], 8)])
    return {
        "items_total": sum(amount for amount, _ in amounts),
        "total": breakdown.total,
        "total_10": breakdown.total_10,
        "tax_10": breakdown.tax_10,
        "total_8": breakdown.total_8,
        "tax_8": breakdown.tax_8,
    }


def _fields(data: OrderInput) -> dict[str, object]:
    address = data.address
    return {
        "customer": data.customer,
        "source": data.source,
        "external_id": data.external_id,
        "placed_at": data.placed_at,
        "payment_method": data.payment_method,
        "payment_due_on": data.payment_due_on,
        "email": data.email.strip(),
        "shipping_fee": data.shipping_fee,
        "payment_fee": data.payment_fee,
        "discount": data.discount,
        "shipping_postal_code": address.postal_code.strip(),
        "shipping_prefecture": address.prefecture.strip(),
        "shipping_address1": address.address1.strip(),
        "shipping_address2": address.address2.strip(),
        "shipping_name": address.name.strip(),
        "shipping_name_kana": address.name_kana.strip(),
        "shipping_phone": address.phone.strip(),
        "billing_name_kana": data.billing_name_kana.strip(),
        "note": data.note,
        **_totals(data),
    }


def _write_lines(order: Order, lines: Sequence[LineInput]) -> None:
    OrderLine.objects.filter(order=order).delete()
    OrderLine.objects.bulk_create(
        OrderLine(
            shop_id=order.shop_id,
            order=order,
            position=position,
            sku=line.sku,
            name=line.name[:255],
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
        )
        for position, line in enumerate(lines)
    )


def _history(
    order: Order, field_name: str, old: str, new: str, user: User | None, note: str = ""
) -> None:
    OrderStatusChange.objects.create(
        shop_id=order.shop_id,
        order=order,
        field=field_name,
        old_value=old,
        new_value=new,
        changed_by=user,
        note=note[:255],
        changed_at=timezone.now(),
    )


def _customer_by_contacts(shop: Shop, data: OrderInput) -> Customer | None:
    """Return the shop's customer the order's email or phone belongs to (email first).

    Orders from the phone, a fax, a CSV file or a platform carry contacts but no customer; the
    customer who wrote or called from the same (normalised) address or number is theirs.
    """
    from madoguchi.customers.services import customer_find_by_contacts

    return customer_find_by_contacts(shop=shop, email=data.email, phone=data.address.phone)


@transaction.atomic
def order_create(*, shop: Shop, data: OrderInput, actor_user: User | None = None) -> Order:
    """Record a new order with its lines and totals; the number must be new in the shop.

    Without a customer, the order gets the customer whose email or phone matches, if any.
    """
    number = _validate(data)
    if data.customer is not None and data.customer.shop_id != shop.id:
        raise ValidationError(gettext_noop("The customer belongs to another shop."))
    if Order.objects.filter(shop=shop, number=number).exists():
        raise ConflictError(
            gettext_noop("Order %(number)s already exists."),
            extra={"number": number},
            field="number",
        )
    fields = _fields(data)
    if fields["customer"] is None:
        fields["customer"] = _customer_by_contacts(shop, data)
    order = Order.objects.create(
        shop=shop,
        number=number,
        number_key=order_number_key(number)[:40],
        number_digits=order_number_digits(number)[:40],
        status=data.status,
        payment_status=data.payment_status,
        **fields,
    )
    _write_lines(order, data.lines)
    _history(order, OrderStatusChange.Field.STATUS, "", order.status, actor_user)
    _history(order, OrderStatusChange.Field.PAYMENT_STATUS, "", order.payment_status, actor_user)
    event_append(
        shop=shop,
        type="order.created",
        actor_kind=ActorKind.OPERATOR if actor_user else ActorKind.SYSTEM,
        actor_user=actor_user,
        payload={"order_id": order.id, "number": order.number},
    )
    record(
        actor=actor_user,
        action=actions.ORDER_CREATED,
        target=order,
        shop=shop,
        changes={"number": order.number, "source": order.source, "total": order.total},
    )
    search_index_order_on_commit(order.id)
    return order


@transaction.atomic
def order_upsert(*, shop: Shop, data: OrderInput) -> tuple[Order, bool]:
    """Create the order, or refresh an existing one from a platform (import, webhook).

    Payments recorded in Madoguchi are kept: the platform's payment status only moves an
    order forward (unpaid -> paid), never back.
    """
    number = _validate(data)
    order = Order.objects.select_for_update().filter(shop=shop, number=number).first()
    if order is None:
        return order_create(shop=shop, data=data), True
    for name, value in _fields(data).items():
        if name == "customer" and value is None:
            value = order.customer or _customer_by_contacts(shop, data)
        setattr(order, name, value)
    if data.status != order.status:
        _history(order, OrderStatusChange.Field.STATUS, order.status, data.status, None)
        order.status = data.status
    if data.payment_status == PaymentStatus.PAID and order.payment_status != PaymentStatus.PAID:
        _history(order, OrderStatusChange.Field.PAYMENT_STATUS, order.payment_status, "paid", None)
        order.payment_status = PaymentStatus.PAID
        order.paid_at = order.paid_at or timezone.now()
    order.save()
    _write_lines(order, data.lines)
    record(
        actor=None,
        action=actions.ORDER_UPDATED,
        target=order,
        shop=shop,
        changes={"source": data.source, "total": order.total},
    )
    search_index_order_on_commit(order.id)
    return order, False


@transaction.atomic
def order_set_status(*, actor: Actor, order: Order, status: str, note: str = "") -> Order:
    """Move an order to `status` and keep the history."""
    require_staff(actor=actor, shop_id=order.shop_id)
    if status not in Order.Status.values:
        raise ValidationError(
            gettext_noop("Unknown order status %(value)s."), extra={"value": status}, field="status"
        )
    order = Order.objects.select_for_update().get(pk=order.pk)
    old = order.status
    if old == status:
        return order
    order.status = status
    order.save(update_fields=["status", "updated_at"])
    _history(order, OrderStatusChange.Field.STATUS, old, status, actor.user, note)
    event_append(
        shop=order.shop,
        type="order.status_changed",
        actor_kind=ActorKind.OPERATOR,
        actor_user=actor.user,
        payload={"order_id": order.id, "old": old, "new": status},
    )
    record(
        actor=actor.user,
        action=actions.ORDER_UPDATED,
        target=order,
        changes={"status": [old, status]},
    )
    search_index_order_on_commit(order.id)
    return order


@transaction.atomic
def shipment_add(
    *,
    order: Order,
    carrier: str,
    tracking_number: str,
    actor_user: User | None = None,
    shipped_at: dt.datetime | None = None,
    external_id: str = "",
    status: str = Shipment.Status.SHIPPED,
) -> Shipment:
    """Record a parcel: the number normalised and checked, the original kept as entered."""
    if carrier not in Carrier.values:
        raise ValidationError(
            gettext_noop("Unknown carrier %(value)s."), extra={"value": carrier}, field="carrier"
        )
    normalized = normalize_tracking_number(tracking_number)
    checked = is_valid_tracking_number(carrier, normalized) if normalized else None
    if checked is False and actor_user is not None:
        raise ValidationError(
            gettext_noop("%(number)s is not a valid tracking number for %(carrier)s."),
            extra={"number": tracking_number, "carrier": Carrier(carrier).label},
            field="tracking_number",
        )
    if external_id:
        existing = Shipment.objects.filter(order=order, external_id=external_id).first()
        if existing is not None:
            existing.carrier = carrier
            existing.tracking_number = normalized
            existing.tracking_number_original = tracking_number[:80]
            existing.is_tracking_number_checked = checked
            existing.status = status
            existing.save()
            search_index_order_on_commit(order.id)
            return existing
    shipment = Shipment.objects.create(
        shop_id=order.shop_id,
        order=order,
        carrier=carrier,
        tracking_number=normalized,
        tracking_number_original=tracking_number[:80],
        is_tracking_number_checked=checked,
        status=status,
        external_id=external_id,
        shipped_at=shipped_at or timezone.now(),
    )
    if order.status in (Order.Status.PENDING, Order.Status.CONFIRMED):
        _history(order, OrderStatusChange.Field.STATUS, order.status, "shipped", actor_user)
        order.status = Order.Status.SHIPPED
        order.save(update_fields=["status", "updated_at"])
    event_append(
        shop=order.shop,
        type="shipment.created",
        actor_kind=ActorKind.OPERATOR if actor_user else ActorKind.SYSTEM,
        actor_user=actor_user,
        payload={"order_id": order.id, "carrier": carrier},
    )
    record(
        actor=actor_user,
        action=actions.SHIPMENT_CREATED,
        target=shipment,
        shop=order.shop,
        changes={"order": order.number, "carrier": carrier, "tracking_number": normalized},
    )
    search_index_order_on_commit(order.id)
    return shipment


def payment_record(
    *,
    order: Order,
    amount: int,
    paid_on: dt.date,
    fee_absorbed: int = 0,
    deposit: Deposit | None = None,
    actor_user: User | None = None,
    is_automatic: bool = False,
) -> Payment:
    """Apply money to an order (inside the caller's transaction); mark it paid when covered."""
    if amount < 0 or fee_absorbed < 0:
        raise ValidationError(gettext_noop("A payment cannot be negative."))
    order = Order.objects.select_for_update().get(pk=order.pk)
    payment = Payment.objects.create(
        shop_id=order.shop_id,
        order=order,
        deposit=deposit,
        method=order.payment_method,
        amount=amount,
        fee_absorbed=fee_absorbed,
        paid_on=paid_on,
        is_automatic=is_automatic,
        recorded_by=actor_user,
    )
    old = order.payment_status
    order.amount_paid += amount + fee_absorbed
    new = PaymentStatus.PAID if order.amount_paid >= order.total else PaymentStatus.PARTIALLY_PAID
    order.payment_status = new
    if new == PaymentStatus.PAID and order.paid_at is None:
        order.paid_at = timezone.now()
    order.save(update_fields=["amount_paid", "payment_status", "paid_at", "updated_at"])
    if old != new:
        note = "automatic reconciliation" if is_automatic else ""
        _history(order, OrderStatusChange.Field.PAYMENT_STATUS, old, new, actor_user, note)
    if new == PaymentStatus.PAID and old != new:
        event_append(
            shop=order.shop,
            type="order.paid",
            actor_kind=ActorKind.OPERATOR if actor_user else ActorKind.SYSTEM,
            actor_user=actor_user,
            payload={"order_id": order.id, "deposit_id": deposit.id if deposit else None},
        )
    record(
        actor=actor_user,
        action=actions.ORDER_PAYMENT_RECORDED,
        target=order,
        shop=order.shop,
        actor_label="" if actor_user else "reconciler",
        changes={
            "amount": amount,
            "fee_absorbed": fee_absorbed,
            "deposit": deposit.id if deposit else None,
            "payment_status": [old, new],
            "automatic": is_automatic,
        },
    )
    return payment


_REQUEST_ACTIONS = {
    OrderRequest.Kind.ADDRESS_CHANGE: actions.ORDER_ADDRESS_CHANGE_REQUESTED,
    OrderRequest.Kind.CANCELLATION: actions.ORDER_CANCELLATION_REQUESTED,
    OrderRequest.Kind.RETURN: actions.ORDER_REQUEST_CREATED,
    OrderRequest.Kind.EXCHANGE: actions.ORDER_REQUEST_CREATED,
}


@transaction.atomic
def order_request_create(
    *,
    actor: Actor,
    order: Order,
    kind: str,
    reason: str = "",
    details: dict[str, str] | None = None,
    ticket: Ticket | None = None,
) -> OrderRequest:
    """Record a return, exchange, address change or cancellation asked for on a ticket."""
    require_staff(actor=actor, shop_id=order.shop_id)
    if kind not in OrderRequest.Kind.values:
        raise ValidationError(
            gettext_noop("Unknown request kind %(value)s."), extra={"value": kind}, field="kind"
        )
    if ticket is not None and ticket.shop_id != order.shop_id:
        raise ValidationError(gettext_noop("The ticket belongs to another shop."))
    if kind == OrderRequest.Kind.ADDRESS_CHANGE and not (details or {}).get("address1"):
        raise ValidationError(
            gettext_noop("An address change needs the new address."), field="address1"
        )
    request = OrderRequest.objects.create(
        shop_id=order.shop_id,
        order=order,
        ticket=ticket,
        kind=kind,
        reason=reason.strip(),
        details=details or {},
        requested_by=actor.user,
    )
    record(
        actor=actor.user,
        action=_REQUEST_ACTIONS[OrderRequest.Kind(kind)],
        target=request,
        shop=order.shop,
        changes={
            "order": order.number,
            "kind": kind,
            "ticket": ticket.number if ticket else None,
            "details": details or {},
        },
    )
    return request


@transaction.atomic
def order_request_resolve(
    *, actor: Actor, order_request: OrderRequest, status: str
) -> OrderRequest:
    """Approve, reject or complete a request; a completed address change updates the order."""
    require_staff(actor=actor, shop_id=order_request.shop_id)
    if status not in OrderRequest.Status.values or status == OrderRequest.Status.REQUESTED:
        raise ValidationError(
            gettext_noop("A request cannot move to %(value)s."), extra={"value": status}
        )
    old = order_request.status
    order_request.status = status
    order_request.resolved_at = timezone.now()
    order_request.save(update_fields=["status", "resolved_at"])
    order = order_request.order
    if status == OrderRequest.Status.COMPLETED:
        if order_request.kind == OrderRequest.Kind.ADDRESS_CHANGE:
            details = order_request.details
            order.shipping_postal_code = details.get("postal_code", order.shipping_postal_code)
            order.shipping_prefecture = details.get("prefecture", order.shipping_prefecture)
            order.shipping_address1 = details.get("address1", order.shipping_address1)
            order.shipping_address2 = details.get("address2", order.shipping_address2)
            order.save()
        elif order_request.kind == OrderRequest.Kind.CANCELLATION:
            _history(order, OrderStatusChange.Field.STATUS, order.status, "cancelled", actor.user)
            order.status = Order.Status.CANCELLED
            order.save(update_fields=["status", "updated_at"])
        elif order_request.kind == OrderRequest.Kind.RETURN:
            _history(order, OrderStatusChange.Field.STATUS, order.status, "returned", actor.user)
            order.status = Order.Status.RETURNED
            order.save(update_fields=["status", "updated_at"])
    record(
        actor=actor.user,
        action=actions.ORDER_REQUEST_UPDATED,
        target=order_request,
        changes={"status": [old, status], "order": order.number},
    )
    if status == OrderRequest.Status.COMPLETED:
        search_index_order_on_commit(order.id)
    return order_request
