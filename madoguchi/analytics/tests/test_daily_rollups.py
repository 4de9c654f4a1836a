"""The daily rollups the periodic job keeps equal a full recomputation, and the dashboard read
from them gives the figures of the facts (durations within the stated precision)."""

import datetime as dt
import random
import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from madoguchi.analytics import rollups, selectors
from madoguchi.analytics.models import DailyCount, DailyDistribution, TicketFact
from madoguchi.analytics.services import analytics_apply_new_events, analytics_rebuild
from madoguchi.analytics.tests.history import TOKYO, event
from madoguchi.analytics.tests.test_rollup import _generate
from madoguchi.conversations.models import Ticket
from madoguchi.core.testing import factories
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, shop_scope, unscoped

PERIOD_START = dt.datetime(2026, 9, 1, tzinfo=TOKYO)


def _rows():
    counts = sorted(
        DailyCount.objects.values_list(
            "shop_id",
            "created_on",
            "channel",
            "category_id",
            "assignee_id",
            *rollups.COUNT_FIELDS,
        ),
        key=repr,
    )
    distributions = sorted(
        (shop_id, day, hours, sorted(tags.items()), sorted(durations.items()), open_tickets)
        for shop_id, day, hours, tags, durations, open_tickets in (
            DailyDistribution.objects.values_list(
                "shop_id", "day", "hours", "tags", "durations", "open_tickets"
            )
        )
    )
    return counts, distributions


def test_bins_are_exact_below_two_minutes_and_within_the_precision_above():
    assert [rollups.bin_value(rollups.bin_of(value)) for value in range(128)] == list(range(128))
    rng = random.Random(5)
    values = [rng.randrange(128, 40_000_000) for _ in range(20_000)]
    values += [round(128 * 2 ** (step / 16)) + delta for step in range(400) for delta in (-1, 0, 1)]
    previous = -1
    for value in sorted(values):
        bin_ = rollups.bin_of(value)
        assert bin_ >= previous  # the bins keep the order of the values
        previous = bin_
        assert abs(rollups.bin_value(bin_) - value) <= rollups.RELATIVE_PRECISION * value + 0.5
    assert rollups.RELATIVE_PRECISION < 0.022


@pytest.mark.parametrize("seed", [3, 2027])
def test_incremental_rollups_equal_a_rebuild(world, seed):
    shop_ids = (world.tea.id, world.ceramics.id)
    with shop_scope(shop_ids):
        _generate(world, random.Random(seed), count=80, apply_every=3)
        analytics_apply_new_events(batch_size=5)
        incremental = _rows()
        assert incremental[0] and incremental[1]
        assert sum(row[5] for row in incremental[0]) == 82  # every ticket counted once
        analytics_rebuild()
        assert _rows() == incremental
        for shop_id in shop_ids:
            rollups.rollups_rebuild_shop(shop_id=shop_id)
        assert _rows() == incremental


@pytest.mark.parametrize("seed", [11, 12])
def test_the_dashboard_from_the_rollups_equals_the_facts(world, seed, monkeypatch):
    shop_ids = (world.tea.id, world.ceramics.id)
    with shop_scope(shop_ids):
        _generate(world, random.Random(seed), count=120, apply_every=10)
        analytics_apply_new_events()
        now = PERIOD_START + dt.timedelta(days=100)
        periods = [
            selectors.Filters(shop_ids, PERIOD_START, PERIOD_START + dt.timedelta(days=days))
            for days in (14, 30, 61)
        ]
        periods += [
            selectors.Filters((world.tea.id,), PERIOD_START, PERIOD_START + dt.timedelta(days=30)),
            selectors.Filters(
                shop_ids, PERIOD_START, PERIOD_START + dt.timedelta(days=61), channel="email"
            ),
            selectors.Filters(
                shop_ids,
                PERIOD_START,
                PERIOD_START + dt.timedelta(days=61),
                assignee_id=world.operator_tea.id,
            ),
        ]
        for filters in periods:
            assert rollups.filter_days(filters) is not None
            with rollups.bypassed():
                assert rollups.filter_days(filters) is None
                exact = selectors.dashboard(filters, now=now, with_operators=True)
            # Small periods are ranked exactly from the facts: every figure is equal.
            assert selectors.dashboard(filters, now=now, with_operators=True) == exact
            # Read from the bins alone, the times are within the stated precision.
            monkeypatch.setattr(rollups, "EXACT_UP_TO", 0)
            bucketed = selectors.dashboard(filters, now=now, with_operators=True)
            monkeypatch.undo()
            assert bucketed.summary == exact.summary
            assert bucketed.by_day == exact.by_day
            assert bucketed.heatmap == exact.heatmap
            assert bucketed.by_tag == exact.by_tag
            for approximate, figure in zip(
                bucketed.durations + bucketed.previous_durations,
                exact.durations + exact.previous_durations,
                strict=True,
            ):
                assert approximate.count == figure.count
                for name in ("business_median", "business_p90", "elapsed_median", "elapsed_p90"):
                    value, expected = getattr(approximate, name), getattr(figure, name)
                    if expected is None:
                        assert value is None
                    else:
                        assert abs(value - expected) <= rollups.RELATIVE_PRECISION * expected + 1
        assert any(figure.count > 0 for figure in exact.durations)


