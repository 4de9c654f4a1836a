"""Every dashboard figure over the hand-made history (history.py), checked number by number."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from madoguchi.analytics import selectors
from madoguchi.analytics.selectors import CountRow, DurationFigure, Filters
from madoguchi.analytics.services import analytics_apply_new_events
from madoguchi.analytics.tests.history import TOKYO, at, build
from madoguchi.operations.models import SlaPolicy
from madoguchi.operations.services import sla_refresh
from madoguchi.tenancy.scoping import shop_scope

NOW = at(11, 30, 12)
MINUTE = 60


@pytest.fixture
def history(world):
    with shop_scope((world.tea.id, world.ceramics.id)):
        made = build(tea=world.tea, ceramics=world.ceramics, operator=world.operator_tea)
        SlaPolicy.objects.create(
            shop=world.tea,
            name="標準",
            first_response_minutes=60,
            next_response_minutes=60,
            resolution_minutes=240,
        )
        for ticket in (made.t1, made.t2, made.t3, made.t4):
            sla_refresh(ticket_id=ticket.id, now=NOW)
    analytics_apply_new_events()
    return made


@pytest.fixture
def november(world):
    return Filters(
        shop_ids=(world.tea.id,),
        start=dt.datetime(2026, 11, 1, tzinfo=TOKYO),
        end=dt.datetime(2026, 12, 1, tzinfo=TOKYO),
    )


@pytest.fixture
def scoped(world):
    with shop_scope((world.tea.id, world.ceramics.id)):
        yield


def test_summary(history, november, scoped):
    summary = selectors.summary(november)
    assert summary == selectors.Summary(
        tickets=4,
        new_customers=3,
        returning_customers=1,
        resolved=3,
        ever_resolved=3,
        reopened=1,
        one_touch=1,
        csat_requested=3,
        csat_answered=2,
        csat_total=9,
    )
    assert summary.reopen_rate == Decimal("33.3")
    assert summary.one_touch_rate == Decimal("33.3")
    assert summary.csat_average == Decimal("4.50")
    assert summary.csat_response_rate == Decimal("66.7")


def test_previous_period_is_october(history, november, scoped):
    previous = selectors.summary(november.previous())
    assert (previous.tickets, previous.new_customers, previous.resolved) == (1, 1, 0)
    assert previous.reopen_rate is None
    assert previous.csat_average is None


def test_durations_in_business_and_elapsed_time(history, november, scoped):
    # First response: T1 60 min (lunch break), T2 60 min (holiday), T3 10, T4 10 minutes of
    # business time; elapsed 120 min, 41 h, 10 and 10 minutes.
    # Next response: T2 45 min (after the pending pause), T3 30 min (after reopening).
    # Resolution: T1 150 min, T2 180 min (pending Wednesday 10:30 to Thursday 11:00 left out),
    # T3 460 min; elapsed 210 min, 68.5 h and 24 h 40 min.
    assert selectors.durations(november) == [
        DurationFigure(
            metric="first_response",
            count=4,
            business_median=10 * MINUTE,
            business_p90=60 * MINUTE,
            elapsed_median=10 * MINUTE,
            elapsed_p90=2460 * MINUTE,
        ),
        DurationFigure(
            metric="next_response",
            count=2,
            business_median=30 * MINUTE,
            business_p90=45 * MINUTE,
            elapsed_median=30 * MINUTE,
            elapsed_p90=45 * MINUTE,
        ),
        DurationFigure(
            metric="resolution",
            count=3,
            business_median=180 * MINUTE,
            business_p90=460 * MINUTE,
            elapsed_median=1480 * MINUTE,
            elapsed_p90=4110 * MINUTE,
        ),
    ]


def test_volume_breakdowns(history, november, scoped, world):
    assert [(row.key, row.count) for row in selectors.by_channel(november)] == [
        ("chat", 1),
        ("email", 1),
        ("phone", 1),
        ("web_form", 1),
    ]
    with translation.override("ja"):
        categories = selectors.by_category(november)
    assert [(row.label, row.count) for row in categories] == [
        ("配送", 2),
        ("返品", 1),
        ("（カテゴリなし）", 1),
    ]
    assert [(row.label, row.count) for row in selectors.by_tag(november)] == [
        ("遅延", 2),
        ("破損", 1),
    ]
    operators = selectors.by_operator(november)
    assert [(row.key, row.count) for row in operators] == [
        (str(world.operator_tea.id), 2),
        ("", 2),
    ]


def test_days_and_heatmap(history, november, scoped):
    days = selectors.by_day(november)
    assert len(days) == 30
    assert [(row.key, row.count) for row in days if row.count] == [
        ("2026-11-02", 2),
        ("2026-11-05", 1),
        ("2026-11-06", 1),
    ]
    grid = selectors.heatmap(november)
    cells = {
        (weekday, hour): count
        for weekday, row in enumerate(grid)
        for hour, count in enumerate(row)
        if count
    }
    assert cells == {(0, 11): 1, (0, 17): 1, (3, 10): 1, (4, 17): 1}


def test_backlog_by_age_now(history, november, scoped):
    with translation.override("ja"):
        backlog = selectors.backlog(november, NOW)
    assert backlog == [
        CountRow("day", "1日未満", 0),
        CountRow("days3", "1〜3日", 0),
        CountRow("week", "3〜7日", 0),
        CountRow("month", "7〜30日", 1),
        CountRow("older", "30日超", 1),
    ]


def test_sla_attainment(history, november, scoped):
    figures = [
        (row.metric, row.measured, row.met, row.attainment)
        for row in selectors.attainment(november, NOW)
    ]
    assert figures == [
        ("first_response", 4, 4, Decimal("100.0")),
        ("next_response", 2, 2, Decimal("100.0")),
        ("resolution", 3, 2, Decimal("66.7")),
    ]


def test_filters_narrow_every_figure(history, november, scoped, world):
    chat = selectors.Filters(**{**november.__dict__, "channel": "chat"})
    assert selectors.summary(chat).tickets == 1
    assert [figure.count for figure in selectors.durations(chat)] == [1, 1, 1]
    by_operator = selectors.Filters(**{**november.__dict__, "assignee_id": world.operator_tea.id})
    assert selectors.summary(by_operator).tickets == 2
    assert selectors.summary(by_operator).one_touch == 1


def test_drilldowns_list_the_tickets_behind_figures(history, november, scoped):
    def numbers(figure):
        rows, total = selectors.drilldown_tickets(
            november, figure=figure, now=NOW, with_operators=True
        )
        return [row.number for row in rows], total

    made = history
    assert numbers("reopened") == ([made.t3.number], 1)
    assert numbers("one_touch") == ([made.t1.number], 1)
    assert numbers("returning_customer") == ([made.t3.number], 1)
    assert numbers("heat:0:17") == ([made.t2.number], 1)
    assert numbers("backlog:month") == ([made.t4.number], 1)
    assert numbers("backlog:older") == ([made.t6.number], 1)
    assert numbers("duration:resolution") == ([made.t3.number, made.t2.number, made.t1.number], 3)
    assert numbers("csat:4") == ([made.t2.number], 1)
    with pytest.raises(ValueError):
        selectors.drilldown_tickets(november, figure="nonsense", now=NOW, with_operators=True)


def test_other_shop_counts_alone(history, november, world, scoped):
    ceramics = selectors.Filters(**{**november.__dict__, "shop_ids": (world.ceramics.id,)})
    assert selectors.summary(ceramics).tickets == 1
    both = selectors.Filters(**{**november.__dict__, "shop_ids": (world.tea.id, world.ceramics.id)})
    assert selectors.summary(both).tickets == 5
