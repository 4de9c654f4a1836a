"""Turn stored LINE webhook deliveries into customers, tickets and messages.

`webhook_store` keeps the raw body first; `webhook_process` handles each event once (the unique
`(channel, webhookEventId)` row is written in the same transaction as the message). Images are
downloaded from the content API when the event arrives: LINE deletes them after a while.
A failing event leaves the delivery failed with its error and is retried; events already done
are skipped on the retry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from madoguchi.connectors.line import client
from madoguchi.connectors.line.extensions import PostbackContext, postback_handler
from madoguchi.connectors.line.models import LineChannel, LineEvent, LineInbound, LineWebhook
from madoguchi.connectors.mail.attachments import effective_content_type
from madoguchi.conversations.models import Attachment, Channel, Message, Ticket
from madoguchi.conversations.services import InboundMessage, receive_inbound
from madoguchi.conversations.storage_quota import attachment_keep
from madoguchi.core.errors import stored_error_text
from madoguchi.core.tasks import enqueue_on_commit
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.customers.normalize import identity_digest
from madoguchi.customers.services import IdentityInput, customer_find, customer_find_or_create
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append

logger = logging.getLogger(__name__)

RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Message types whose bytes LINE keeps on its content API (when `contentProvider` is LINE).
MEDIA_TYPES = ("image", "video", "audio", "file")
# The stored file's extension follows the sniffed type, never the declared one.
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "audio/mp4": "m4a",
    "audio/mpeg": "mp3",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "text/plain": "txt",
}
# What an unsent message shows instead of its content (the raw delivery keeps what was sent,
# for the retention period of raw deliveries).
UNSENT_TEXT = "[送信取消されたメッセージ]"


def webhook_store(*, channel: LineChannel, body: bytes) -> LineWebhook:
    """Store a verified delivery and queue its processing after the commit."""
    from madoguchi.connectors.line.tasks import process_webhook_task

    row = LineWebhook.objects.create(
        shop_id=channel.shop_id, channel=channel, body=body, received_at=timezone.now()
    )
    enqueue_on_commit(process_webhook_task, row.shop_id, row.id)
    return row


def _event_time(event: dict[str, Any]) -> dt.datetime:
    timestamp = event.get("timestamp")
    if isinstance(timestamp, int | float) and timestamp > 0:
        return dt.datetime.fromtimestamp(timestamp / 1000, tz=dt.UTC)
    return timezone.now()


def _event_key(event: dict[str, Any]) -> str:
    key = event.get("webhookEventId")
    if isinstance(key, str) and key:
        return key[:128]
    canonical = json.dumps(event, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def _source(event: dict[str, Any]) -> tuple[str, str]:
    """Return (the LINE user id, where a push goes: the user, group or room)."""
    source = event.get("source")
    if not isinstance(source, dict):
        return "", ""
    user_id = str(source.get("userId", ""))[:64]
    kind = source.get("type")
    target = {"group": source.get("groupId"), "room": source.get("roomId")}.get(str(kind))
    return user_id, str(target or user_id)[:64]


@dataclass
class Prepared:
    """What an event needs from the network, fetched before its transaction."""

    display_name: str = ""
    content: client.Content | None = None


def _prepare(channel: LineChannel, event: dict[str, Any]) -> Prepared:
    prepared = Prepared()
    user_id, _ = _source(event)
    known = (
        ContactIdentity.objects.filter(
            shop_id=channel.shop_id,
            kind=ContactIdentity.Kind.LINE,
            value_digest=identity_digest(ContactIdentity.Kind.LINE, user_id),
        )
        .exclude(display_name="")
        .exists()
        if user_id
        else False
    )
    if user_id and not known and event.get("type") in ("follow", "message", "postback"):
        try:
            prepared.display_name = client.profile_display_name(channel, user_id)
        except (client.LineApiError, ValueError) as error:
            # The user id is personal data: the log names the channel only.
            logger.info("A LINE profile of channel %s not fetched: %s", channel.id, error)
    message = event.get("message")
    if event.get("type") == "message" and isinstance(message, dict):
        provider = message.get("contentProvider") or {}
        if message.get("type") in MEDIA_TYPES and provider.get("type", "line") == "line":
            max_bytes: int = settings.MADOGUCHI["ATTACHMENT_MAX_BYTES"]
            try:
                prepared.content = client.message_content(
                    channel, str(message.get("id", "")), max_bytes=max_bytes
                )
            except client.LineApiError as error:
                if error.status is None and "larger" in error.detail:
                    prepared.content = None  # too large: the text says so, nothing to retry
                else:
                    raise
    return prepared


def message_text(message: dict[str, Any], *, has_content: bool = True) -> str:
    """Render a LINE message object as the text the operator reads."""
    kind = message.get("type")
    if kind == "text":
        return str(message.get("text", ""))
    if kind == "image":
        return "[画像]" if has_content else "[画像] (取得できませんでした)"
    if kind == "sticker":
        keywords = message.get("keywords")
        label = str(message.get("text") or "")
        if not label and isinstance(keywords, list) and keywords:
            label = ", ".join(str(word) for word in keywords[:3])
        return f"[スタンプ] {label}".strip()
    if kind == "location":
        parts = [str(message.get("title") or ""), str(message.get("address") or "")]
        place = " ".join(part for part in parts if part)
        position = f"({message.get('latitude')},{message.get('longitude')})"
        return f"[位置情報] {place} {position}".replace("  ", " ")
    if kind == "video":
        return "[動画]"
    if kind == "audio":
        return "[音声]"
    if kind == "file":
        return f"[ファイル] {message.get('fileName', '')}".strip()
    return f"[未対応のメッセージ: {str(kind)[:32]}]"


def _open_ticket_id(customer: Customer | None) -> int | None:
    """The customer's latest LINE ticket that is not closed: new messages join it."""
    if customer is None:
        return None
    ticket_id: int | None = (
        Ticket.objects.filter(shop_id=customer.shop_id, customer=customer, channel=Channel.LINE)
        .exclude(status=Ticket.Status.CLOSED)
        .order_by("-last_activity_at", "-id")
        .values_list("id", flat=True)
        .first()
    )
    return ticket_id