def test_a_period_off_the_shops_midnight_is_counted_from_the_facts(world):
    filters = selectors.Filters(
        (world.tea.id,), PERIOD_START + dt.timedelta(hours=9), PERIOD_START + dt.timedelta(days=3)
    )
    with shop_scope((world.tea.id,)):
        assert rollups.filter_days(filters) is None
        with rollups.bypassed():
            assert rollups.filter_days(filters.previous()) is None


def test_a_rebuild_counts_every_ticket_once_at_every_step(world, monkeypatch):
    # A calendar save rebuilds the shop's facts while people read the dashboard: between any two
    # batches every ticket is counted once (the CI once read half of them mid-rebuild).
    from madoguchi.analytics import services

    with shop_scope((world.tea.id, world.ceramics.id)):
        _generate(world, random.Random(7), count=40, apply_every=5)
        analytics_apply_new_events()
        before = _rows()
        tickets = Ticket.objects.filter(shop=world.tea).count()
        real = services.ticket_facts_refresh
        seen = []

        def refresh_then_count(**kwargs):
            refreshed = real(**kwargs)
            counted = DailyCount.objects.filter(shop=world.tea).aggregate(sum=Sum("tickets"))
            seen.append((TicketFact.objects.filter(shop=world.tea).count(), counted["sum"]))
            return refreshed

        monkeypatch.setattr(services, "ticket_facts_refresh", refresh_then_count)
        assert services.analytics_rebuild_shop(shop_id=world.tea.id, batch_size=4) == tickets
        assert len(seen) == -(-tickets // 4)
        assert set(seen) == {(tickets, tickets)}
        assert _rows() == before


def test_a_rebuild_after_a_time_zone_change_equals_a_full_recomputation(world):
    # A reply cycle that started on 3 September in Tokyo started on the 2nd in Los Angeles:
    # the 3rd, left without a ticket or a clock, must lose its rollup row.
    september_3 = dt.date(2026, 9, 3)
    with shop_scope((world.tea.id, world.ceramics.id)):
        created = dt.datetime(2026, 9, 1, 20, tzinfo=TOKYO)
        ticket = factories.TicketFactory(shop=world.tea, created_at=created, channel="email")
        event(ticket, "ticket.created", created, channel="email", subject="", via="test")
        event(ticket, "message.received", created, message_id=0, channel="email")
        event(ticket, "message.replied", created + dt.timedelta(hours=1), message_id=0)
        asked = dt.datetime(2026, 9, 3, 1, tzinfo=TOKYO)
        event(ticket, "message.received", asked, message_id=0, channel="email")
        event(ticket, "message.replied", asked + dt.timedelta(hours=1), message_id=0)
        analytics_apply_new_events()

        def tea_days():
            return set(
                DailyDistribution.objects.filter(shop=world.tea).values_list("day", flat=True)
            )

        assert september_3 in tea_days()
        with unscoped("test: the shop moves"):
            Shop.objects.filter(pk=world.tea.pk).update(time_zone="America/Los_Angeles")
        analytics_rebuild(shop_ids=[world.tea.id])
        assert dt.date(2026, 9, 2) in tea_days()
        assert september_3 not in tea_days()
        rebuilt = _rows()
        rollups.rollups_rebuild_shop(shop_id=world.tea.id)
        assert _rows() == rebuilt


def _backend_waits_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_writers_of_a_shops_facts_take_turns(world):
    # The periodic job and a rebuild (or two workers) refresh two tickets of the same day at
    # once. Each deletes and re-inserts the day's rollups; without turns, the second one's
    # delete misses the first one's rows under read committed and the day counts double.
    from madoguchi.analytics import services

    with in_shop(world.tea.id):
        second = factories.TicketFactory(shop=world.tea, created_at=world.tea_ticket.created_at)
        services.ticket_facts_refresh(
            shop_id=world.tea.id, ticket_ids=[world.tea_ticket.id, second.id]
        )
    first_wrote, release = threading.Event(), threading.Event()
    second_pid: list[int] = []
    errors: list[BaseException] = []

    def first_writer() -> None:
        try:
            with in_shop(world.tea.id), transaction.atomic():
                services.ticket_facts_refresh(
                    shop_id=world.tea.id, ticket_ids=[world.tea_ticket.id]
                )
                first_wrote.set()
                release.wait(timeout=20)
        except BaseException as error:  # reported by the test thread below
            errors.append(error)
        finally:
            first_wrote.set()
            connection.close()

    def second_writer() -> None:
        try:
            first_wrote.wait(timeout=20)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                second_pid.append(cursor.fetchone()[0])
            with in_shop(world.tea.id):
                services.ticket_facts_refresh(shop_id=world.tea.id, ticket_ids=[second.id])
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_writer), threading.Thread(target=second_writer)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 20
        while not (second_pid and _backend_waits_for_a_lock(second_pid[0])):
            assert time.monotonic() < deadline, "the second writer never waited for the first"
            time.sleep(0.05)
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    with in_shop(world.tea.id):
        counted = DailyCount.objects.filter(shop=world.tea).aggregate(sum=Sum("tickets"))
        assert counted["sum"] == 2
        together = _rows()
        rollups.rollups_rebuild_shop(shop_id=world.tea.id)
        assert _rows() == together
