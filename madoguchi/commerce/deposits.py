"""Import bank deposits and reconcile them with unpaid bank-transfer orders (入金確認)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.commerce.banking import bank_csv, zengin
from madoguchi.commerce.banking.kana import name_key
from madoguchi.commerce.banking.reconcile import Candidate, Matcher, OpenOrder
from madoguchi.commerce.models import (
    Deposit,
    DepositCandidate,
    DepositImport,
    Order,
    PaymentMethod,
    PaymentStatus,
)
from madoguchi.commerce.services import payment_record
from madoguchi.core.errors import ConflictError, ValidationError
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append
from madoguchi.tenancy.access import require_staff

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.tenancy.access import Actor
    from madoguchi.tenancy.models import Shop


@dataclass(frozen=True)
class DepositRow:
    dedup_key: str
    received_on: dt.date
    amount: int
    remitter_name: str
    sending_bank: str = ""
    reference: str = ""


@dataclass(frozen=True)
class ReconcileResult:
    applied: int
    review: int
    unmatched: int


def _store(
    *,
    shop: Shop,
    file_format: str,
    filename: str,
    data: bytes,
    rows: Sequence[DepositRow],
    errors: list[dict[str, object]],
    actor_user: User | None,
) -> DepositImport:
    deposit_import = DepositImport.objects.create(
        shop=shop,
        format=file_format,
        filename=filename[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        record_count=len(rows),
        errors=errors,
        uploaded_by=actor_user,
    )
    known = set(
        Deposit.objects.filter(
            shop=shop, dedup_key__in=[row.dedup_key for row in rows]
        ).values_list("dedup_key", flat=True)
    )
    created = 0
    for row in rows:
        if row.dedup_key in known:
            continue
        try:
            with transaction.atomic():
                Deposit.objects.create(
                    shop=shop,
                    source_import=deposit_import,
                    dedup_key=row.dedup_key,
                    received_on=row.received_on,
                    amount=row.amount,
                    remitter_name=row.remitter_name[:96],
                    sending_bank=row.sending_bank[:60],
                    reference=row.reference[:20],
                )
        except IntegrityError:
            continue  # imported concurrently by someone else: still recorded only once
        known.add(row.dedup_key)
        created += 1
    deposit_import.created_count = created
    deposit_import.duplicate_count = len(rows) - created
    deposit_import.save(update_fields=["created_count", "duplicate_count"])
    record(
        actor=actor_user,
        action=actions.DEPOSITS_IMPORTED,
        target=deposit_import,
        shop=shop,
        changes={"format": file_format, "created": created, "duplicates": len(rows) - created},
    )
    return deposit_import


@transaction.atomic
def deposits_import_zengin(
    *,
    shop: Shop,
    data: bytes,
    filename: str,
    actor_user: User | None = None,
    received_on: dt.date | None = None,
    date_style: str = "wareki",
) -> DepositImport:
    """Import a 振込入金通知 file; a malformed file (bad trailer, bad length) imports nothing."""
    parsed = zengin.parse(
        data, received_on=received_on or timezone.localdate(), date_style=date_style
    )
    header = parsed.header
    account = f"{header.bank_code}-{header.branch_code}-{header.account_number}"
    rows = [
        DepositRow(
            dedup_key=f"zengin:{account}:{transfer.booked_on.isoformat()}:{transfer.reference}",
            received_on=transfer.booked_on,
            amount=transfer.amount,
            remitter_name=transfer.remitter_name,
            sending_bank=transfer.sending_bank_name,
            reference=transfer.reference,
        )
        for transfer in parsed.transfers
        if not transfer.is_cancellation
    ]
    return _store(
        shop=shop,
        file_format=DepositImport.Format.ZENGIN,
        filename=filename,
        data=data,
        rows=rows,
        errors=[],
        actor_user=actor_user,
    )


@transaction.atomic
def deposits_import_csv(
    *, shop: Shop, data: bytes, filename: str, profile: str, actor_user: User | None = None
) -> DepositImport:
    """Import a net-bank CSV statement; bad rows are listed on the import, the rest go in."""
    statement = bank_csv.parse(data, profile_key=profile)
    rows = [
        DepositRow(
            dedup_key=deposit.dedup_key,
            received_on=deposit.received_on,
            amount=deposit.amount,
            remitter_name=deposit.remitter_name,
        )
        for deposit in statement.deposits
    ]
    errors: list[dict[str, object]] = [
        {"row": line, "message": message} for line, message in statement.errors
    ]
    return _store(
        shop=shop,
        file_format=profile,
        filename=filename,
        data=data,
        rows=rows,
        errors=errors,
        actor_user=actor_user,
    )


@dataclass(frozen=True)
class MatchingProgress:
    """How far the reconciler is with the deposits it has not decided yet (the review page)."""

    waiting: int  # deposits not matched yet (`Deposit.MatchState.PENDING`)
    total: int  # the deposits of the imports still being matched, decided or not

    @property
    def is_running(self) -> bool:
        return self.waiting > 0

    @property
    def done(self) -> int:
        return self.total - self.waiting


def deposit_matching_progress(*, shop: Shop) -> MatchingProgress:
    """Return how many deposits still wait for the reconciler, out of their imports' deposits.

    A deposit stays `pending` from its import until `deposits_reconcile` (a background task)
    decides it, one transaction per deposit; until then the review queue cannot list it, so the
    page says that matching runs instead of "nothing to review".
    """
    waiting = Deposit.objects.filter(shop=shop, match_state=Deposit.MatchState.PENDING)
    count = waiting.count()
    if count == 0:
        return MatchingProgress(waiting=0, total=0)
    import_ids = {
        import_id
        for import_id in waiting.values_list("source_import_id", flat=True).distinct()
        if import_id is not None
    }
    of_imports = Deposit.objects.filter(shop=shop, source_import_id__in=import_ids).count()
    without_import = waiting.filter(source_import__isnull=True).count()
    return MatchingProgress(waiting=count, total=of_imports + without_import)


def _open_orders(shop_id: int) -> list[OpenOrder]:
    orders = Order.objects.filter(
        shop_id=shop_id,
        payment_method=PaymentMethod.BANK_TRANSFER,
        payment_status__in=[PaymentStatus.UNPAID, PaymentStatus.PARTIALLY_PAID],
    ).exclude(status=Order.Status.CANCELLED)
    result = []
    for (
        order_id,
        number,
        total,
        paid,
        placed_at,
        kana1,
        kana2,
        kana3,
        customer_id,
    ) in orders.values_list(
        "id",
        "number",
        "total",
        "amount_paid",
        "placed_at",
        "customer__name_kana",
        "shipping_name_kana",
        "billing_name_kana",
        "customer_id",
    ):
        keys = frozenset(key for key in (name_key(k or "") for k in (kana1, kana2, kana3)) if key)
        result.append(
            OpenOrder(
                id=order_id,
                number=number,
                amount_due=max(total - paid, 0),
                placed_on=timezone.localdate(placed_at),
                name_keys=keys,
                customer_id=customer_id,
            )
        )
    return result


def _apply(
    *,
    deposit: Deposit,
    order_ids: Sequence[int],
    fee_absorbed: int,
    actor_user: User | None,
    is_automatic: bool,
) -> None:
    """Spread the deposit over the orders oldest first; the fee goes with the last order."""
    orders = list(Order.objects.filter(id__in=order_ids).order_by("placed_at", "id"))
    if len(orders) != len(set(order_ids)):
        raise ValidationError("An order of this match no longer exists.")
    remaining = deposit.amount
    for index, order in enumerate(orders):
        is_last = index == len(orders) - 1
        due = max(order.total - order.amount_paid, 0)
        fee = fee_absorbed if is_last else 0
        amount = remaining if is_last else min(remaining, due)
        if is_last and amount + fee > due and fee:
            fee = max(due - amount, 0)
        payment_record(
            order=order,
            amount=amount,
            fee_absorbed=fee,
            paid_on=deposit.received_on,
            deposit=deposit,
            actor_user=actor_user,
            is_automatic=is_automatic,
        )
        remaining -= amount
    deposit.match_state = Deposit.MatchState.APPLIED
    deposit.matched_at = timezone.now()
    deposit.matched_by = actor_user
    deposit.save(update_fields=["match_state", "match_note", "matched_at", "matched_by"])


def _store_candidates(deposit: Deposit, candidates: Iterable[Candidate]) -> None:
    DepositCandidate.objects.filter(deposit=deposit).delete()
    for rank, candidate in enumerate(candidates, start=1):
        row = DepositCandidate.objects.create(
            shop_id=deposit.shop_id,
            deposit=deposit,
            rank=rank,
            score=candidate.score,
            reasons=list(candidate.reasons),
            fee_absorbed=candidate.fee_absorbed,
        )
        row.orders.set(candidate.order_ids)


def deposits_reconcile(*, shop: Shop, deposit_ids: Sequence[int] | None = None) -> ReconcileResult:
    """Match the shop's pending deposits, oldest first; apply the certain ones.

    Each deposit is decided in its own transaction, so one failure leaves the others done.
    """
    matcher = Matcher.build(_open_orders(shop.id))
    pending = Deposit.objects.filter(shop=shop, match_state=Deposit.MatchState.PENDING)
    if deposit_ids is not None:
        pending = pending.filter(id__in=deposit_ids)
    counts = {"applied": 0, "review": 0, "unmatched": 0}
    for deposit in pending.order_by("received_on", "id"):
        decision = matcher.decide(
            amount=deposit.amount,
            remitter_name=deposit.remitter_name,
            received_on=deposit.received_on,
        )
        with transaction.atomic():
            applied = decision.applied
            if applied is not None:
                deposit.match_note = ",".join(applied.reasons)
                _apply(
                    deposit=deposit,
                    order_ids=applied.order_ids,
                    fee_absorbed=applied.fee_absorbed,
                    actor_user=None,
                    is_automatic=True,
                )
                matcher.remove(applied.order_ids)
            elif decision.state == "review":
                deposit.match_state = Deposit.MatchState.REVIEW
                deposit.match_note = decision.note
                deposit.save(update_fields=["match_state", "match_note"])
                _store_candidates(deposit, decision.candidates)
                event_append(
                    shop=shop,
                    type="deposit.review",
                    actor_kind=ActorKind.SYSTEM,
                    payload={"deposit_id": deposit.id},
                )
            else:
                deposit.match_state = Deposit.MatchState.UNMATCHED
                deposit.save(update_fields=["match_state"])
        counts[decision.state] += 1
    return ReconcileResult(**counts)


@transaction.atomic
def deposit_confirm(
    *,
    actor: Actor,
    deposit: Deposit,
    order_ids: Sequence[int],
    fee_absorbed: int = 0,
) -> Deposit:
    """A person applies a deposit in review (or unmatched) to the orders they chose."""
    require_staff(actor=actor, shop_id=deposit.shop_id)
    deposit = Deposit.objects.select_for_update().get(pk=deposit.pk)
    if deposit.match_state in (Deposit.MatchState.APPLIED, Deposit.MatchState.DISMISSED):
        raise ConflictError("This deposit has already been handled.")
    if not order_ids:
        raise ValidationError("Choose at least one order.", field="order_ids")
    orders = Order.objects.filter(id__in=order_ids, shop_id=deposit.shop_id)
    if orders.count() != len(set(order_ids)):
        raise ValidationError("Unknown order.", field="order_ids")
    if any(order.payment_status == PaymentStatus.PAID for order in orders):
        raise ConflictError("One of these orders is already paid.", field="order_ids")
    due = sum(max(order.total - order.amount_paid, 0) for order in orders)
    deposit.match_note = "confirmed by staff"
    if deposit.amount > due:
        deposit.match_note = f"overpaid by {deposit.amount - due} yen"
    _apply(
        deposit=deposit,
        order_ids=list(order_ids),
        fee_absorbed=fee_absorbed,
        actor_user=actor.user,
        is_automatic=False,
    )
    record(
        actor=actor.user,
        action=actions.DEPOSIT_CONFIRMED,
        target=deposit,
        changes={
            "orders": sorted(order.number for order in orders),
            "amount": deposit.amount,
            "fee_absorbed": fee_absorbed,
        },
    )
    return deposit


@transaction.atomic
def deposit_dismiss(*, actor: Actor, deposit: Deposit, note: str = "") -> Deposit:
    """Mark a deposit as not an order payment (a refund, a transfer between accounts...)."""
    require_staff(actor=actor, shop_id=deposit.shop_id)
    deposit = Deposit.objects.select_for_update().get(pk=deposit.pk)
    if deposit.match_state == Deposit.MatchState.APPLIED:
        raise ConflictError("This deposit has already been applied.")
    deposit.match_state = Deposit.MatchState.DISMISSED
    deposit.match_note = note[:255]
    deposit.matched_by = actor.user
    deposit.matched_at = timezone.now()
    deposit.save(update_fields=["match_state", "match_note", "matched_by", "matched_at"])
    record(actor=actor.user, action=actions.DEPOSIT_DISMISSED, target=deposit)
    return deposit