def _save_media(message: Message, content: client.Content, message_id: str) -> None:
    """Store fetched media under the type its bytes have (HTML calling itself an image is
    recorded as text/html, which a download never labels as anything but octet-stream)."""
    declared = content.content_type.split(";", 1)[0].strip().lower()
    content_type, mismatch = effective_content_type(declared, content.data)
    if mismatch:
        logger.info("LINE media of message %s: %s", message.id, mismatch)
    extension = EXTENSIONS.get(content_type, "bin")
    attachment_keep(
        message=message,
        filename=f"line-{message_id}.{extension}",
        content_type=content_type,
        data=content.data,
    )


def _unsent(channel: LineChannel, message_id: str) -> bool:
    """Whether an `unsend` of this LINE message id came in (possibly before the message)."""
    return bool(message_id) and (
        LineEvent.objects.filter(channel=channel, unsent_message_id=message_id[:64]).exists()
    )


def _hide(message: Message) -> None:
    """Replace an unsent message's content: text, HTML, files, and a subject taken from it."""
    from madoguchi.privacy.tickets import files_delete
    from madoguchi.search.services import search_index_tickets

    ticket = message.ticket
    if ticket.subject and ticket.subject == _subject_of(message.body_text):
        Ticket.objects.filter(pk=ticket.pk).update(subject=UNSENT_TEXT)
    Message.objects.filter(pk=message.pk).update(body_text=UNSENT_TEXT, body_html="")
    attachments = Attachment.objects.filter(shop_id=message.shop_id, message=message)
    paths = [name for name in attachments.values_list("file", flat=True) if name]
    attachments.delete()
    ticket_id = ticket.pk

    def after_commit() -> None:
        files_delete(paths)
        search_index_tickets([ticket_id])

    transaction.on_commit(after_commit)


