"""Reads of billing shaped for its pages: who may open which contract or invoice, the agency's
overview, and a shop's usage so far with its invoices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from madoguchi.billing.menu import agency_lead_workspace_ids, sees_shop_billing
from madoguchi.billing.metering import Usage
from madoguchi.billing.models import (
    Contract,
    ContractTerms,
    Invoice,
    InvoiceQuerySet,
    Plan,
    UsageAlert,
)
from madoguchi.billing.services import month_usage, terms_for_month
from madoguchi.core.errors import NotFoundError
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import unscoped


def access_contract(*, actor: Actor, contract_id: int) -> Contract:
    """Return the contract if the actor leads its agency; otherwise NotFoundError."""
    contract = (
        Contract.objects.filter(pk=contract_id, workspace_id__in=agency_lead_workspace_ids(actor))
        .select_related("shop", "engagement")
        .first()
    )
    if contract is None:
        raise NotFoundError("Contract not found")
    return contract


def access_invoice(*, actor: Actor, invoice_id: int) -> Invoice:
    """Return the invoice if the actor leads its agency; otherwise NotFoundError."""
    invoice = (
        Invoice.objects.filter(pk=invoice_id, workspace_id__in=agency_lead_workspace_ids(actor))
        .select_related("shop", "contract", "corrects")
        .first()
    )
    if invoice is None:
        raise NotFoundError("Invoice not found")
    return invoice


def access_shop_invoice(*, actor: Actor, shop: Shop, invoice_id: int) -> Invoice:
    """Return an issued invoice of the shop for its client or the agency's leads."""
    if not sees_shop_billing(actor, shop.id):
        raise NotFoundError("Invoice not found")
    invoice = (
        Invoice.for_shop.issued().filter(pk=invoice_id, shop=shop).select_related("shop").first()
    )
    if invoice is None:
        raise NotFoundError("Invoice not found")
    return invoice


def agency_contracts(workspace_ids: list[int]) -> QuerySet[Contract]:
    return (
        Contract.objects.filter(workspace_id__in=workspace_ids)
        .select_related("shop")
        .prefetch_related("terms")
    )


def agency_invoices(workspace_ids: list[int]) -> InvoiceQuerySet:
    return Invoice.objects.filter(workspace_id__in=workspace_ids).select_related("shop", "corrects")


def contract_terms_history(contract: Contract) -> list[ContractTerms]:
    return list(
        ContractTerms.objects.filter(contract=contract)
        .prefetch_related("options")
        .order_by("-effective_from")
    )


@dataclass(frozen=True)
class ShopUsage:
    """A contract's usage so far this month, with its cap (fixed plans)."""

    contract: Contract
    terms: ContractTerms
    usage: Usage
    cap: int | None

    @property
    def percent(self) -> int | None:
        if not self.cap:
            return None
        return self.usage.total * 100 // self.cap


def shop_usage(*, shop: Shop, now: dt.datetime | None = None) -> list[ShopUsage]:
    """Usage so far this month of each contract covering the shop today."""
    now = now or timezone.now()
    today = timezone.localdate(now, timezone=_zone(shop))
    # The contract and its terms are the agency's rows; the shop's own people read them here,
    # for this one shop only (the views check `sees_shop_billing` first).
    with unscoped("a shop's client reads the contract the agency keeps for that shop"):
        contracts = list(
            Contract.objects.filter(shop=shop, starts_on__lte=today)
            .exclude(ends_on__lt=today)
            .select_related("shop")
        )
        result = []
        for contract in contracts:
            terms = terms_for_month(contract, today)
            if terms is None:
                continue
            usage = month_usage(contract=contract, terms=terms, month=today, until=now)
            cap = terms.included_contacts if terms.plan == Plan.FIXED else None
            result.append(ShopUsage(contract=contract, terms=terms, usage=usage, cap=cap))
    return result


def shop_invoices(*, shop: Shop) -> InvoiceQuerySet:
    return Invoice.for_shop.issued().filter(shop=shop)


def shop_alerts(*, shop: Shop) -> QuerySet[UsageAlert]:
    return UsageAlert.for_shop.filter(shop=shop)[:12]


def _zone(shop: Shop) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(shop.time_zone)
