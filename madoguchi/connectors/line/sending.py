"""Send operators' replies to LINE, through the outbox.

`reply_queue` (registered for channel "line") writes a `LineOutbound` row in the reply's
transaction; a task sends it after the commit. The reply token of the customer's last message
is used when it is still valid (less than a minute old, never used): reply messages are free.
Otherwise the message goes by push with the row's `X-Line-Retry-Key`, reused on every retry so
LINE delivers it at most once. Errors (4xx, 5xx, 429 quota) are kept on the row and the
message's delivery status becomes "failed".
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.connectors.line import client
from madoguchi.connectors.line.extensions import quick_reply_items
from madoguchi.connectors.line.models import LineChannel, LineInbound, LineOutbound
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.outbound import delivery_status_set
from madoguchi.core.tasks import enqueue_on_commit
from madoguchi.core.workers import current_worker_id
from madoguchi.customers.models import ContactIdentity

logger = logging.getLogger(__name__)

REPLY_TOKEN_LIFETIME = dt.timedelta(seconds=60)
RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
SENDING_TIMEOUT = dt.timedelta(minutes=15)
MAX_TEXT_CHARS = 5000  # LINE's limit for one text message
# Why a reply failed, as the ticket shows it (LINE's own answer stays on the outbox row).
CHANNEL_REMOVED = gettext_noop("The LINE channel was removed.")
QUOTA_USED_UP = gettext_noop("LINE refused the message: the monthly message quota is used up.")
UNREACHABLE = gettext_noop("LINE could not be reached.")
REFUSED = gettext_noop("LINE refused the message.")


def _fail(message: Message, ticket: Ticket, error: str) -> LineOutbound:
    outbound = LineOutbound.objects.create(
        shop_id=message.shop_id,
        ticket=ticket,
        message=message,
        status=LineOutbound.Status.FAILED,
        last_error=error,
        created_at=timezone.now(),
    )
    delivery_status_set(message_id=message.id, status=Message.DeliveryStatus.FAILED, error=error)
    return outbound


def reply_queue(message: Message) -> LineOutbound:
    """Queue an operator's reply (called by `message_reply` inside its transaction)."""
    ticket = Ticket.objects.get(pk=message.ticket_id)
    inbound = (
        LineInbound.objects.filter(shop_id=ticket.shop_id, message__ticket=ticket)
        .select_related("channel")
        .order_by("-received_at", "-id")
        .first()
    )
    channel: LineChannel | None
    if inbound is not None:
        channel, push_to = inbound.channel, inbound.push_to
    else:
        channel = LineChannel.objects.filter(shop_id=ticket.shop_id, is_active=True).first()
        identity = (
            ContactIdentity.objects.filter(
                shop_id=ticket.shop_id,
                customer_id=ticket.customer_id,
                kind=ContactIdentity.Kind.LINE,
            )
            .order_by("id")
            .first()
        )
        push_to = identity.value if identity else ""
    if channel is None or not channel.is_active:
        return _fail(message, ticket, gettext_noop("The shop has no active LINE channel."))
    if not push_to:
        return _fail(message, ticket, gettext_noop("The customer has no LINE user id."))
    now = timezone.now()
    outbound = LineOutbound.objects.create(
        shop_id=ticket.shop_id,
        ticket=ticket,
        message=message,
        channel=channel,
        inbound=inbound,
        push_to=push_to,
        next_attempt_at=now,
        created_at=now,
    )
    delivery_status_set(message_id=message.id, status=Message.DeliveryStatus.QUEUED)
    outbound_enqueue(outbound)
    return outbound


def outbound_enqueue(outbound: LineOutbound) -> None:
    from madoguchi.connectors.line.tasks import send_line_task

    enqueue_on_commit(send_line_task, outbound.shop_id, outbound.id)


def _claim_reply_token(inbound: LineInbound | None, now: dt.datetime) -> str:
    """Take the reply token if it is still valid; a conditional UPDATE makes it single-use."""
    if inbound is None or not inbound.reply_token:
        return ""
    if now - inbound.received_at >= REPLY_TOKEN_LIFETIME:
        return ""
    claimed = LineInbound.objects.filter(
        pk=inbound.pk,
        reply_token_used_at__isnull=True,
        received_at__gt=now - REPLY_TOKEN_LIFETIME,
    ).update(reply_token_used_at=now)
    return inbound.reply_token if claimed else ""