def _subject_of(body: str) -> str:
    from madoguchi.conversations.services import _subject_from_body

    return _subject_from_body(body)


def _unsend(channel: LineChannel, row: LineEvent, event: dict[str, Any]) -> str:
    """Hide the withdrawn message if it is here; remember the id for one arriving later."""
    unsend = event.get("unsend")
    message_id = str(unsend.get("messageId", ""))[:64] if isinstance(unsend, dict) else ""
    if not message_id:
        return "ignored"
    target = (
        Message.objects.filter(
            shop_id=channel.shop_id,
            channel=Channel.LINE,
            external_id=message_id,
            line_inbound__channel=channel,
        )
        .select_related("ticket")
        .first()
    )
    LineEvent.objects.filter(pk=row.pk).update(
        outcome=LineEvent.Outcome.UNSEND, unsent_message_id=message_id, message=target
    )
    if target is not None and target.body_text != UNSENT_TEXT:
        _hide(target)
    return "unsend"


def _handle(
    channel: LineChannel, webhook: LineWebhook | None, event: dict[str, Any], prepared: Prepared
) -> str:
    kind = str(event.get("type", ""))[:32]
    mode = str(event.get("mode", ""))[:16]
    key = _event_key(event)
    _, push_to = _source(event)
    at = _event_time(event)
    shop = channel.shop
    row = LineEvent.objects.create(
        shop=shop,
        channel=channel,
        webhook=webhook,
        webhook_event_id=key,
        type=kind,
        mode=mode,
        source_id=push_to,
        outcome=LineEvent.Outcome.IGNORED,
        occurred_at=at,
    )
    identities = (
        [
            IdentityInput(
                kind=ContactIdentity.Kind.LINE, value=push_to, display_name=prepared.display_name
            )
        ]
        if push_to
        else []
    )
    if kind in ("follow", "unfollow"):
        if not identities:
            return "ignored"
        customer: Customer | None
        if kind == "follow":
            customer, _ = customer_find_or_create(
                shop=shop, name=prepared.display_name, identities=identities
            )
        else:
            customer = customer_find(shop=shop, identities=identities)
        outcome = LineEvent.Outcome.FOLLOW if kind == "follow" else LineEvent.Outcome.UNFOLLOW
        LineEvent.objects.filter(pk=row.pk).update(outcome=outcome)
        event_append(
            shop=shop,
            type=f"line.{kind}ed",
            actor_kind=ActorKind.CUSTOMER,
            actor_customer=customer,
            payload={
                "line_event_id": row.id,
                "customer_id": customer.id if customer else None,
                "is_unblocked": bool((event.get("follow") or {}).get("isUnblocked", False)),
            },
            occurred_at=at,
        )
        return kind
    if kind == "unsend":
        return _unsend(channel, row, event)
    if kind == "message" and isinstance(event.get("message"), dict):
        message = event["message"]
        body = message_text(message, has_content=prepared.content is not None)
        external_id = str(message.get("id") or key)
        quote_token = str(message.get("quoteToken", ""))[:255]
    elif kind == "postback" and isinstance(event.get("postback"), dict):
        data = str(event["postback"].get("data", ""))
        handler = postback_handler(data)
        if handler is not None and identities:
            # Another app's postback (a CSAT score): no customer message, no reopened ticket.
            postback_customer = customer_find(shop=shop, identities=identities)
            if postback_customer is not None and handler(
                PostbackContext(shop=shop, customer=postback_customer, data=data, occurred_at=at)
            ):
                return "postback"
        body = f"[ポストバック] {data}"
        external_id = key
        quote_token = ""
    else:
        return "ignored"
    if not identities:
        return "ignored"
    existing = customer_find(shop=shop, identities=identities)
    result = receive_inbound(
        InboundMessage(
            shop_id=shop.id,
            channel=Channel.LINE,
            external_id=external_id[:255],
            body_text=body or "[空のメッセージ]",
            identities=identities,
            customer_name=prepared.display_name,
            received_at=at,
            ticket_id=_open_ticket_id(existing),
        )
    )
    LineEvent.objects.filter(pk=row.pk).update(
        outcome=LineEvent.Outcome.MESSAGE, message=result.message
    )
    if result.is_duplicate:
        return "duplicate"
    if _unsent(channel, external_id):
        # The unsend came first (out of order): the message is stored already hidden.
        LineEvent.objects.filter(channel=channel, unsent_message_id=external_id[:64]).update(
            message=result.message
        )
        _hide(result.message)
    elif prepared.content is not None:
        _save_media(result.message, prepared.content, external_id)
    reply_token = event.get("replyToken") if mode != "standby" else ""
    LineInbound.objects.create(
        shop=shop,
        message=result.message,
        channel=channel,
        push_to=push_to,
        reply_token=str(reply_token or "")[:255],
        quote_token=quote_token,
        received_at=timezone.now(),
    )
    return "message"


