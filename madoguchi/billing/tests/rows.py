"""Rows the billing tests share: a shop's events as the conversation services write them."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from madoguchi.conversations.models import Ticket
from madoguchi.core.testing import factories
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import unscoped

TOKYO = ZoneInfo("Asia/Tokyo")


def jst(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TOKYO)


def ticket(shop: Shop, channel: str, opened: dt.datetime) -> Ticket:
    with unscoped("test rows"):
        row: Ticket = factories.TicketFactory(shop=shop, channel=channel, created_at=opened)
        event_append(
            shop=shop,
            ticket=row,
            type="ticket.created",
            actor_kind=ActorKind.CUSTOMER,
            payload={"channel": channel, "subject": row.subject, "via": "inbound"},
            occurred_at=opened,
        )
    return row


def event(row: Ticket, type: str, at: dt.datetime, **payload: Any) -> None:
    with unscoped("test rows"):
        event_append(
            shop=row.shop,
            ticket=row,
            type=type,
            actor_kind=ActorKind.CUSTOMER if type == "message.received" else ActorKind.OPERATOR,
            payload=payload,
            occurred_at=at,
        )


def replied(row: Ticket, at: dt.datetime) -> None:
    event(row, "message.replied", at, message_id=0)


def received(row: Ticket, at: dt.datetime) -> None:
    event(row, "message.received", at, message_id=0, channel=row.channel)


def contacts(shop: Shop, count: int, *, channel: str = "email", at: dt.datetime) -> None:
    """`count` tickets answered once at `at`."""
    for _ in range(count):
        replied(ticket(shop, channel, at), at)
