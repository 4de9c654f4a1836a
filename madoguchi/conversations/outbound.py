"""Hand a stored reply to the connector of its channel, without conversations importing them.

Each connector registers one sender per channel from its `AppConfig.ready`. `message_reply`
calls `dispatch_outbound` inside its transaction: the connector writes its own durable outbox
row in the same commit as the reply (so a crash right after the commit loses nothing) and
enqueues the actual sending after the commit.

Connectors report how far they got through `delivery_status_set`, the one place a reply's
delivery state changes: it also keeps the ticket's `has_failed_delivery` flag, so a failed reply
stays visible in the inbox (whatever the ticket's status) until it is retried, delivered or
marked handled (`delivery_failure_handle`). A connector that can send a failed reply again
registers a retry (`register_retry`), offered on the ticket page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.models import Message, Ticket
from madoguchi.core.errors import ValidationError
from madoguchi.tenancy.access import require_staff

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor

logger = logging.getLogger(__name__)

Sender = Callable[[Message], object]
# `retry(actor=, message=)` queues a failed reply again; `can_retry(message)` says whether it may.
Retry = Callable[..., object]
CanRetry = Callable[[Message], bool]

_SENDERS: dict[str, Sender] = {}
_RETRIES: dict[str, tuple[CanRetry, Retry]] = {}

NOT_FAILED = gettext_noop("This reply did not fail, or it was already handled.")
NO_RETRY = gettext_noop("This reply cannot be sent again automatically.")


def register_sender(channel: str, sender: Sender) -> None:
    """Let `sender(message)` queue outbound messages of `channel` (called from `ready()`)."""
    _SENDERS[channel] = sender


def register_retry(channel: str, *, can_retry: CanRetry, retry: Retry) -> None:
    """Let staff send a failed reply of `channel` again from the ticket page."""
    _RETRIES[channel] = (can_retry, retry)


def dispatch_outbound(message: Message) -> bool:
    """Queue `message` with its channel's connector; return False when none is registered."""
    sender = _SENDERS.get(message.channel)
    if sender is None:
        return False
    sender(message)
    return True


def delivery_status_set(
    *, message_id: int, status: str, error: str = "", replaces: str | None = None
) -> None:
    """Record how far the channel got with delivering an outbound message.

    `error` says why a failed delivery failed (an English `gettext_noop` sentence of ours, or
    the server's text); any other status clears it. The ticket's flag follows in one UPDATE.

    A connector that knows the status it moves the reply on from (`replaces`: its own "queued"
    after a push, "stored" for a reply of this transaction) writes it in one UPDATE, and only
    while the reply still has that status. Neither may be "failed": between two other states
    the ticket's flag cannot change, so nothing is read (a live chat reply's path, issue 19).
    """
    if status not in Message.DeliveryStatus.values:
        raise ValueError(f"Unknown delivery status {status!r}")
    if replaces is not None:
        if Message.DeliveryStatus.FAILED in (status, replaces):
            raise ValueError("`replaces` is for changes between states that are not 'failed'")
        Message.objects.filter(
            pk=message_id, direction=Message.Direction.OUTBOUND, delivery_status=replaces
        ).update(delivery_status=status, delivery_error="", delivery_handled_at=None)
        return
    _delivery_status_change(message_id=message_id, status=status, error=error)


@transaction.atomic
def _delivery_status_change(*, message_id: int, status: str, error: str) -> None:
    is_failed = status == Message.DeliveryStatus.FAILED
    replies = Message.objects.filter(pk=message_id, direction=Message.Direction.OUTBOUND)
    before = replies.select_for_update().values("ticket_id", "delivery_status").first()
    if before is None:
        return
    replies.update(
        delivery_status=status,
        delivery_error=error[:2000] if is_failed else "",
        delivery_handled_at=None,
    )
    # The flag counts failed replies only: a change between two other states leaves it be.
    if is_failed or before["delivery_status"] == Message.DeliveryStatus.FAILED:
        ticket_delivery_refresh(ticket_ids=[before["ticket_id"]])


def _unhandled_failures() -> Exists:
    return Exists(
        Message.objects.filter(
            ticket_id=OuterRef("pk"),
            direction=Message.Direction.OUTBOUND,
            delivery_status=Message.DeliveryStatus.FAILED,
            delivery_handled_at__isnull=True,
        )
    )


def ticket_delivery_refresh(*, ticket_ids: Iterable[int]) -> None:
    """Recompute `has_failed_delivery` of the tickets (after a delivery change, merge or split)."""
    ids = [ticket_id for ticket_id in ticket_ids if ticket_id]
    if ids:
        Ticket.objects.filter(pk__in=ids).update(has_failed_delivery=_unhandled_failures())


def failed_replies(*, ticket: Ticket) -> list[Message]:
    """Return the ticket's replies whose delivery failed and that nobody handled, oldest first.

    Each carries `can_retry` (whether its connector can send it again). Reads nothing when the
    ticket's flag says there are none.
    """
    if not ticket.has_failed_delivery:
        return []
    failed = list(
        Message.objects.filter(
            ticket=ticket,
            direction=Message.Direction.OUTBOUND,
            delivery_status=Message.DeliveryStatus.FAILED,
            delivery_handled_at__isnull=True,
        )
        .select_related("author_user")
        .order_by("created_at", "id")
    )
    for message in failed:
        entry = _RETRIES.get(message.channel)
        message.can_retry = entry is not None and entry[0](message)  # type: ignore[attr-defined]
    return failed


def _failed_reply(message: Message) -> Message:
    locked: Message | None = (
        Message.objects.select_for_update()
        .filter(
            pk=message.pk,
            direction=Message.Direction.OUTBOUND,
            delivery_status=Message.DeliveryStatus.FAILED,
            delivery_handled_at__isnull=True,
        )
        .first()
    )
    if locked is None:
        raise ValidationError(NOT_FAILED)
    return locked


@transaction.atomic
def delivery_failure_handle(*, actor: Actor, message: Message) -> Message:
    """Mark a failed reply as dealt with (staff answered another way); it stays "failed"."""
    require_staff(actor=actor, shop_id=message.shop_id)
    message = _failed_reply(message)
    message.delivery_handled_at = timezone.now()
    Message.objects.filter(pk=message.pk).update(delivery_handled_at=message.delivery_handled_at)
    ticket_delivery_refresh(ticket_ids=[message.ticket_id])
    record(
        actor=actor.user,
        action=actions.MESSAGE_DELIVERY_HANDLED,
        target=message,
        changes={"ticket_id": message.ticket_id, "error": message.delivery_error},
    )
    return message


@transaction.atomic
def delivery_failure_retry(*, actor: Actor, message: Message) -> None:
    """Send a failed reply again through its connector (which audits the retry)."""
    require_staff(actor=actor, shop_id=message.shop_id)
    message = _failed_reply(message)
    entry = _RETRIES.get(message.channel)
    if entry is None or not entry[0](message):
        raise ValidationError(NO_RETRY)
    entry[1](actor=actor, message=message)


def sending_channels() -> frozenset[str]:
    """Return the channels a reply can be sent on (those with a registered sender)."""
    return frozenset(_SENDERS)
