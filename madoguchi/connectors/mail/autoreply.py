"""The acknowledgement for new tickets, and the loop breaker that keeps it from ever storming.

Never answered (reference/security.md §2.1, RFC 3834): automated mail (as `automation.py`
recognises it: `Auto-Submitted` other than `no`, `Precedence`, `X-Auto-Response-Suppress`, list
headers, a null return path), bounces, our own addresses and noreply-style senders. At most
`MAIL_ACK_LIMIT_PER_HOUR` per sender per shop and hour; past it nothing is sent and the operator
sees a `mail.loop_detected` alert.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence

from django.conf import settings
from django.utils import timezone

from madoguchi.connectors.mail.models import AutoReplyLog, MailAddress, MailSettings, OutboundMail
from madoguchi.connectors.mail.sending import (
    clean_header,
    compose,
    is_plain_address,
    make_message_id,
    outbound_enqueue,
    sender_address,
)
from madoguchi.conversations.models import Ticket
from madoguchi.customers.normalize import normalize_email
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import unscoped

LOOP_WINDOW = dt.timedelta(hours=1)

DEFAULT_ACK_SUBJECT = "【{shop_name}】お問い合わせを受け付けました [{ticket_reference}]"
DEFAULT_ACK_BODY = """{customer_name} 様

このたびは{shop_name}へお問い合わせいただき、ありがとうございます。
以下の内容でお問い合わせを受け付けました。

受付番号: {ticket_reference}
件名: {subject}

内容を確認のうえ、担当者より順次ご連絡いたします。
このメールにご返信いただく場合は、件名の受付番号を消さずにお送りください。

※このメールは送信専用の自動応答です。
{shop_name}
"""

_NOREPLY = re.compile(
    r"^(?:mailer-daemon|postmaster|abuse|root|bounces?|no[-_.]?reply|do[-_.]?not[-_.]?reply)"
    r"(?:[-+._].*)?@",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"\{(customer_name|shop_name|ticket_reference|subject)\}")


def is_noreply_address(address: str) -> bool:
    return bool(_NOREPLY.match(address))


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill the allowlisted placeholders; anything else in the template stays literal text."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def mail_settings_for(shop: Shop) -> MailSettings:
    found = MailSettings.objects.filter(shop=shop).first()
    return found if found is not None else MailSettings(shop=shop)


def ack_refusal(*, sender: str, is_automated: bool, is_bounce: bool) -> str:
    """Return why no acknowledgement may go to this mail, or "" when one may.

    `is_automated` is the parser's verdict (`automation.is_auto_submitted`: RFC 3834 headers,
    Precedence, X-Auto-Response-Suppress, list headers, a null Return-Path).
    """
    if is_bounce:
        return "bounce"
    if is_automated:
        return "automated"
    if not sender or not is_plain_address(sender):
        return "no usable sender"
    if is_noreply_address(sender):
        return "noreply address"
    address = normalize_email(sender)
    with unscoped("recognise the addresses of every shop as our own"):
        is_ours = MailAddress.objects.filter(address=address).exists()
    if is_ours or address == normalize_email(settings.DEFAULT_FROM_EMAIL):
        return "our own address"
    return ""


def _loop_breaker_trips(*, shop: Shop, address: str, ticket: Ticket, now: dt.datetime) -> bool:
    limit: int = settings.MADOGUCHI["MAIL_ACK_LIMIT_PER_HOUR"]
    since = now - LOOP_WINDOW
    recent = AutoReplyLog.objects.filter(shop=shop, address=address, created_at__gte=since)
    sent = recent.filter(is_suppressed=False).count()
    if sent < limit:
        return False
    was_alerted = recent.filter(is_suppressed=True).exists()
    AutoReplyLog.objects.create(
        shop=shop, address=address, ticket=ticket, is_suppressed=True, created_at=now
    )
    if not was_alerted:
        event_append(
            shop=shop,
            ticket=ticket,
            type="mail.loop_detected",
            actor_kind=ActorKind.SYSTEM,
            payload={"address": address, "count": sent, "window_minutes": 60},
            occurred_at=now,
        )
    return True


def ack_send(
    *,
    ticket: Ticket,
    sender: str,
    customer_name: str,
    is_automated: bool,
    is_bounce: bool,
    in_reply_to: str,
    references: Sequence[str],
    mail_settings: MailSettings | None = None,
) -> OutboundMail | None:
    """Queue the acknowledgement for a new ticket, unless a rule above forbids it.

    Runs inside the transaction that stored the ticket, so it happens once per ticket.
    """
    shop = ticket.shop
    mail_settings = mail_settings or mail_settings_for(shop)
    if not mail_settings.is_ack_enabled:
        return None
    if ack_refusal(sender=sender, is_automated=is_automated, is_bounce=is_bounce):
        return None
    from_address = sender_address(shop)
    if from_address is None:
        return None
    address = normalize_email(sender)
    now = timezone.now()
    if _loop_breaker_trips(shop=shop, address=address, ticket=ticket, now=now):
        return None
    values = {
        "customer_name": clean_header(customer_name) or address,
        "shop_name": shop.name,
        "ticket_reference": ticket.reference,
        "subject": clean_header(ticket.subject),
    }
    subject = render(mail_settings.ack_subject or DEFAULT_ACK_SUBJECT, values)
    if ticket.reference not in subject:
        subject = f"{subject} [{ticket.reference}]"
    message_id = make_message_id()
    chain = [*references, in_reply_to] if in_reply_to else list(references)
    raw = compose(
        sender=from_address,
        to_address=address,
        subject=subject,
        body_text=render(mail_settings.ack_body or DEFAULT_ACK_BODY, values),
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=chain,
        is_automatic=True,
    )
    outbound = OutboundMail.objects.create(
        shop=shop,
        ticket=ticket,
        kind=OutboundMail.Kind.ACKNOWLEDGEMENT,
        internet_message_id=message_id,
        from_address=from_address.address,
        to_address=address,
        subject=clean_header(subject),
        raw=raw,
        status=OutboundMail.Status.QUEUED,
        next_attempt_at=now,
        created_at=now,
    )
    AutoReplyLog.objects.create(shop=shop, address=address, ticket=ticket, created_at=now)
    event_append(
        shop=shop,
        ticket=ticket,
        type="mail.acknowledged",
        actor_kind=ActorKind.SYSTEM,
        payload={"outbound_mail_id": outbound.id, "to": address},
        occurred_at=now,
    )
    outbound_enqueue(outbound)
    return outbound
