"""Every write of agency billing: the issuer settings, contracts and their dated terms, monthly
drafts, issuing with gap-free numbers, credit notes, usage alerts.

Writes are the agency's admins' (`require_workspace_admin`); each is audited. Issuing and usage
alerts also append to the client shop's event log, so the shop's history shows them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.billing.metering import Usage, metered_usage
from madoguchi.billing.models import (
    BillingSettings,
    Contract,
    ContractOption,
    ContractTerms,
    Invoice,
    InvoiceLine,
    Plan,
    Rounding,
    UsageAlert,
)
from madoguchi.billing.pricing import (
    CHANNEL_ORDER,
    Computation,
    OptionPrice,
    TermsPrice,
    compute_month,
    month_bounds,
)
from madoguchi.billing.registration import (
    is_valid_registration_number,
    normalize_registration_number,
)
from madoguchi.core.errors import ConflictError, NotFoundError, ValidationError
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append
from madoguchi.tenancy.access import Actor, require_workspace_admin
from madoguchi.tenancy.models import Engagement, Workspace

ALERT_THRESHOLDS = (80, 100)


# --- issuer settings -------------------------------------------------------------------------


def billing_settings_save(
    *,
    actor: Actor,
    workspace: Workspace,
    issuer_name: str,
    registration_number: str,
    issuer_address: str = "",
    bank_account: str = "",
    payment_terms_days: int = 30,
    rounding: str = Rounding.DOWN,
    is_auto_issue: bool = False,
    number_prefix: str = "INV",
) -> BillingSettings:
    """Save the agency's issuer details; the registration number must pass its check digit."""
    require_workspace_admin(actor, workspace.id)
    number = normalize_registration_number(registration_number)
    if not is_valid_registration_number(number):
        raise ValidationError(
            gettext_noop("Enter T and the 13 digits of a registration number (check digit)."),
            field="registration_number",
        )
    if not issuer_name.strip():
        raise ValidationError(gettext_noop("Enter the issuer's name."), field="issuer_name")
    new: dict[str, Any] = {
        "issuer_name": issuer_name.strip(),
        "registration_number": number,
        "issuer_address": issuer_address.strip(),
        "bank_account": bank_account.strip(),
        "payment_terms_days": payment_terms_days,
        "rounding": rounding,
        "is_auto_issue": is_auto_issue,
        "number_prefix": number_prefix.strip(),
    }
    with transaction.atomic():
        current = BillingSettings.objects.select_for_update().filter(workspace=workspace).first()
        if current is None:
            current = BillingSettings(workspace=workspace)
            changes = {name: [None, value] for name, value in new.items()}
        else:
            changes = {
                name: [getattr(current, name), value]
                for name, value in new.items()
                if getattr(current, name) != value
            }
        if not changes:
            return current
        for name, value in new.items():
            setattr(current, name, value)
        current.updated_by = actor.user
        current.save()
        record(
            actor=actor.user,
            action=actions.BILLING_SETTINGS_CHANGED,
            target=current,
            changes=changes,
        )
    return current


def billing_settings_of(workspace_id: int) -> BillingSettings | None:
    return BillingSettings.objects.filter(workspace_id=workspace_id).first()


# --- contracts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TermsInput:
    """The prices of a terms version as a form gives them."""

    plan: str
    monthly_fee: int = 0
    included_contacts: int = 0
    overage_rate: Decimal = Decimal("0")
    channel_rates: Mapping[str, Decimal] | None = None
    setup_fee: int = 0
    tax_category: str = "standard"
    reopen_after_days: int = 7
    excluded_tags: str = "spam"
    options: Sequence[OptionPrice] = ()


def _check_terms(terms: TermsInput) -> None:
    if terms.plan == Plan.FIXED and not terms.monthly_fee:
        raise ValidationError(
            gettext_noop("A fixed plan needs a monthly fee."), field="monthly_fee"
        )
    if terms.plan == Plan.METERED and not any((terms.channel_rates or {}).values()):
        raise ValidationError(
            gettext_noop("A metered plan needs a rate for at least one channel."),
            field="plan",
        )


