"""The daily rollups the periodic job keeps equal a full recomputation, and the dashboard read
from them gives the figures of the facts (durations within the stated precision)."""

import datetime as dt
import random

import pytest

from madoguchi.analytics import rollups, selectors
from madoguchi.analytics.models import DailyCount, DailyDistribution
from madoguchi.analytics.services import analytics_apply_new_events, analytics_rebuild
from madoguchi.analytics.tests.history import TOKYO
from madoguchi.analytics.tests.test_rollup import _generate
from madoguchi.tenancy.scoping import shop_scope

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