def event_process(
    channel: LineChannel, event: dict[str, Any], webhook: LineWebhook | None = None
) -> str:
    """Handle one event once; return what happened ("duplicate" for an event seen before)."""
    key = _event_key(event)
    if LineEvent.objects.filter(channel=channel, webhook_event_id=key).exists():
        return "duplicate"
    prepared = _prepare(channel, event)
    try:
        with transaction.atomic():
            return _handle(channel, webhook, event, prepared)
    except IntegrityError:
        if LineEvent.objects.filter(channel=channel, webhook_event_id=key).exists():
            return "duplicate"
        raise


def webhook_process(*, webhook_id: int) -> str:
    """Process a stored delivery; safe to run again (done events are skipped)."""
    row = LineWebhook.objects.select_related("channel", "channel__shop").get(pk=webhook_id)
    if row.status == LineWebhook.Status.PROCESSED:
        return row.status
    LineWebhook.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
    attempts = row.attempts + 1
    errors: list[str] = []
    try:
        payload = json.loads(bytes(row.body).decode("utf-8"))
        events = payload.get("events") if isinstance(payload, dict) else None
    except (UnicodeDecodeError, ValueError) as error:
        events, errors = None, [f"Unreadable body: {error}"]
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict):
            continue
        try:
            event_process(row.channel, event, row)
        except Exception as error:
            logger.warning("LINE event of webhook %s failed: %s", row.id, error)
            errors.append(stored_error_text(error)[:500])
    if not errors:
        LineWebhook.objects.filter(pk=row.pk).update(
            status=LineWebhook.Status.PROCESSED,
            processed_at=timezone.now(),
            last_error="",
            next_attempt_at=None,
        )
        return LineWebhook.Status.PROCESSED
    retry = attempts < MAX_ATTEMPTS and events is not None
    LineWebhook.objects.filter(pk=row.pk).update(
        status=LineWebhook.Status.FAILED,
        last_error="\n".join(errors)[:2000],
        next_attempt_at=timezone.now() + RETRY_DELAYS[attempts - 1] if retry else None,
    )
    return LineWebhook.Status.FAILED


def webhook_sweep(*, now: dt.datetime | None = None) -> int:
    """Re-queue deliveries whose task was lost or whose retry is due (every shop)."""
    from madoguchi.connectors.line.tasks import process_webhook_task

    now = now or timezone.now()
    stale_received = LineWebhook.objects.filter(
        status=LineWebhook.Status.RECEIVED, received_at__lt=now - dt.timedelta(minutes=5)
    )
    due_failed = LineWebhook.objects.filter(
        status=LineWebhook.Status.FAILED, next_attempt_at__lte=now
    )
    rows = list(stale_received.values_list("shop_id", "id")) + list(
        due_failed.values_list("shop_id", "id")
    )
    for shop_id, webhook_id in rows:
        process_webhook_task.enqueue(shop_id, webhook_id)
    return len(rows)
