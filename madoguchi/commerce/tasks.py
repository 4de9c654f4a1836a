"""Background work of the commerce app; every task takes ids and re-enters the shop scope."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from madoguchi.core.errors import ApplicationError
from madoguchi.core.tasks import task
from madoguchi.tenancy.scoping import in_shop

MAX_WEBHOOK_ATTEMPTS = 5


@task()
def process_webhook_delivery(shop_id: int, delivery_id: int) -> str:
    """Process one stored webhook delivery; idempotent (a processed delivery is left alone)."""
    from madoguchi.commerce.models import WebhookDelivery
    from madoguchi.commerce.webhooks import process_delivery

    with in_shop(shop_id):
        delivery = WebhookDelivery.objects.select_related("connection").get(pk=delivery_id)
        if delivery.status in (WebhookDelivery.Status.PROCESSED, WebhookDelivery.Status.IGNORED):
            return delivery.status
        delivery.attempts += 1
        try:
            with transaction.atomic():
                outcome = process_delivery(delivery)
        except (ApplicationError, ValueError, KeyError, TypeError) as error:
            delivery.error = str(error)[:2000]
            if delivery.attempts >= MAX_WEBHOOK_ATTEMPTS:
                delivery.status = WebhookDelivery.Status.FAILED
            delivery.save(update_fields=["attempts", "error", "status"])
            return "failed"
        delivery.status = (
            WebhookDelivery.Status.IGNORED
            if outcome == "ignored"
            else WebhookDelivery.Status.PROCESSED
        )
        delivery.error = ""
        delivery.processed_at = timezone.now()
        delivery.save(update_fields=["attempts", "error", "status", "processed_at"])
        return outcome


@task()
def run_order_import(shop_id: int, order_import_id: int) -> int:
    """Import a CSV of orders; return the number of rows with errors."""
    from madoguchi.commerce.imports.orders_csv import run_import
    from madoguchi.commerce.models import OrderImport

    with in_shop(shop_id):
        order_import = OrderImport.objects.get(pk=order_import_id)
        if order_import.status == OrderImport.Status.FINISHED:
            return order_import.error_count
        return run_import(order_import).error_count


@task()
def reconcile_deposits(shop_id: int) -> dict[str, int]:
    """Match the shop's pending deposits to unpaid bank-transfer orders."""
    from madoguchi.commerce.deposits import deposits_reconcile
    from madoguchi.tenancy.models import Shop

    with in_shop(shop_id):
        result = deposits_reconcile(shop=Shop.objects.get(pk=shop_id))
    return {"applied": result.applied, "review": result.review, "unmatched": result.unmatched}