def _terms_create(
    *, actor: Actor, contract: Contract, effective_from: dt.date, terms: TermsInput
) -> ContractTerms:
    rates = {
        channel: str(Decimal(rate))
        for channel, rate in (terms.channel_rates or {}).items()
        if channel in CHANNEL_ORDER and rate
    }
    row = ContractTerms.objects.create(
        workspace_id=contract.workspace_id,
        contract=contract,
        effective_from=effective_from,
        plan=terms.plan,
        monthly_fee=terms.monthly_fee,
        included_contacts=terms.included_contacts,
        overage_rate=terms.overage_rate,
        channel_rates=rates,
        setup_fee=terms.setup_fee,
        tax_category=terms.tax_category,
        reopen_after_days=terms.reopen_after_days,
        excluded_tags=terms.excluded_tags,
        created_by=actor.user,
    )
    ContractOption.objects.bulk_create(
        ContractOption(
            workspace_id=contract.workspace_id,
            terms=row,
            name=option.name,
            pricing=option.pricing,
            unit_price=option.unit_price,
            tax_category=option.tax_category,
        )
        for option in terms.options
    )
    return row


def _terms_changes(row: ContractTerms, terms: TermsInput) -> dict[str, Any]:
    return {
        "effective_from": row.effective_from.isoformat(),
        "plan": terms.plan,
        "monthly_fee": terms.monthly_fee,
        "included_contacts": terms.included_contacts,
        "overage_rate": str(terms.overage_rate),
        "channel_rates": row.channel_rates,
        "setup_fee": terms.setup_fee,
        "tax_category": terms.tax_category,
        "options": [
            [option.name, option.pricing, str(option.unit_price), option.tax_category]
            for option in terms.options
        ],
    }


@transaction.atomic
def contract_create(
    *,
    actor: Actor,
    engagement: Engagement,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    minimum_term_months: int = 0,
    terms: TermsInput,
) -> Contract:
    """Create a contract on an engagement of the actor's agency, with its first terms."""
    require_workspace_admin(actor, engagement.agency_id)
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError(gettext_noop("The contract ends before it starts."), field="ends_on")
    if ends_on is not None and minimum_term_months:
        earliest = _add_months(starts_on, minimum_term_months) - dt.timedelta(days=1)
        if ends_on < earliest:
            raise ValidationError(
                gettext_noop("The contract ends before its minimum term."), field="ends_on"
            )
    _check_terms(terms)
    contract = Contract.objects.create(
        workspace_id=engagement.agency_id,
        shop_id=engagement.shop_id,
        engagement=engagement,
        name=name.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        minimum_term_months=minimum_term_months,
    )
    row = _terms_create(
        actor=actor, contract=contract, effective_from=starts_on.replace(day=1), terms=terms
    )
    record(
        actor=actor.user,
        action=actions.BILLING_CONTRACT_CREATED,
        target=contract,
        shop=engagement.shop,
        changes={
            "name": contract.name,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat() if ends_on else None,
            "minimum_term_months": minimum_term_months,
            "terms": _terms_changes(row, terms),
        },
    )
    return contract


@transaction.atomic
def contract_end_set(*, actor: Actor, contract: Contract, ends_on: dt.date | None) -> Contract:
    """Set or clear the contract's last day."""
    require_workspace_admin(actor, contract.workspace_id)
    if ends_on is not None and ends_on < contract.starts_on:
        raise ValidationError(gettext_noop("The contract ends before it starts."), field="ends_on")
    old = contract.ends_on
    if old == ends_on:
        return contract
    contract.ends_on = ends_on
    contract.save(update_fields=["ends_on"])
    record(
        actor=actor.user,
        action=actions.BILLING_CONTRACT_CHANGED,
        target=contract,
        shop=contract.shop,
        changes={
            "ends_on": [old.isoformat() if old else None, ends_on.isoformat() if ends_on else None]
        },
    )
    return contract


@transaction.atomic
def contract_terms_change(
    *, actor: Actor, contract: Contract, effective_from: dt.date, terms: TermsInput
) -> ContractTerms:
    """Start new prices from the first of a month; months already invoiced keep their prices."""
    require_workspace_admin(actor, contract.workspace_id)
    if effective_from.day != 1:
        raise ValidationError(
            gettext_noop("New prices start on the first day of a month."), field="effective_from"
        )
    if effective_from <= contract.starts_on.replace(day=1):
        raise ValidationError(
            gettext_noop("New prices start after the contract's first month."),
            field="effective_from",
        )
    invoiced = (
        Invoice.objects.filter(contract=contract, period_start__gte=effective_from)
        .exclude(status=Invoice.Status.DRAFT)
        .exists()
    )
    if invoiced:
        raise ConflictError(
            gettext_noop("That month is already invoiced; start the new prices later."),
            field="effective_from",
        )
    _check_terms(terms)
    ContractTerms.objects.filter(contract=contract, effective_from=effective_from).delete()
    row = _terms_create(actor=actor, contract=contract, effective_from=effective_from, terms=terms)
    record(
        actor=actor.user,
        action=actions.BILLING_CONTRACT_CHANGED,
        target=contract,
        shop=contract.shop,
        changes={"terms": _terms_changes(row, terms)},
    )
    return row


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    first = dt.date(year, month, 1)
    return first.replace(day=min(day.day, month_bounds(first)[1].day))


