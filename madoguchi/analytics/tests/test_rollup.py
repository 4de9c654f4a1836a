"""The facts the periodic job keeps from the event log equal a full rebuild's."""

import datetime as dt
import json
import random
from io import StringIO

import pytest
from django.core.management import call_command

from madoguchi.analytics import selectors
from madoguchi.analytics.models import DurationFact, TagFact, TicketFact
from madoguchi.analytics.services import analytics_apply_new_events, cursor_name
from madoguchi.analytics.tests.history import TOKYO, event, status
from madoguchi.conversations.models import Category, Tag, Ticket
from madoguchi.core.testing import factories
from madoguchi.events.models import ConsumerCursor, Event
from madoguchi.tenancy.scoping import shop_scope

CHANNELS = ("email", "chat", "line", "web_form", "phone")
START = dt.datetime(2026, 9, 1, 9, tzinfo=TOKYO)


def _generate(world, rng: random.Random, count: int, apply_every: int) -> None:
    """Make `count` tickets over both shops with random replies, pauses, resolutions, reopens,
    reclassifications and CSAT answers; apply the new events to the facts every few tickets."""
    shops = (world.tea, world.ceramics)
    categories = {
        shop.id: [Category.objects.create(shop=shop, name=f"分類{n}") for n in range(3)]
        for shop in shops
    }
    tags = {
        shop.id: [Tag.objects.create(shop=shop, name=f"タグ{n}") for n in range(3)]
        for shop in shops
    }
    customers = {
        shop.id: [factories.CustomerFactory(shop=shop) for _ in range(6)] for shop in shops
    }
    operators = {world.tea.id: world.operator_tea, world.ceramics.id: world.operator_ceramics}
    for existing in (world.tea_ticket, world.ceramics_ticket):
        event(
            existing, "ticket.created", existing.created_at, channel="email", subject="", via="test"
        )
    for index in range(count):
        shop = shops[index % 2]
        created = START + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        ticket = factories.TicketFactory(
            shop=shop,
            created_at=created,
            channel=rng.choice(CHANNELS),
            customer=rng.choice(customers[shop.id]),
            category=rng.choice([None, *categories[shop.id]]),
            assignee=rng.choice([None, operators[shop.id]]),
        )
        ticket.tags.add(*rng.sample(tags[shop.id], rng.randrange(0, 3)))
        event(ticket, "ticket.created", created, channel=ticket.channel, subject="", via="test")
        event(ticket, "message.received", created, message_id=0, channel=ticket.channel)
        now = created
        current = "new"
        for _step in range(rng.randrange(0, 6)):
            now += dt.timedelta(minutes=rng.randrange(5, 3000))
            action = rng.choice(
                ("reply", "customer", "pending", "solve", "reopen", "category", "csat")
            )
            if action == "reply":
                event(ticket, "message.replied", now, message_id=0)
            elif action == "customer":
                event(ticket, "message.received", now, message_id=0, channel=ticket.channel)
            elif action == "pending" and current not in ("pending", "solved"):
                status(ticket, now, current, "pending")
                current = "pending"
            elif action == "solve" and current != "solved":
                status(ticket, now, current, "solved")
                current = "solved"
            elif action == "reopen" and current in ("solved", "pending"):
                status(ticket, now, current, "open")
                current = "open"
            elif action == "category":
                new = rng.choice(categories[shop.id])
                Ticket.objects.filter(pk=ticket.pk).update(category=new)
                event(ticket, "ticket.category_changed", now, old=ticket.category_id, new=new.id)
            elif action == "csat":
                event(ticket, "csat.requested", now)
                event(ticket, "csat.answered", now, score=rng.randrange(1, 6))
        Ticket.objects.filter(pk=ticket.pk).update(status=current)
        if (index + 1) % apply_every == 0:
            analytics_apply_new_events(batch_size=7)


