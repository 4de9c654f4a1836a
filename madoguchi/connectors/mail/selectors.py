"""Reads of the email channel shaped for its pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from django.db.models import QuerySet
from django.utils import timezone

from madoguchi.connectors.mail.models import (
    AutoReplyLog,
    MailAddress,
    Mailbox,
    OutboundMail,
    RawMail,
    SmtpServer,
)
from madoguchi.core.errors import NotFoundError
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop

ALERT_WINDOW = dt.timedelta(days=7)


@dataclass(frozen=True)
class LoopAlert:
    """A sender the loop breaker held back acknowledgements for."""

    address: str
    suppressed: int
    last_at: dt.datetime


def failed_mail(*, shop: Shop, limit: int = 200) -> QuerySet[RawMail]:
    """Return the shop's failed mail, newest first, without the raw bytes."""
    return (
        RawMail.objects.filter(shop=shop, status=RawMail.Status.FAILED)
        .defer("raw")
        .order_by("-received_at", "-id")[:limit]
    )


def unmatched_reports(*, shop: Shop, limit: int = 200) -> QuerySet[RawMail]:
    """Return the shop's bounces and other reports that name no mail of ours (the failed-delivery
    list), newest first, without the raw bytes."""
    return (
        RawMail.objects.filter(shop=shop, outcome=RawMail.Outcome.BOUNCE, ticket__isnull=True)
        .defer("raw")
        .order_by("-received_at", "-id")[:limit]
    )


def loop_alerts(*, shop: Shop) -> list[LoopAlert]:
    """Return the senders whose acknowledgements were held back in the last week."""
    since = timezone.now() - ALERT_WINDOW
    alerts: dict[str, LoopAlert] = {}
    for address, created_at in (
        AutoReplyLog.objects.filter(shop=shop, is_suppressed=True, created_at__gte=since)
        .order_by("created_at")
        .values_list("address", "created_at")
    ):
        earlier = alerts.get(address)
        alerts[address] = LoopAlert(
            address=address,
            suppressed=(earlier.suppressed if earlier else 0) + 1,
            last_at=created_at,
        )
    return sorted(alerts.values(), key=lambda alert: alert.last_at, reverse=True)


def access_raw_mail(*, actor: Actor, shop: Shop, raw_mail_id: int) -> RawMail:
    """Return the shop's stored mail for its staff; anything else looks missing."""
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Mail not found")
    found = RawMail.objects.filter(shop=shop, pk=raw_mail_id).first()
    if found is None:
        raise NotFoundError("Mail not found")
    return found


def mail_addresses(*, shop: Shop) -> QuerySet[MailAddress]:
    """Return the shop's addresses with the mailbox and outgoing server each names."""
    return (
        MailAddress.objects.filter(shop=shop)
        .select_related("mailbox", "outbound_server")
        .order_by("address")
    )


def mailboxes(*, actor: Actor, shop: Shop) -> QuerySet[Mailbox]:
    require_staff(actor=actor, shop_id=shop.id)
    return Mailbox.objects.filter(shop=shop).order_by("name")


def smtp_servers(*, actor: Actor, shop: Shop) -> QuerySet[SmtpServer]:
    require_staff(actor=actor, shop_id=shop.id)
    return SmtpServer.objects.filter(shop=shop).order_by("name")


def access_mail_address(*, actor: Actor, shop: Shop, address_id: int) -> MailAddress:
    """Return the shop's address for its staff; anything else looks missing."""
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Address not found")
    found = MailAddress.objects.filter(shop=shop, pk=address_id).first()
    if found is None:
        raise NotFoundError("Address not found")
    return found


def access_mailbox(*, actor: Actor, shop: Shop, mailbox_id: int) -> Mailbox:
    """Return the shop's mailbox for its staff; anything else looks missing."""
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Mailbox not found")
    found = Mailbox.objects.filter(shop=shop, pk=mailbox_id).first()
    if found is None:
        raise NotFoundError("Mailbox not found")
    return found


def access_smtp_server(*, actor: Actor, shop: Shop, server_id: int) -> SmtpServer:
    """Return the shop's outgoing server for its staff; anything else looks missing."""
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Server not found")
    found = SmtpServer.objects.filter(shop=shop, pk=server_id).first()
    if found is None:
        raise NotFoundError("Server not found")
    return found


def addresses_using(
    *, shop: Shop, mailbox: Mailbox | None = None, server: SmtpServer | None = None
) -> list[str]:
    """Return the addresses that name the mailbox (or the outgoing server)."""
    found = MailAddress.objects.filter(shop=shop)
    if mailbox is not None:
        found = found.filter(mailbox=mailbox)
    if server is not None:
        found = found.filter(outbound_server=server)
    return list(found.order_by("address").values_list("address", flat=True))


# Outbox -----------------------------------------------------------------------------------------

OUTBOX_LIMIT = 200


def outbox(*, actor: Actor, shop: Shop, status: str = "") -> QuerySet[OutboundMail]:
    """Return the shop's outgoing mail, newest first (up to 200), without the bytes."""
    require_staff(actor=actor, shop_id=shop.id)
    rows = OutboundMail.objects.filter(shop=shop)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("ticket").defer("raw").order_by("-created_at", "-id")[:OUTBOX_LIMIT]


def failed_send_count(*, actor: Actor, shop_id: int) -> int:
    """Return how many of the shop's outgoing mails failed (0 for anyone but its staff)."""
    if not actor.is_staff_for(shop_id):
        return 0
    return OutboundMail.objects.filter(shop_id=shop_id, status=OutboundMail.Status.FAILED).count()


def access_outbound_mail(*, actor: Actor, shop: Shop, outbound_id: int) -> OutboundMail:
    """Return the shop's outgoing mail for its staff; anything else looks missing."""
    if not actor.is_staff_for(shop.id):
        raise NotFoundError("Mail not found")
    found = OutboundMail.objects.filter(shop=shop, pk=outbound_id).select_related("ticket").first()
    if found is None:
        raise NotFoundError("Mail not found")
    return found


@dataclass(frozen=True)
class SentMail:
    """A stored outgoing mail shown as text: decoded headers and the plain-text part."""

    headers: list[tuple[str, str]]
    text: str


def sent_mail(outbound: OutboundMail) -> SentMail:
    """Decode the stored bytes for reading (the page escapes them; nothing is rendered)."""
    parsed = message_from_bytes(bytes(outbound.raw), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    headers = [(name, str(value)) for name, value in parsed.items()]
    body = parsed.get_body(preferencelist=("plain",))
    text = ""
    if isinstance(body, EmailMessage):
        try:
            text = str(body.get_content())
        except (LookupError, ValueError):  # an unknown charset: show what the bytes say
            payload = body.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return SentMail(headers=headers, text=text.replace("\r\n", "\n"))


def machine_mail_ticket_ids(*, ticket_ids: list[int]) -> set[int]:
    """Return the tickets among `ticket_ids` whose latest mail was machine-written: an
    auto-reply or a bounce report (automated mail is never to be answered, CSAT skips them)."""
    latest: dict[int, str] = {}
    rows = (
        RawMail.objects.filter(ticket_id__in=ticket_ids)
        .order_by("ticket_id", "-received_at", "-id")
        .values_list("ticket_id", "status")
    )
    for ticket_id, status in rows:
        latest.setdefault(ticket_id, status)
    return {ticket_id for ticket_id, status in latest.items() if status == RawMail.Status.AUTOMATED}
