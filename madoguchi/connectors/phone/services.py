"""Log a phone call in one step: find the customer by number, open or note the ticket.

The shop's own numbers (代表, 注文専用, ...) are kept here too: leads add and change them, the
call form offers them as the number a call came in on (or went out from), and they are never
taken for a caller's number.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.connectors.phone.models import CallLog, PhoneNumber
from madoguchi.conversations.models import Channel, Ticket
from madoguchi.conversations.services import message_note, ticket_create
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.customers.normalize import normalize_phone
from madoguchi.customers.services import IdentityInput, customer_find
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop

_DURATION = re.compile(r"^\s*(?:(\d{1,3}):)?(\d{1,5})\s*$")
DIRECTION_LABELS = {"inbound": "着信", "outbound": "発信"}
RESULT_LABELS = {
    "answered": "通話",
    "voicemail": "留守電",
    "no_answer": "不在",
    "busy": "話し中",
    "missed": "不在着信",
}


def parse_duration(text: str) -> int:
    """Return seconds from "3:20" (minutes:seconds) or "200" (seconds); "" is 0."""
    if not text.strip():
        return 0
    match = _DURATION.match(text)
    if not match:
        raise ValidationError(
            "Write the duration as minutes:seconds, for example 3:20.", field="duration"
        )
    minutes, seconds = match.groups()
    total = int(minutes or 0) * 60 + int(seconds)
    if total > 24 * 3600:
        raise ValidationError("The duration is too long.", field="duration")
    return total


def shop_phone_numbers(*, shop: Shop, active_only: bool = False) -> list[PhoneNumber]:
    """The shop's own numbers, those in use first."""
    numbers = PhoneNumber.objects.filter(shop=shop)
    if active_only:
        numbers = numbers.filter(is_active=True)
    return list(numbers)


def own_number(*, shop: Shop, number: str) -> PhoneNumber | None:
    """The shop's own number that `number` is, however it was written; None for any other."""
    normalized = normalize_phone(number)
    if not normalized:
        return None
    return PhoneNumber.objects.filter(shop=shop, number_normalized=normalized).first()


def access_phone_number(*, actor: Actor, shop: Shop, phone_number_id: int) -> PhoneNumber:
    """The shop's number with this id, for staff of the shop; otherwise NotFoundError."""
    found = PhoneNumber.objects.filter(shop=shop, pk=phone_number_id).first()
    if found is None or not actor.is_staff_for(shop.id):
        raise NotFoundError("Phone number not found")
    return found


def _require_lead(actor: Actor, shop: Shop) -> None:
    require_staff(actor=actor, shop_id=shop.id)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError("Only a supervisor or admin may change the shop's numbers.")


def _checked_number(*, shop: Shop, number: str, exclude_id: int | None = None) -> str:
    """Return the normalised form of a new own number, or raise if it is unusable or taken."""
    normalized = normalize_phone(number)
    if not (normalized.startswith("0") and 10 <= len(normalized) <= 11):
        raise ValidationError(
            "Enter the number with its area code, for example 03-1234-5678.", field="number"
        )
    taken = PhoneNumber.objects.filter(shop=shop, number_normalized=normalized)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise ValidationError("This number is already one of the shop's numbers.", field="number")
    return normalized


def _display(number: str) -> str:
    """The number as it is shown: as typed, with full-width characters folded."""
    return " ".join(unicodedata.normalize("NFKC", number).split())[:40]


def _saved(phone_number: PhoneNumber) -> None:
    """Save, turning the race of two identical numbers into the duplicate error."""
    try:
        with transaction.atomic():
            phone_number.save()
    except IntegrityError:
        raise ValidationError(
            "This number is already one of the shop's numbers.", field="number"
        ) from None


@transaction.atomic
def phone_number_create(
    *, actor: Actor, shop: Shop, number: str, label: str, is_active: bool = True
) -> PhoneNumber:
    """Add one of the shop's own numbers (supervisors and admins)."""
    _require_lead(actor, shop)
    normalized = _checked_number(shop=shop, number=number)
    phone_number = PhoneNumber(
        shop=shop,
        number=_display(number),
        number_normalized=normalized,
        label=" ".join(label.split())[:50],
        is_active=is_active,
    )
    _saved(phone_number)
    record(
        actor=actor.user,
        action=actions.PHONE_NUMBER_ADDED,
        target=phone_number,
        shop=shop,
        changes={
            "number": phone_number.number,
            "label": phone_number.label,
            "is_active": phone_number.is_active,
        },
    )
    return phone_number


@transaction.atomic
def phone_number_update(
    *, actor: Actor, phone_number: PhoneNumber, number: str, label: str, is_active: bool
) -> PhoneNumber:
    """Change a number, its label or whether it is in use; the audit keeps before and after."""
    shop = phone_number.shop
    _require_lead(actor, shop)
    normalized = _checked_number(shop=shop, number=number, exclude_id=phone_number.pk)
    values = {
        "number": _display(number),
        "number_normalized": normalized,
        "label": " ".join(label.split())[:50],
        "is_active": is_active,
    }
    changes = {
        name: [getattr(phone_number, name), value]
        for name, value in values.items()
        if getattr(phone_number, name) != value and name != "number_normalized"
    }
    for name, value in values.items():
        setattr(phone_number, name, value)
    if changes:
        _saved(phone_number)
        record(
            actor=actor.user,
            action=actions.PHONE_NUMBER_CHANGED,
            target=phone_number,
            shop=shop,
            changes=changes,
        )
    return phone_number