def _snapshot(world):
    filters = selectors.Filters(
        shop_ids=(world.tea.id, world.ceramics.id),
        start=START,
        end=START + dt.timedelta(days=90),
    )
    now = START + dt.timedelta(days=100)
    facts = sorted(
        TicketFact.objects.values_list(
            "ticket_id",
            "created_on",
            "created_hour",
            "created_weekday",
            "channel",
            "category_id",
            "assignee_id",
            "customer_id",
            "is_new_customer",
            "status",
            "is_open",
            "is_resolved",
            "was_ever_resolved",
            "resolved_at",
            "reply_count",
            "reopen_count",
            "is_one_touch",
            "is_csat_requested",
            "csat_score",
        )
    )
    durations = sorted(
        DurationFact.objects.values_list(
            "fact__ticket_id",
            "metric",
            "cycle",
            "started_at",
            "completed_at",
            "business_seconds",
            "elapsed_seconds",
            "category_id",
        )
    )
    tags = sorted(TagFact.objects.values_list("fact__ticket_id", "tag_id"))
    board = selectors.dashboard(filters, now=now, with_operators=True)
    return facts, durations, tags, board


@pytest.mark.parametrize("seed", [7, 2026])
def test_incremental_facts_equal_a_rebuild(world, seed):
    rng = random.Random(seed)
    with shop_scope((world.tea.id, world.ceramics.id)):
        _generate(world, rng, count=60, apply_every=4)
        analytics_apply_new_events(batch_size=7)
        incremental = _snapshot(world)
        assert incremental[3].summary.tickets == 60  # the world's two tickets are of today
        assert len(incremental[0]) == Ticket.objects.count()
        out = StringIO()
        call_command("analytics_rebuild", stdout=out)
        assert json.loads(out.getvalue()) == {"shops": 2, "tickets": Ticket.objects.count()}
        rebuilt = _snapshot(world)
    assert rebuilt == incremental


def test_rebuild_of_one_shop_keeps_the_cursor_at_the_log_end(world):
    with shop_scope((world.tea.id, world.ceramics.id)):
        _generate(world, random.Random(1), count=6, apply_every=100)
        out = StringIO()
        call_command("analytics_rebuild", "--shop", "tea", stdout=out)
        newest = (
            Event.objects.filter(shop=world.tea).order_by("-id").values_list("id", flat=True)[0]
        )
        assert ConsumerCursor.objects.get(name=cursor_name(world.tea.id)).position == newest
        assert (
            TicketFact.objects.filter(shop=world.tea).count()
            == Ticket.objects.filter(shop=world.tea).count()
        )
        # The ceramics shop was not named: its facts still wait for the periodic job.
        assert ConsumerCursor.objects.filter(name=cursor_name(world.ceramics.id)).exists() is False


def test_customer_merge_makes_the_later_ticket_returning(world):
    with shop_scope((world.tea.id,)):
        first = factories.CustomerFactory(shop=world.tea)
        second = factories.CustomerFactory(shop=world.tea)
        early = factories.TicketFactory(shop=world.tea, customer=first, created_at=START)
        late = factories.TicketFactory(
            shop=world.tea, customer=second, created_at=START + dt.timedelta(days=1)
        )
        for ticket in (early, late):
            event(
                ticket, "ticket.created", ticket.created_at, channel="email", subject="", via="test"
            )
        analytics_apply_new_events()
        assert TicketFact.objects.get(ticket=late).is_new_customer is True
        # The merge moves the tickets and announces it with a ticketless event.
        Ticket.objects.filter(customer=second).update(customer=first)
        Event.objects.create(
            shop=world.tea,
            type="customer.merged",
            actor_kind="operator",
            occurred_at=START + dt.timedelta(days=2),
            payload={"source_id": second.id, "target_id": first.id},
        )
        analytics_apply_new_events()
        assert TicketFact.objects.get(ticket=late).is_new_customer is False
        assert TicketFact.objects.get(ticket=early).is_new_customer is True


def test_the_scheduler_applies_new_events_every_minute(world):
    from madoguchi.analytics.tasks import analytics_apply_task
    from madoguchi.core.scheduler import periodic_jobs

    job = next(job for job in periodic_jobs() if job.name == "analytics")
    assert job.interval == dt.timedelta(minutes=1)
    with shop_scope((world.tea.id, world.ceramics.id)):
        for existing in (world.tea_ticket, world.ceramics_ticket):
            event(
                existing,
                "ticket.created",
                existing.created_at,
                channel="email",
                subject="",
                via="test",
            )
    assert analytics_apply_task.call() == 2
    assert analytics_apply_task.call() == 0
    with shop_scope((world.tea.id, world.ceramics.id)):
        assert sorted(TicketFact.objects.values_list("ticket_id", flat=True)) == sorted(
            [world.tea_ticket.id, world.ceramics_ticket.id]
        )