def terms_for_month(contract: Contract, month: dt.date) -> ContractTerms | None:
    """Return the terms version in force in the month (the latest starting on or before it)."""
    first = month.replace(day=1)
    return (
        ContractTerms.objects.filter(contract=contract, effective_from__lte=first)
        .prefetch_related("options")
        .order_by("-effective_from")
        .first()
    )


def terms_price(terms: ContractTerms) -> TermsPrice:
    return TermsPrice(
        plan=terms.plan,
        monthly_fee=terms.monthly_fee,
        included_contacts=terms.included_contacts,
        overage_rate=terms.overage_rate,
        channel_rates={key: Decimal(value) for key, value in terms.channel_rates.items()},
        setup_fee=terms.setup_fee,
        tax_category=terms.tax_category,
        options=[
            OptionPrice(
                name=option.name,
                pricing=option.pricing,
                unit_price=option.unit_price,
                tax_category=option.tax_category,
            )
            for option in terms.options.all()
        ],
    )


# --- metering ----------------------------------------------------------------------------------


def month_usage(
    *, contract: Contract, terms: ContractTerms, month: dt.date, until: dt.datetime | None = None
) -> Usage:
    """Billable contacts of the contract's shop in the month (midnight to midnight in the
    shop's time zone), up to `until` when given (usage so far)."""
    shop = contract.shop
    zone = ZoneInfo(shop.time_zone)
    first, last = month_bounds(month)
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    if until is not None:
        end = min(end, until)
    return metered_usage(
        shop_id=shop.id,
        start=start,
        end=end,
        reopen_after_days=terms.reopen_after_days,
        excluded_tags=terms.excluded_tag_names,
    )


def _channel_labels() -> dict[str, Any]:
    """The channels' names, lazy: the invoice lines translate them into Japanese."""
    from madoguchi.conversations.models import Channel

    return {str(member.value): member.label for member in Channel}


def contract_month_computation(
    *, contract: Contract, month: dt.date, rounding: str
) -> tuple[Computation, Usage] | None:
    """Compute the month's invoice of the contract, or None if no terms apply that month."""
    terms = terms_for_month(contract, month)
    first, last = month_bounds(month)
    if (
        terms is None
        or contract.starts_on > last
        or (contract.ends_on is not None and contract.ends_on < first)
    ):
        return None
    usage = month_usage(contract=contract, terms=terms, month=month)
    computation = compute_month(
        terms=terms_price(terms),
        usage_by_channel=usage.by_channel,
        month=month,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
        rounding=rounding,
        channel_labels=_channel_labels(),
    )
    return computation, usage


# --- invoices ----------------------------------------------------------------------------------


def _open_invoice(contract: Contract, first: dt.date) -> Invoice | None:
    """The month's issued invoice that no credit note cancelled yet."""
    for invoice in Invoice.objects.filter(
        contract=contract,
        period_start=first,
        kind=Invoice.Kind.INVOICE,
        status=Invoice.Status.ISSUED,
    ):
        if not invoice.credit_notes.exists():
            return invoice
    return None


@transaction.atomic
def invoice_draft(
    *, contract: Contract, month: dt.date, actor: Actor | None = None
) -> Invoice | None:
    """Compute (or recompute) the month's draft; None when the month needs no invoice.

    A month with an issued invoice still standing gets no new draft: correct it with a credit
    note first.
    """
    if actor is not None:
        require_workspace_admin(actor, contract.workspace_id)
    first, last = month_bounds(month)
    if _open_invoice(contract, first) is not None:
        raise ConflictError(
            gettext_noop("This month is already invoiced; issue a credit note to correct it.")
        )
    settings = billing_settings_of(contract.workspace_id)
    rounding = settings.rounding if settings else Rounding.DOWN
    result = contract_month_computation(contract=contract, month=month, rounding=rounding)
    Invoice.objects.filter(
        contract=contract, period_start=first, status=Invoice.Status.DRAFT
    ).delete()
    if result is None:
        return None
    computation, usage = result
    invoice = Invoice.objects.create(
        workspace_id=contract.workspace_id,
        shop_id=contract.shop_id,
        contract=contract,
        period_start=first,
        period_end=last,
        recipient_name=contract.shop.workspace.name,
        usage={"total": usage.total, "by_channel": usage.by_channel, "cap": computation.cap},
        tax_breakdown=[
            {
                "category": row.category,
                "rate": str(row.rate),
                "subtotal": row.subtotal,
                "tax": row.tax,
            }
            for row in computation.tax_rows
        ],
        subtotal=computation.subtotal,
        tax=computation.tax,
        total=computation.total,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            workspace_id=contract.workspace_id,
            invoice=invoice,
            position=position,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            tax_category=line.tax_category,
        )
        for position, line in enumerate(computation.lines, start=1)
    )
    if actor is not None:
        record(
            actor=actor.user,
            action=actions.BILLING_INVOICE_DRAFTED,
            target=invoice,
            shop=contract.shop,
            changes={"period": first.isoformat(), "total": invoice.total},
        )
    return invoice


