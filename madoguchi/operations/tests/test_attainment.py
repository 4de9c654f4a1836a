"""SLA attainment per shop, policy and metric, counted by the database on real rows."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from madoguchi.core.testing import factories
from madoguchi.operations.attainment import AttainmentRow, month_period, sla_attainment
from madoguchi.operations.models import SlaMeasureRecord, SlaPolicy
from madoguchi.tenancy.scoping import shop_scope

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 27, 12, tzinfo=TOKYO)
NOVEMBER = month_period(2026, 11)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


def measure(shop, policy, metric, started_at, *, took=None, due_in=60, breached=False, cycle=0):
    """Store one measure: `took` minutes to finish (None: still open), due `due_in` minutes on."""
    ticket = factories.TicketFactory(shop=shop)
    return SlaMeasureRecord.objects.create(
        shop=shop,
        ticket=ticket,
        policy=policy,
        metric=metric,
        cycle=cycle,
        started_at=started_at,
        due_at=started_at + dt.timedelta(minutes=due_in) if due_in is not None else None,
        completed_at=started_at + dt.timedelta(minutes=took) if took is not None else None,
        is_breached=breached,
        computed_at=started_at,
    )


@pytest.fixture
def rows(world):
    with shop_scope((world.tea.id, world.ceramics.id)):
        standard = SlaPolicy.objects.create(shop=world.tea, name="標準")
        urgent = SlaPolicy.objects.create(shop=world.tea, name="至急")
        start = at(2026, 11, 2, 10)
        # Standard first response, due in 60 min: 10 finished after 10, 20, ..., 100 minutes.
        for index in range(10):
            measure(world.tea, standard, "first_response", start, took=10 * (index + 1))
        # Open and past due (breached though the sweep has not marked it yet), open and not due.
        measure(world.tea, standard, "first_response", at(2026, 11, 27, 9), took=None)
        measure(world.tea, standard, "first_response", at(2026, 11, 27, 11, 30), took=None)
        # Marked breached by the sweep.
        measure(world.tea, standard, "resolution", start, took=None, breached=True)
        # Resolution without a due time (the policy has no target): finished, met.
        measure(world.tea, standard, "resolution", start, took=500, due_in=None)
        measure(world.tea, urgent, "first_response", start, took=5)
        # Outside November (Tokyo): 31 Oct 23:59 and 1 Dec 00:00.
        measure(world.tea, standard, "first_response", at(2026, 10, 31, 23, 59), took=1)
        measure(world.tea, standard, "first_response", at(2026, 12, 1, 0, 0), took=1)
        # The other shop's measures never count for the tea shop.
        other = SlaPolicy.objects.create(shop=world.ceramics, name="標準")
        measure(world.ceramics, other, "first_response", start, took=500)
    return standard, urgent


def test_counts_and_percentiles_per_policy_and_metric(world, rows):
    standard, urgent = rows
    with shop_scope((world.tea.id,)):
        result = sla_attainment(shop_ids=(world.tea.id,), period=NOVEMBER, now=NOW)
    minutes = dt.timedelta(minutes=1)
    assert result == [
        AttainmentRow(
            shop_id=world.tea.id,
            policy_id=standard.id,
            policy_name="標準",
            metric="first_response",
            # 10 finished (6 within 60 minutes, 4 late) + 1 open past due; 1 open, not due yet.
            measured=11,
            met=6,
            breached=5,
            pending=1,
            # Nearest rank over the 10 finished: 5th of 10 is 50 min, 9th of 10 is 90 min.
            median=50 * minutes,
            p90=90 * minutes,
        ),
        AttainmentRow(
            shop_id=world.tea.id,
            policy_id=standard.id,
            policy_name="標準",
            metric="resolution",
            measured=2,
            met=1,
            breached=1,
            pending=0,
            median=500 * minutes,
            p90=500 * minutes,
        ),
        AttainmentRow(
            shop_id=world.tea.id,
            policy_id=urgent.id,
            policy_name="至急",
            metric="first_response",
            measured=1,
            met=1,
            breached=0,
            pending=0,
            median=5 * minutes,
            p90=5 * minutes,
        ),
    ]
    assert [row.attainment for row in result] == [
        Decimal("54.5"),
        Decimal("50.0"),
        Decimal("100.0"),
    ]


def test_nearest_rank_on_odd_counts(world):
    with shop_scope((world.tea.id,)):
        policy = SlaPolicy.objects.create(shop=world.tea, name="標準")
        for took in (30, 10, 20):  # stored out of order
            measure(world.tea, policy, "next_response", at(2026, 11, 5, 9), took=took)
        (row,) = sla_attainment(shop_ids=(world.tea.id,), period=NOVEMBER, now=NOW)
    # 3 values: median is the 2nd (ceil 1.5), p90 the 3rd (ceil 2.7).
    assert (row.median, row.p90) == (dt.timedelta(minutes=20), dt.timedelta(minutes=30))
    assert (row.measured, row.met, row.breached) == (3, 3, 0)


def test_a_month_without_measures_is_empty_and_shops_stay_apart(world, rows):
    with shop_scope((world.tea.id, world.ceramics.id)):
        assert sla_attainment(shop_ids=(world.tea.id,), period=month_period(2026, 9), now=NOW) == []
        (ceramics,) = sla_attainment(shop_ids=(world.ceramics.id,), period=NOVEMBER, now=NOW)
    assert (ceramics.shop_id, ceramics.measured, ceramics.met) == (world.ceramics.id, 1, 0)


def test_a_deleted_policy_keeps_its_measures_in_their_own_row(world, rows):
    standard, _urgent = rows
    with shop_scope((world.tea.id,)):
        standard.delete()
        result = sla_attainment(shop_ids=(world.tea.id,), period=NOVEMBER, now=NOW)
    assert [(row.policy_name, row.metric, row.measured) for row in result] == [
        ("至急", "first_response", 1),
        ("", "first_response", 11),
        ("", "resolution", 2),
    ]


def test_month_period_is_tokyo_calendar_month():
    assert month_period(2026, 12) == (at(2026, 12, 1), at(2027, 1, 1))
    assert month_period(2026, 2)[1] - month_period(2026, 2)[0] == dt.timedelta(days=28)