@transaction.atomic
def phone_number_delete(*, actor: Actor, phone_number: PhoneNumber) -> None:
    """Remove a number; calls logged on it keep their text and lose the link."""
    shop = phone_number.shop
    _require_lead(actor, shop)
    record(
        actor=actor.user,
        action=actions.PHONE_NUMBER_REMOVED,
        target=phone_number,
        shop=shop,
        changes={"number": phone_number.number, "label": phone_number.label},
    )
    phone_number.delete()


def customer_by_number(*, shop: Shop, number: str) -> Customer | None:
    """The shop's customer with this phone number, however it was written.

    The shop's own numbers belong to no customer: a call typed with one finds nobody.
    """
    if not normalize_phone(number) or own_number(shop=shop, number=number) is not None:
        return None
    return customer_find(
        shop=shop, identities=[IdentityInput(kind=ContactIdentity.Kind.PHONE, value=number)]
    )


@dataclass(frozen=True)
class CallInput:
    direction: str
    number: str
    result: str
    duration_seconds: int = 0
    customer_name: str = ""
    notes: str = ""
    follow_up_needed: bool = False
    callback_due_at: dt.datetime | None = None
    ticket: Ticket | None = None
    shop_number: PhoneNumber | None = None


def _summary(call: CallInput, normalized: str) -> str:
    minutes, seconds = divmod(call.duration_seconds, 60)
    head = (
        f"[{DIRECTION_LABELS[call.direction]}] {call.number.strip()} "
        f"結果: {RESULT_LABELS[call.result]} 通話時間: {minutes}:{seconds:02d}"
    )
    if call.shop_number is not None:
        side = "着信先" if call.direction == CallLog.Direction.INBOUND else "発信元"
        head += f"\n{side}: {call.shop_number}"
    if call.follow_up_needed and call.callback_due_at is not None:
        due = timezone.localtime(call.callback_due_at)
        head += f"\n折り返し: {due:%Y-%m-%d %H:%M} まで"
    return f"{head}\n\n{call.notes.strip()}" if call.notes.strip() else head


@transaction.atomic
def call_log(*, actor: Actor, shop: Shop, call: CallInput) -> CallLog:
    """Record a call: a note on the given ticket, or a new phone ticket for the caller."""
    require_staff(actor=actor, shop_id=shop.id)
    if call.direction not in CallLog.Direction.values:
        raise ValidationError("Unknown call direction.", field="direction")
    if call.result not in CallLog.Result.values:
        raise ValidationError("Unknown call result.", field="result")
    normalized = normalize_phone(call.number)
    if len(normalized) < 3:
        raise ValidationError("Enter the phone number.", field="number")
    if call.shop_number is not None and call.shop_number.shop_id != shop.id:
        raise ValidationError("The number belongs to another shop.", field="shop_number")
    if own_number(shop=shop, number=call.number) is not None:
        raise ValidationError(
            "This is one of the shop's own numbers: enter the caller's number.", field="number"
        )
    callback_due_at = call.callback_due_at
    if call.follow_up_needed and callback_due_at is None:
        callback_due_at = timezone.now() + dt.timedelta(hours=1)
    if not call.follow_up_needed:
        callback_due_at = None
    call = CallInput(**{**call.__dict__, "callback_due_at": callback_due_at})
    body = _summary(call, normalized)
    customer = customer_by_number(shop=shop, number=call.number)
    ticket = call.ticket
    if ticket is not None:
        if ticket.shop_id != shop.id:
            raise ValidationError("The ticket belongs to another shop.", field="ticket")
        message_note(actor=actor, ticket=ticket, body_text=body)
        customer = customer or ticket.customer
    else:
        identities = [IdentityInput(kind=ContactIdentity.Kind.PHONE, value=call.number)]
        subject = f"電話 {DIRECTION_LABELS[call.direction]}: {call.customer_name or call.number}"
        ticket = ticket_create(
            actor=actor,
            shop=shop,
            channel=Channel.PHONE,
            subject=subject,
            body_text=body,
            customer=customer,
            customer_name=call.customer_name or call.number.strip(),
            identities=identities,
            assign_to_self=True,
        )
        customer = ticket.customer
    log = CallLog.objects.create(
        shop=shop,
        direction=call.direction,
        number=call.number.strip()[:40],
        number_normalized=normalized[:40],
        shop_number=call.shop_number,
        customer=customer,
        ticket=ticket,
        duration_seconds=call.duration_seconds,
        result=call.result,
        notes=call.notes.strip(),
        follow_up_needed=call.follow_up_needed,
        callback_due_at=callback_due_at,
        logged_by=actor.user,
        created_at=timezone.now(),
    )
    record(
        actor=actor.user,
        action=actions.CALL_LOGGED,
        target=log,
        shop=shop,
        changes={"ticket": ticket.number, "direction": call.direction, "result": call.result},
    )
    return log


@transaction.atomic
def callback_done(*, actor: Actor, call: CallLog) -> CallLog:
    """Mark a callback as done (once)."""
    require_staff(actor=actor, shop_id=call.shop_id)
    updated = CallLog.objects.filter(
        pk=call.pk, follow_up_needed=True, callback_done_at__isnull=True
    ).update(callback_done_at=timezone.now(), callback_done_by=actor.user)
    if updated:
        record(actor=actor.user, action=actions.CALLBACK_DONE, target=call, shop=call.shop)
    call.refresh_from_db()
    return call


def open_callbacks(*, shop: Shop) -> list[CallLog]:
    """Callbacks still owed, the most urgent first."""
    return list(
        CallLog.objects.filter(shop=shop, follow_up_needed=True, callback_done_at__isnull=True)
        .select_related("customer", "ticket", "ticket__shop", "logged_by")
        .order_by("callback_due_at", "id")
    )