def _next_number(settings: BillingSettings) -> tuple[int, str]:
    """Take the workspace's next invoice number inside the caller's transaction.

    The conditional UPDATE locks the counter row (PostgreSQL) or runs in the write transaction
    SQLite already holds (IMMEDIATE), so concurrent issuers get consecutive numbers, and a
    rolled-back issue gives its number back: the sequence has no gaps.
    """
    updated = BillingSettings.objects.filter(pk=settings.pk).update(
        last_invoice_number=F("last_invoice_number") + 1
    )
    if updated != 1:
        raise NotFoundError("Billing settings not found")
    sequence = BillingSettings.objects.values_list("last_invoice_number", flat=True).get(
        pk=settings.pk
    )
    return sequence, f"{settings.number_prefix}-{sequence:06d}"


def _require_settings(workspace_id: int) -> BillingSettings:
    settings = billing_settings_of(workspace_id)
    if settings is None or not is_valid_registration_number(settings.registration_number):
        raise ConflictError(
            gettext_noop(
                "Enter the issuer's name and registration number in the billing settings first."
            )
        )
    return settings


def _stamp(
    invoice: Invoice, settings: BillingSettings, *, actor: Actor | None, today: dt.date
) -> None:
    sequence, number = _next_number(settings)
    invoice.sequence = sequence
    invoice.number = number
    invoice.status = Invoice.Status.ISSUED
    invoice.issued_on = today
    invoice.due_on = today + dt.timedelta(days=settings.payment_terms_days)
    invoice.issued_at = timezone.now()
    invoice.issued_by = actor.user if actor else None
    invoice.issuer_name = settings.issuer_name
    invoice.registration_number = settings.registration_number
    invoice.issuer_address = settings.issuer_address
    invoice.bank_account = settings.bank_account


@transaction.atomic
def invoice_issue(
    *, invoice: Invoice, actor: Actor | None, today: dt.date | None = None
) -> Invoice:
    """Number and freeze a draft (an admin, or the monthly run when the agency auto-issues)."""
    if actor is not None:
        require_workspace_admin(actor, invoice.workspace_id)
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.DRAFT:
        raise ConflictError(gettext_noop("This invoice is already issued."))
    settings = _require_settings(invoice.workspace_id)
    _stamp(invoice, settings, actor=actor, today=today or timezone.localdate())
    invoice.save()
    _issued_facts(invoice, actor=actor, action=actions.BILLING_INVOICE_ISSUED)
    return invoice


def _issued_facts(invoice: Invoice, *, actor: Actor | None, action: str) -> None:
    record(
        actor=actor.user if actor else None,
        actor_label="" if actor else "system",
        action=action,
        target=invoice,
        shop=invoice.shop,
        changes={
            "number": invoice.number,
            "period": invoice.period_start.isoformat(),
            "total": invoice.total,
            **({"corrects": invoice.corrects.number} if invoice.corrects else {}),
        },
    )
    event_append(
        shop=invoice.shop,
        type="billing.invoice_issued",
        actor_kind=ActorKind.OPERATOR if actor else ActorKind.SYSTEM,
        actor_user=actor.user if actor else None,
        payload={
            "invoice_id": invoice.pk,
            "number": invoice.number,
            "kind": invoice.kind,
            "period_start": invoice.period_start.isoformat(),
            "total": invoice.total,
        },
    )


@transaction.atomic
def invoice_discard(*, actor: Actor, invoice: Invoice) -> None:
    """Delete a draft (it has no number, so nothing is skipped)."""
    require_workspace_admin(actor, invoice.workspace_id)
    if invoice.status != Invoice.Status.DRAFT:
        raise ConflictError(
            gettext_noop("An issued invoice is never deleted; issue a credit note.")
        )
    record(
        actor=actor.user,
        action=actions.BILLING_INVOICE_DISCARDED,
        target=invoice,
        shop=invoice.shop,
        changes={"period": invoice.period_start.isoformat(), "total": invoice.total},
    )
    invoice.delete()