def _messages(outbound: LineOutbound, body: str) -> list[dict[str, Any]]:
    text: dict[str, Any] = {"type": "text", "text": body[:MAX_TEXT_CHARS]}
    # Buttons another app gives its message (a CSAT survey's 1-5), see `extensions`.
    items = quick_reply_items(outbound.message)
    if items:
        text["quickReply"] = {"items": items}
    return [text]


def outbound_send(*, outbound_id: int, now: dt.datetime | None = None) -> str:
    """Send one queued reply if it is due; return the row's status afterwards.

    Safe to call twice: only the caller whose UPDATE claims the queued row sends.
    """
    now = now or timezone.now()
    claimed = (
        LineOutbound.objects.filter(pk=outbound_id, status=LineOutbound.Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=LineOutbound.Status.SENDING,
            sending_started_at=now,
            claimed_by=current_worker_id(),
            attempts=F("attempts") + 1,
        )
    )
    outbound = LineOutbound.objects.select_related("channel", "inbound", "message").get(
        pk=outbound_id
    )
    if not claimed:
        return outbound.status
    channel = outbound.channel
    if channel is None:
        return _finish_failed(outbound, None, CHANNEL_REMOVED, retry=False, reason=CHANNEL_REMOVED)
    messages = _messages(outbound, outbound.message.body_text)
    method = LineOutbound.Method.PUSH
    try:
        reply_token = _claim_reply_token(outbound.inbound, now)
        if reply_token:
            try:
                client.reply(channel, reply_token=reply_token, messages=messages)
                method = LineOutbound.Method.REPLY
            except client.LineApiError as error:
                if error.status != 400:
                    raise
                # The token was refused (expired or used): the message still goes, by push.
                logger.info("LINE reply token refused for %s: %s", outbound.id, error)
        if method == LineOutbound.Method.PUSH:
            client.push(
                channel, to=outbound.push_to, messages=messages, retry_key=str(outbound.retry_key)
            )
    except client.LineApiError as error:
        retry = error.is_retryable and outbound.attempts < MAX_ATTEMPTS
        return _finish_failed(
            outbound, error.status, _describe(error), retry=retry, reason=_reason(error)
        )
    LineOutbound.objects.filter(pk=outbound.pk).update(
        status=LineOutbound.Status.SENT,
        method=method,
        sent_at=timezone.now(),
        http_status=200,
        last_error="",
        next_attempt_at=None,
    )
    delivery_status_set(message_id=outbound.message_id, status=Message.DeliveryStatus.SENT)
    return LineOutbound.Status.SENT


def _describe(error: client.LineApiError) -> str:
    if error.is_quota_exhausted:
        return f"LINE refused the push: the monthly message quota is used up (429 {error.detail})"
    if error.status == 429:
        return f"LINE rate limit reached (429 {error.detail})"
    if error.status is None:
        return f"LINE could not be reached ({error.detail})"
    return f"LINE answered {error.status}: {error.detail}"


def _reason(error: client.LineApiError) -> str:
    if error.is_quota_exhausted:
        return QUOTA_USED_UP
    return UNREACHABLE if error.status is None else REFUSED


def _finish_failed(
    outbound: LineOutbound, status: int | None, error: str, *, retry: bool, reason: str
) -> str:
    next_attempt_at = None
    if retry:
        next_attempt_at = timezone.now() + RETRY_DELAYS[max(outbound.attempts - 1, 0)]
    new_status = LineOutbound.Status.QUEUED if retry else LineOutbound.Status.FAILED
    LineOutbound.objects.filter(pk=outbound.pk).update(
        status=new_status,
        next_attempt_at=next_attempt_at,
        http_status=status,
        last_error=error[:2000],
        sending_started_at=None,
    )
    if not retry:
        delivery_status_set(
            message_id=outbound.message_id, status=Message.DeliveryStatus.FAILED, error=reason
        )
    return new_status


def outbound_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Re-queue due rows; a row left in "sending" by a dead worker is retried with the same
    retry key (LINE drops the repeat of an accepted push)."""
    from madoguchi.connectors.line.tasks import send_line_task

    now = now or timezone.now()
    stale = LineOutbound.objects.filter(
        status=LineOutbound.Status.SENDING, sending_started_at__lt=now - SENDING_TIMEOUT
    ).update(
        status=LineOutbound.Status.QUEUED, next_attempt_at=now, method=LineOutbound.Method.PUSH
    )
    due = list(
        LineOutbound.objects.filter(
            status=LineOutbound.Status.QUEUED, next_attempt_at__lte=now
        ).values_list("shop_id", "id")
    )
    for shop_id, outbound_id in due:
        send_line_task.enqueue(shop_id, outbound_id)
    return {"stale": stale, "requeued": len(due)}
