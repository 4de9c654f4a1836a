"""Reads of the email channel shaped for its pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from madoguchi.connectors.mail.models import AutoReplyLog, MailAddress, Mailbox, RawMail
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
    return MailAddress.objects.filter(shop=shop).order_by("address")


def mailboxes(*, actor: Actor, shop: Shop) -> QuerySet[Mailbox]:
    require_staff(actor=actor, shop_id=shop.id)
    return Mailbox.objects.filter(shop=shop).order_by("name")
