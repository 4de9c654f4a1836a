"""A small hand-made history in the tea shop (default calendar: weekdays 10-12 and 13-18 with a
lunch break, national holidays observed) for November 2026, when 3 November (文化の日) is a
holiday. Every figure of the dashboard over it is worked out by hand in test_metrics.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from madoguchi.accounts.models import User
from madoguchi.conversations.models import Category, Tag, Ticket
from madoguchi.core.testing import factories
from madoguchi.customers.models import Customer
from madoguchi.events.models import ActorKind, Event
from madoguchi.tenancy.models import Shop

TOKYO = ZoneInfo("Asia/Tokyo")


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


def event(ticket: Ticket, type: str, when: dt.datetime, **payload: Any) -> Event:
    """Append an event as the services would (directly, so CSAT types need no registry)."""
    kind = (
        ActorKind.CUSTOMER if type in ("message.received", "csat.answered") else ActorKind.OPERATOR
    )
    return Event.objects.create(
        shop=ticket.shop,
        ticket=ticket,
        type=type,
        actor_kind=kind,
        occurred_at=when,
        payload=payload,
    )


def status(ticket: Ticket, when: dt.datetime, old: str, new: str) -> None:
    event(ticket, "ticket.status_changed", when, old=old, new=new)


@dataclass
class History:
    t1: Ticket
    t2: Ticket
    t3: Ticket
    t4: Ticket
    t6: Ticket
    other_shop: Ticket


def ticket(
    shop: Shop,
    *,
    created: dt.datetime,
    channel: str,
    customer: Customer,
    status_now: str,
    category: Category | None = None,
    tags: tuple[Tag, ...] = (),
    assignee: User | None = None,
) -> Ticket:
    made = factories.TicketFactory(
        shop=shop,
        created_at=created,
        channel=channel,
        customer=customer,
        status=status_now,
        category=category,
        assignee=assignee,
    )
    made.tags.add(*tags)
    event(made, "ticket.created", created, channel=channel, subject=made.subject, via="test")
    event(made, "message.received", created, message_id=0, channel=channel)
    return made


def build(*, tea: Shop, ceramics: Shop, operator: User) -> History:
    shipping = Category.objects.create(shop=tea, name="配送")
    returns = Category.objects.create(shop=tea, name="返品")
    late = Tag.objects.create(shop=tea, name="遅延")
    broken = Tag.objects.create(shop=tea, name="破損")
    customer_a = factories.CustomerFactory(shop=tea)
    customer_b = factories.CustomerFactory(shop=tea)
    customer_c = factories.CustomerFactory(shop=tea)

    # T1: Monday 2 Nov 11:30, answered after lunch, solved the same afternoon, CSAT 5.
    t1 = ticket(
        tea,
        created=at(11, 2, 11, 30),
        channel="email",
        customer=customer_a,
        status_now="solved",
        category=shipping,
        tags=(late,),
        assignee=operator,
    )
    event(t1, "message.replied", at(11, 2, 13, 30), message_id=0)
    status(t1, at(11, 2, 15), "new", "solved")
    event(t1, "csat.requested", at(11, 2, 16))
    event(t1, "csat.answered", at(11, 2, 17), score=5)

    # T2: Monday 17:30, answered on Wednesday (Tuesday is a holiday), then pending on the
    # customer until Thursday 11:00, answered again and solved; CSAT 3, changed to 4.
    t2 = ticket(
        tea,
        created=at(11, 2, 17, 30),
        channel="chat",
        customer=customer_b,
        status_now="solved",
        category=shipping,
        assignee=operator,
    )
    event(t2, "message.replied", at(11, 4, 10, 30), message_id=0)
    status(t2, at(11, 4, 10, 30), "new", "pending")
    event(t2, "message.received", at(11, 5, 11), message_id=0, channel="chat")
    status(t2, at(11, 5, 11), "pending", "open")
    event(t2, "message.replied", at(11, 5, 11, 45), message_id=0)
    status(t2, at(11, 5, 14), "open", "solved")
    event(t2, "csat.requested", at(11, 5, 15))
    event(t2, "csat.answered", at(11, 5, 16), score=3)
    event(t2, "csat.answered", at(11, 6, 9), score=4)

    # T3: Thursday 10:00 by customer A again (returning), solved, reopened on Friday, solved.
    t3 = ticket(
        tea,
        created=at(11, 5, 10),
        channel="web_form",
        customer=customer_a,
        status_now="solved",
        category=returns,
        tags=(late, broken),
    )
    event(t3, "message.replied", at(11, 5, 10, 10), message_id=0)
    status(t3, at(11, 5, 10, 20), "new", "solved")
    event(t3, "csat.requested", at(11, 5, 11))
    event(t3, "message.received", at(11, 6, 10), message_id=0, channel="web_form")
    status(t3, at(11, 6, 10), "solved", "open")
    event(t3, "message.replied", at(11, 6, 10, 30), message_id=0)
    status(t3, at(11, 6, 10, 40), "open", "solved")

    # T4: Friday 17:00 by phone, answered at 17:10 and pending on the customer ever since.
    t4 = ticket(
        tea, created=at(11, 6, 17), channel="phone", customer=customer_c, status_now="pending"
    )
    event(t4, "message.replied", at(11, 6, 17, 10), message_id=0)
    status(t4, at(11, 6, 17, 10), "new", "pending")

    # T6: the previous period (October), never answered.
    t6 = ticket(
        tea,
        created=at(10, 15, 10),
        channel="email",
        customer=factories.CustomerFactory(shop=tea),
        status_now="new",
    )

    # Another shop's ticket in the same days: never in the tea shop's figures.
    other = ticket(
        ceramics,
        created=at(11, 2, 11),
        channel="email",
        customer=factories.CustomerFactory(shop=ceramics),
        status_now="solved",
    )
    event(other, "message.replied", at(11, 2, 11, 5), message_id=0)
    status(other, at(11, 2, 11, 6), "new", "solved")
    return History(t1=t1, t2=t2, t3=t3, t4=t4, t6=t6, other_shop=other)