@transaction.atomic
def credit_note_issue(
    *, actor: Actor, invoice: Invoice, reason: str, today: dt.date | None = None
) -> Invoice:
    """Cancel an issued invoice with a numbered credit note of the same lines, negated.

    The tax of each rate is the original's negated, not recomputed, so the two documents sum to
    zero exactly. The month can then be drafted and issued again.
    """
    require_workspace_admin(actor, invoice.workspace_id)
    if not reason.strip():
        raise ValidationError(gettext_noop("Say why the invoice is corrected."), field="reason")
    original = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if original.status != Invoice.Status.ISSUED or original.is_credit_note:
        raise ConflictError(gettext_noop("Only an issued invoice can be credited."))
    if original.credit_notes.exists():
        raise ConflictError(gettext_noop("This invoice was already credited."))
    settings = _require_settings(original.workspace_id)
    note = Invoice(
        workspace_id=original.workspace_id,
        shop_id=original.shop_id,
        contract_id=original.contract_id,
        kind=Invoice.Kind.CREDIT_NOTE,
        period_start=original.period_start,
        period_end=original.period_end,
        corrects=original,
        recipient_name=original.recipient_name,
        usage=original.usage,
        tax_breakdown=[
            {**row, "subtotal": -row["subtotal"], "tax": -row["tax"]}
            for row in original.tax_breakdown
        ],
        subtotal=-original.subtotal,
        tax=-original.tax,
        total=-original.total,
        note=reason.strip(),
    )
    _stamp(note, settings, actor=actor, today=today or timezone.localdate())
    note.save()
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            workspace_id=line.workspace_id,
            invoice=note,
            position=line.position,
            description=line.description,
            quantity=-line.quantity,
            unit_price=line.unit_price,
            amount=-line.amount,
            tax_category=line.tax_category,
        )
        for line in original.lines.all()
    )
    _issued_facts(note, actor=actor, action=actions.BILLING_CREDIT_NOTE_ISSUED)
    return note


# --- periodic work -----------------------------------------------------------------------------


def previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def monthly_run(*, workspace_id: int, today: dt.date) -> list[Invoice]:
    """Draft last month's invoice of every contract that has none yet (and issue it when the
    agency auto-issues). Idempotent: a month already drafted or issued is left alone."""
    month = previous_month(today)
    settings = billing_settings_of(workspace_id)
    made = []
    for contract in Contract.objects.filter(workspace_id=workspace_id).select_related(
        "shop__workspace"
    ):
        if Invoice.objects.filter(
            contract=contract, period_start=month, kind=Invoice.Kind.INVOICE
        ).exists():
            continue
        invoice = invoice_draft(contract=contract, month=month)
        if invoice is None:
            continue
        if settings is not None and settings.is_auto_issue:
            invoice = invoice_issue(invoice=invoice, actor=None, today=today)
        made.append(invoice)
    return made


def usage_alerts_check(*, workspace_id: int, now: dt.datetime) -> list[UsageAlert]:
    """Record (once each) that a fixed plan's contacts this month reached 80% or 100% of its cap."""
    made = []
    for contract in Contract.objects.filter(workspace_id=workspace_id).select_related("shop"):
        local_today = now.astimezone(ZoneInfo(contract.shop.time_zone)).date()
        if contract.starts_on > local_today or (
            contract.ends_on is not None and contract.ends_on < local_today
        ):
            continue
        terms = terms_for_month(contract, local_today)
        if terms is None or terms.plan != Plan.FIXED or not terms.included_contacts:
            continue
        usage = month_usage(contract=contract, terms=terms, month=local_today, until=now)
        month = local_today.replace(day=1)
        for threshold in ALERT_THRESHOLDS:
            if usage.total * 100 < terms.included_contacts * threshold:
                continue
            with transaction.atomic():
                alert, created = UsageAlert.objects.get_or_create(
                    contract=contract,
                    month=month,
                    threshold=threshold,
                    defaults={
                        "workspace_id": workspace_id,
                        "shop_id": contract.shop_id,
                        "contacts": usage.total,
                        "cap": terms.included_contacts,
                    },
                )
                if created:
                    event_append(
                        shop=contract.shop,
                        type="billing.usage_alert",
                        actor_kind=ActorKind.SYSTEM,
                        payload={
                            "contract_id": contract.pk,
                            "month": month.isoformat(),
                            "threshold": threshold,
                            "contacts": usage.total,
                            "cap": terms.included_contacts,
                        },
                    )
                    made.append(alert)
    return made
