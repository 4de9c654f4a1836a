"""Retention policies: the settings a shop's leads edit, and the daily run that applies them.

A run works in bounded batches, each in its own transaction, so it never holds one giant
transaction and a failure loses only its batch (which the next run retries). Each run writes a
`RetentionRun` row with its counts and errors.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.commerce.models import WebhookDelivery
from madoguchi.connectors.line.models import LineWebhook
from madoguchi.connectors.mail.models import RawMail
from madoguchi.connectors.webform.models import Submission
from madoguchi.conversations.models import Ticket
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.privacy.models import RetentionPolicy, RetentionRun
from madoguchi.privacy.tickets import ERASED_SUBJECT, files_delete, tickets_empty

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor
    from madoguchi.tenancy.models import Shop

logger = logging.getLogger(__name__)

TICKET_BATCH = 100
RAW_BATCH = 500
# Raw rows still waiting to be processed are never removed, whatever their age.
RAW_MAIL_DONE = (
    RawMail.Status.PROCESSED,
    RawMail.Status.DUPLICATE,
    RawMail.Status.AUTOMATED,
    RawMail.Status.FAILED,
)
DAYS_PER_YEAR = 365


def retention_policy_save(
    *,
    actor: Actor,
    shop: Shop,
    is_enabled: bool,
    closed_ticket_years: int,
    raw_payload_days: int,
) -> RetentionPolicy:
    """Save the shop's retention policy (its supervisors and admins); audited with old/new."""
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(
            gettext_noop("Only a supervisor or admin may change the retention policy.")
        )
    if not 1 <= closed_ticket_years <= 20:
        raise ValidationError(
            gettext_noop("Keep tickets for 1 to 20 years."), field="closed_ticket_years"
        )
    if not 7 <= raw_payload_days <= 3650:
        raise ValidationError(
            gettext_noop("Keep raw data for 7 to 3650 days."), field="raw_payload_days"
        )
    with transaction.atomic():
        policy, _ = RetentionPolicy.objects.select_for_update().get_or_create(shop=shop)
        fields = ("is_enabled", "closed_ticket_years", "raw_payload_days")
        old = {name: getattr(policy, name) for name in fields}
        new = {
            "is_enabled": is_enabled,
            "closed_ticket_years": closed_ticket_years,
            "raw_payload_days": raw_payload_days,
        }
        changes = {name: [old[name], new[name]] for name in fields if old[name] != new[name]}
        if not changes:
            return policy
        for name, value in new.items():
            setattr(policy, name, value)
        policy.updated_by = actor.user
        policy.save()
        record(
            actor=actor.user,
            action=actions.PRIVACY_RETENTION_CHANGED,
            target=policy,
            shop=shop,
            changes=changes,
        )
    return policy


def retention_run(*, shop: Shop, now: dt.datetime | None = None) -> RetentionRun:
    """Apply the shop's policy once (run in the shop's scope) and return the run's report row."""
    now = now or timezone.now()
    policy = RetentionPolicy.objects.get(shop=shop)
    run = RetentionRun.objects.create(
        shop=shop,
        closed_ticket_years=policy.closed_ticket_years,
        raw_payload_days=policy.raw_payload_days,
        started_at=now,
    )
    errors: list[str] = []
    try:
        _expire_tickets(
            run, cutoff=now - dt.timedelta(days=DAYS_PER_YEAR * run.closed_ticket_years)
        )
    except Exception as error:  # a failed batch is reported; the next run retries it
        logger.exception("Retention of tickets failed for shop %s", shop.id)
        errors.append(f"tickets: {error}")
    try:
        _expire_raw(run, cutoff=now - dt.timedelta(days=run.raw_payload_days))
    except Exception as error:
        logger.exception("Retention of raw payloads failed for shop %s", shop.id)
        errors.append(f"raw payloads: {error}")
    run.errors = "\n".join([*filter(None, [run.errors]), *errors])
    run.ended_at = timezone.now()
    run.save()
    return run


def _expire_tickets(run: RetentionRun, *, cutoff: dt.datetime) -> None:
    due = (
        Ticket.objects.filter(
            shop_id=run.shop_id,
            status__in=[Ticket.Status.SOLVED, Ticket.Status.CLOSED],
            last_activity_at__lt=cutoff,
        )
        .exclude(subject=ERASED_SUBJECT)
        .order_by("id")
    )
    after = 0
    while True:
        ids = list(due.filter(id__gt=after).values_list("id", flat=True)[:TICKET_BATCH])
        if not ids:
            return
        after = ids[-1]
        with transaction.atomic():
            emptied = tickets_empty(shop_id=run.shop_id, ticket_ids=ids)
        # The files go once their rows are gone for good (after the commit above).
        file_errors = files_delete(emptied.attachment_paths)
        if file_errors:
            run.errors = "\n".join([*filter(None, [run.errors]), *file_errors])
        run.tickets_count += emptied.tickets
        run.messages_count += emptied.messages
        run.attachments_count += emptied.attachments
        run.raw_mails_count += emptied.raw_mails
        run.raw_payloads_count += emptied.submissions
        run.save()


def _expire_raw(run: RetentionRun, *, cutoff: dt.datetime) -> None:
    shop_id = run.shop_id
    raw_mails = RawMail.objects.filter(
        shop_id=shop_id, received_at__lt=cutoff, status__in=RAW_MAIL_DONE
    )
    run.raw_mails_count += _delete_in_batches(raw_mails)
    webhooks = LineWebhook.objects.filter(
        shop_id=shop_id, received_at__lt=cutoff, status=LineWebhook.Status.PROCESSED
    )
    submissions = Submission.objects.filter(
        shop_id=shop_id, created_at__lt=cutoff, status=Submission.Status.PROCESSED
    )
    deliveries = WebhookDelivery.objects.filter(
        shop_id=shop_id,
        received_at__lt=cutoff,
        status__in=[WebhookDelivery.Status.PROCESSED, WebhookDelivery.Status.IGNORED],
    )
    for queryset in (webhooks, submissions, deliveries):
        run.raw_payloads_count += _delete_in_batches(queryset)
    run.save()


def _delete_in_batches(queryset: QuerySet[Any]) -> int:
    total = 0
    while True:
        ids = list(queryset.order_by("id").values_list("id", flat=True)[:RAW_BATCH])
        if not ids:
            return total
        with transaction.atomic():
            queryset.model.objects.filter(id__in=ids).delete()
        total += len(ids)


def retention_run_due(*, now: dt.datetime | None = None) -> list[RetentionRun]:
    """Run every enabled policy of every shop (the daily task; call it unscoped)."""
    from madoguchi.tenancy.scoping import in_shop

    runs = []
    policies = list(RetentionPolicy.objects.filter(is_enabled=True).select_related("shop"))
    for policy in policies:
        if policy.shop.archived_at is not None:
            continue
        with in_shop(policy.shop_id):
            runs.append(retention_run(shop=policy.shop, now=now))
    return runs
