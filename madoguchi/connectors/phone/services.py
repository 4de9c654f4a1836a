"""Log a phone call in one step: find the customer by number, open or note the ticket."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.connectors.phone.models import CallLog
from madoguchi.conversations.models import Channel, Ticket
from madoguchi.conversations.services import message_note, ticket_create
from madoguchi.core.errors import ValidationError
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
        raise ValidationError("Write the duration as minutes:seconds, for example 3:20.")
    minutes, seconds = match.groups()
    total = int(minutes or 0) * 60 + int(seconds)
    if total > 24 * 3600:
        raise ValidationError("The duration is too long.")
    return total


def customer_by_number(*, shop: Shop, number: str) -> Customer | None:
    """The shop's customer with this phone number, however it was written."""
    if not normalize_phone(number):
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


def _summary(call: CallInput, normalized: str) -> str:
    minutes, seconds = divmod(call.duration_seconds, 60)
    head = (
        f"[{DIRECTION_LABELS[call.direction]}] {call.number.strip()} "
        f"結果: {RESULT_LABELS[call.result]} 通話時間: {minutes}:{seconds:02d}"
    )
    if call.follow_up_needed and call.callback_due_at is not None:
        due = timezone.localtime(call.callback_due_at)
        head += f"\n折り返し: {due:%Y-%m-%d %H:%M} まで"
    return f"{head}\n\n{call.notes.strip()}" if call.notes.strip() else head


@transaction.atomic
def call_log(*, actor: Actor, shop: Shop, call: CallInput) -> CallLog:
    """Record a call: a note on the given ticket, or a new phone ticket for the caller."""
    require_staff(actor=actor, shop_id=shop.id)
    if call.direction not in CallLog.Direction.values:
        raise ValidationError("Unknown call direction.")
    if call.result not in CallLog.Result.values:
        raise ValidationError("Unknown call result.")
    normalized = normalize_phone(call.number)
    if len(normalized) < 3:
        raise ValidationError("Enter the phone number.")
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
            raise ValidationError("The ticket belongs to another shop.")
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
