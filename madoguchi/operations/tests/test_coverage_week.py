"""The week's coverage grid of a shop from real shift rows: exact gaps, counts, holidays."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from madoguchi.core.testing import factories
from madoguchi.operations.models import (
    BusinessCalendarSettings,
    OpeningHours,
    RoutingSettings,
    Shift,
)
from madoguchi.operations.schedule import coverage_week, week_days, week_start
from madoguchi.tenancy.models import Engagement, Membership
from madoguchi.tenancy.scoping import in_shop, unscoped

TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = dt.date(2026, 11, 16)  # Mon 16 - Sun 22 Nov 2026; 23 Nov (勤労感謝の日) is next week
HOLIDAY_WEEK = dt.date(2026, 11, 23)


# The world's agency is engaged from the first of the month the suite runs in (the factory's
# default), which moves past the fixed dates below as the real date does: it is engaged here
# since a fixed day before all of them (and before any real today, so access is unchanged).
ENGAGED_SINCE = dt.date(2026, 11, 1)


@pytest.fixture
def world(world):
    with unscoped("test setup"):
        Engagement.objects.filter(agency=world.agency).update(starts_on=ENGAGED_SINCE)
    return world


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


def plan(membership, starts_at, ends_at):
    with unscoped("test setup"):
        return Shift.objects.create(
            workspace=membership.workspace,
            membership=membership,
            starts_at=starts_at,
            ends_at=ends_at,
        )


@pytest.fixture
def staff(world):
    tea = Membership.objects.get(user=world.operator_tea)
    with unscoped("test setup"):
        second = factories.MembershipFactory(workspace=world.agency, role=Membership.Role.OPERATOR)
        factories.ShopAssignmentFactory(membership=second, shop=world.tea)
    ceramics = Membership.objects.get(user=world.operator_ceramics)
    return tea, second, ceramics


def promise_24_7(shop):
    with in_shop(shop.id):
        RoutingSettings.objects.create(shop=shop, promises_24_7=True)


def test_24_7_gaps_are_found_exactly(world, staff):
    tea, second, ceramics = staff
    promise_24_7(world.tea)
    # Day shifts 09-18 Monday to Sunday by one operator, night shifts 18-09 by the other,
    # except the night from Wednesday to Thursday, covered only until 02:30.
    for offset in range(7):
        day = MONDAY + dt.timedelta(days=offset)
        plan(tea, at(day.year, day.month, day.day, 9), at(day.year, day.month, day.day, 18))
        next_day = day + dt.timedelta(days=1)
        night_end = (
            at(next_day.year, next_day.month, next_day.day, 2, 30)
            if offset == 2
            else at(next_day.year, next_day.month, next_day.day, 9)
        )
        plan(second, at(day.year, day.month, day.day, 18), night_end)
    # The ceramics operator's shift never covers the tea shop.
    plan(ceramics, at(2026, 11, 19, 2), at(2026, 11, 19, 9))
    # The week starts at Monday 00:00: the night of Sunday 15th is not planned.
    with in_shop(world.tea.id):
        week = coverage_week(shop=world.tea, monday=MONDAY)
    assert week.promises_24_7 is True
    assert week.gaps == [
        (at(2026, 11, 16, 0), at(2026, 11, 16, 9)),
        (at(2026, 11, 19, 2), at(2026, 11, 19, 9)),  # 02:00-03:00 is only half covered
    ]
    assert week.gap_hours == 16
    monday, _tuesday, _wednesday, thursday = week.days[:4]
    assert [hour.on_shift for hour in monday.hours][:10] == [0] * 9 + [1]
    assert [(hour.hour, hour.on_shift, hour.is_gap) for hour in thursday.hours[1:4]] == [
        (1, 1, False),
        (2, 1, True),
        (3, 0, True),
    ]
    assert all(hour.is_required for day in week.days for hour in day.hours)
    # Shift change at 18:00 and 09:00: one person per hour, never two.
    assert {hour.on_shift for hour in week.days[5].hours} == {1}


def test_without_the_promise_only_business_hours_count(world, staff):
    tea, _second, _ceramics = staff
    with in_shop(world.tea.id):
        BusinessCalendarSettings.objects.create(shop=world.tea)
        for weekday in range(5):
            OpeningHours.objects.create(
                shop=world.tea, weekday=weekday, opens_at=dt.time(10), closes_at=dt.time(18)
            )
    # Covered 10-18 except Tuesday from 15:00; Friday not at all; nights don't matter.
    for offset in range(4):
        day = MONDAY + dt.timedelta(days=offset)
        end = 15 if offset == 1 else 18
        plan(tea, at(day.year, day.month, day.day, 10), at(day.year, day.month, day.day, end))
    with in_shop(world.tea.id):
        week = coverage_week(shop=world.tea, monday=MONDAY)
    assert week.promises_24_7 is False
    assert week.gaps == [
        (at(2026, 11, 17, 15), at(2026, 11, 17, 18)),
        (at(2026, 11, 20, 10), at(2026, 11, 20, 18)),
    ]
    assert week.gap_hours == 11
    monday = week.days[0]
    assert [hour.is_required for hour in monday.hours] == [False] * 10 + [True] * 8 + [False] * 6
    assert not any(hour.is_required for day in week.days[5:] for hour in day.hours)


def test_holidays_are_labelled_and_close_the_business_calendar(world, staff):
    with in_shop(world.tea.id):
        week = coverage_week(shop=world.tea, monday=HOLIDAY_WEEK)
    # Default hours (weekdays 10-12, 13-18); 23 Nov is 勤労感謝の日 and the shop observes it.
    assert [(day.day.date.day, day.day.holiday, day.is_closed) for day in week.days] == [
        (23, "勤労感謝の日", True),
        (24, "", False),
        (25, "", False),
        (26, "", False),
        (27, "", False),
        (28, "", False),
        (29, "", False),
    ]
    assert week.gaps[0] == (at(2026, 11, 24, 10), at(2026, 11, 24, 12))
    assert len(week.gaps) == 8
    assert not any(hour.is_required for hour in week.days[0].hours)
    assert [hour.hour for hour in week.days[1].hours if hour.is_gap] == [10, 11, 13, 14, 15, 16, 17]


def test_week_helpers():
    assert week_start(dt.date(2026, 11, 29)) == dt.date(2026, 11, 23)
    assert week_start(dt.date(2026, 11, 23)) == dt.date(2026, 11, 23)
    days = week_days(dt.date(2026, 5, 4))
    assert [(day.date.day, day.holiday) for day in days[:3]] == [
        (4, "みどりの日"),
        (5, "こどもの日"),
        (6, "憲法記念日 振替休日"),
    ]
    assert [day.is_weekend for day in days] == [False] * 5 + [True] * 2
