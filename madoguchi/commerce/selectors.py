"""Reads shaped for the commerce pages and the panel beside a ticket."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from madoguchi.commerce.models import (
    Deposit,
    DepositCandidate,
    Order,
    PaymentMethod,
    PaymentStatus,
    Shipment,
    TicketOrderLink,
)
from madoguchi.core.errors import NotFoundError
from madoguchi.tenancy.access import require_staff

if TYPE_CHECKING:
    from madoguchi.conversations.models import Ticket
    from madoguchi.tenancy.access import Actor
    from madoguchi.tenancy.models import Shop

PANEL_LIMIT = 5


def order_list(
    *, shop: Shop, query: str = "", payment_status: str = "", limit: int = 100
) -> QuerySet[Order]:
    """Return the shop's orders, newest first, filtered by number/name and payment status."""
    orders = (
        Order.objects.filter(shop=shop)
        .select_related("customer")
        .defer(*Order.ENCRYPTED_FIELDS)  # the list shows none of them: none is decrypted
    )
    if query:
        orders = orders.filter(
            Q(number__icontains=query.lstrip("#"))
            | Q(shipping_name__icontains=query)
            | Q(customer__name__icontains=query)
        )
    if payment_status:
        orders = orders.filter(payment_status=payment_status)
    return orders.order_by("-placed_at", "-id")[:limit]


def access_order(*, actor: Actor, shop: Shop, number: str) -> Order:
    """Return the order `number` of `shop` for staff of the shop; otherwise 404."""
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Order not found")
    order = (
        Order.objects.filter(shop=shop, number=number)
        .select_related("customer", "shop")
        .prefetch_related("lines", "shipments", "status_changes", "payments", "requests")
        .first()
    )
    if order is None:
        raise NotFoundError("Order not found")
    return order


def access_deposit(*, actor: Actor, shop: Shop, deposit_id: int) -> Deposit:
    """Return a deposit of `shop` for staff of the shop; otherwise 404."""
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Deposit not found")
    deposit = Deposit.objects.filter(shop=shop, pk=deposit_id).first()
    if deposit is None:
        raise NotFoundError("Deposit not found")
    return deposit


@dataclass(frozen=True)
class ReviewItem:
    deposit: Deposit
    candidates: list[DepositCandidate]


def review_queue(*, shop: Shop) -> list[ReviewItem]:
    """Return deposits waiting for a person, oldest first, with their ranked candidates."""
    deposits = (
        Deposit.objects.filter(
            shop=shop, match_state__in=[Deposit.MatchState.REVIEW, Deposit.MatchState.UNMATCHED]
        )
        .prefetch_related(
            Prefetch(
                "candidates",
                queryset=DepositCandidate.objects.filter(shop=shop)
                .order_by("rank")
                .prefetch_related(
                    Prefetch("orders", queryset=Order.objects.filter(shop=shop).order_by("id"))
                ),
            )
        )
        .order_by("received_on", "id")
    )
    return [ReviewItem(deposit=d, candidates=list(d.candidates.all())) for d in deposits]


def reminder_list(*, shop: Shop, on: dt.date | None = None) -> QuerySet[Order]:
    """Return unpaid bank-transfer orders whose due date has passed, most overdue first."""
    today = on or timezone.localdate()
    return (
        Order.objects.filter(
            shop=shop,
            payment_method=PaymentMethod.BANK_TRANSFER,
            payment_status__in=[PaymentStatus.UNPAID, PaymentStatus.PARTIALLY_PAID],
            payment_due_on__lt=today,
        )
        .exclude(status=Order.Status.CANCELLED)
        .select_related("customer")
        .order_by("payment_due_on", "id")
    )


def orders_for_ticket(
    ticket: Ticket, *, limit: int = PANEL_LIMIT, confirmed_only: bool = False
) -> list[Order]:
    """Return the orders to show beside a ticket: linked ones first, then the customer's.

    Each order carries `is_confirmed_for_ticket`: it is the ticket customer's own order, or
    staff confirmed the link. An order the sender merely mentioned is not: staff see it, but
    its details are not for the sender; `confirmed_only` leaves it out (what a reply may
    quote). Call inside the ticket's shop scope (a request is); shipments are prefetched so
    the panel can show tracking links.
    """
    shipments = Prefetch(
        "shipments", queryset=Shipment.objects.filter(shop_id=ticket.shop_id).order_by("-id")
    )
    links = list(
        TicketOrderLink.objects.filter(ticket=ticket)
        .order_by("-created_at", "-id")
        .values_list("order_id", "source")
    )
    linked_ids = [order_id for order_id, _ in links]
    confirmed_ids = {
        order_id for order_id, source in links if source == TicketOrderLink.Source.MANUAL
    }
    linked = list(
        Order.objects.filter(shop_id=ticket.shop_id, id__in=linked_ids)
        .select_related("customer")
        .prefetch_related(shipments)
    )
    linked.sort(key=lambda order: linked_ids.index(order.id))
    for order in linked:
        order.is_confirmed_for_ticket = order.id in confirmed_ids or (  # type: ignore[attr-defined]
            order.customer_id is not None and order.customer_id == ticket.customer_id
        )
    if confirmed_only:
        linked = [order for order in linked if order.is_confirmed_for_ticket]  # type: ignore[attr-defined]
    others = list(
        Order.objects.filter(shop_id=ticket.shop_id, customer_id=ticket.customer_id)
        .exclude(id__in=linked_ids)
        .prefetch_related(shipments)
        .order_by("-placed_at", "-id")[: max(limit - len(linked), 0)]
    )
    for order in others:
        order.is_confirmed_for_ticket = True  # type: ignore[attr-defined]
    return (linked + others)[:limit] if confirmed_only else linked + others


def require_commerce_staff(*, actor: Actor, shop: Shop) -> None:
    """Raise unless the actor works this shop (orders and deposits are staff pages)."""
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Not found")
    require_staff(actor=actor, shop_id=shop.id)
