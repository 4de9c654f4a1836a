"""Exact SLA due times across a weekend, a public holiday, a closure, a lunch break, a pause."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from madoguchi.operations.calendar import BusinessCalendar, add_working_time, working_time_between
from madoguchi.operations.sla import (
    Metric,
    SlaTargets,
    StatusChange,
    TicketHistory,
    compute_measures,
)

TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAY_HOURS = [(dt.time(10), dt.time(12)), (dt.time(13), dt.time(18))]  # lunch 12-13
CALENDAR = BusinessCalendar(
    weekly_hours={weekday: WEEKDAY_HOURS for weekday in range(5)},
    closures=[(dt.date(2026, 8, 13), dt.date(2026, 8, 16))],  # お盆
)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


def test_lunch_break_is_skipped() -> None:
    # 11:30 + 1h: 30 min before lunch, 30 min after it.
    assert add_working_time(CALENDAR, at(2026, 11, 25, 11, 30), hours(1)) == at(
        2026, 11, 25, 13, 30
    )


def test_weekend_is_skipped() -> None:
    # Friday 17:00 + 2h: 1h on Friday, then Monday 10:00 + 1h.
    assert add_working_time(CALENDAR, at(2026, 11, 27, 17), hours(2)) == at(2026, 11, 30, 11)


def test_public_holiday_is_skipped() -> None:
    # 2026-11-23 (Mon) is 勤労感謝の日: Friday 17:00 + 2h lands on Tuesday 11:00.
    assert add_working_time(CALENDAR, at(2026, 11, 20, 17), hours(2)) == at(2026, 11, 24, 11)


def test_shop_closure_is_skipped() -> None:
    # Wednesday 2026-08-12 17:30 + 1h; 13-16 Aug closed (Thu-Sun), so Monday 17 Aug 10:30.
    assert add_working_time(CALENDAR, at(2026, 8, 12, 17, 30), hours(1)) == at(2026, 8, 17, 10, 30)


def test_new_year_and_holiday_together() -> None:
    closed = BusinessCalendar(
        weekly_hours=CALENDAR.weekly_hours, closures=[(dt.date(2026, 12, 29), dt.date(2027, 1, 3))]
    )
    # Monday 2026-12-28 17:00 + 3h: 1h, then closure to 3 Jan, Monday 4 Jan 10:00 + 2h -> 12:00.
    assert add_working_time(closed, at(2026, 12, 28, 17), hours(3)) == at(2027, 1, 4, 12)


def test_outside_hours_start_waits_for_opening() -> None:
    assert add_working_time(CALENDAR, at(2026, 11, 25, 20), hours(1)) == at(2026, 11, 26, 11)
    assert CALENDAR.next_open_at(at(2026, 11, 28, 9)) == at(2026, 11, 30, 10)


def test_national_holidays_can_be_worked() -> None:
    working = BusinessCalendar(weekly_hours=CALENDAR.weekly_hours, observes_national_holidays=False)
    assert add_working_time(working, at(2026, 11, 20, 17), hours(2)) == at(2026, 11, 23, 11)


def test_working_time_between_excludes_lunch_and_night() -> None:
    assert working_time_between(CALENDAR, at(2026, 11, 25, 11), at(2026, 11, 26, 11)) == hours(7)


def test_pending_pause_moves_the_due_time() -> None:
    history = TicketHistory(
        created_at=at(2026, 11, 25, 10),
        customer_messages=[at(2026, 11, 25, 10)],
        status_changes=[
            StatusChange(at(2026, 11, 25, 10, 30), "new", "pending"),
            StatusChange(at(2026, 11, 26, 10, 30), "pending", "open"),
        ],
    )
    targets = SlaTargets(first_response=hours(2), resolution=hours(8))
    first, resolution = compute_measures(history, targets, CALENDAR)
    # 30 min counted before the pause (Wed 10:00-10:30), paused until Thu 10:30,
    # then 1h30 remain: 10:30-12:00 -> Thu 12:00.
    assert first.metric == Metric.FIRST_RESPONSE
    assert first.due_at == at(2026, 11, 26, 12)
    assert first.completed_at is None
    # Resolution: 30 min Wed, resume Thu 10:30: 1h30 to lunch, 5h after -> Thu 18:00 leaves 1h,
    # Friday 10:00 + 1h = 11:00.
    assert resolution.due_at == at(2026, 11, 27, 11)


def test_open_ended_pause_never_breaches() -> None:
    history = TicketHistory(
        created_at=at(2026, 11, 25, 10),
        status_changes=[StatusChange(at(2026, 11, 25, 11), "open", "pending")],
    )
    first, _resolution = compute_measures(history, SlaTargets(first_response=hours(2)), CALENDAR)
    assert first.due_at is None
    assert first.is_breached(at(2027, 1, 1, 0)) is False


def test_next_response_cycles_and_breach() -> None:
    history = TicketHistory(
        created_at=at(2026, 11, 25, 10),
        customer_messages=[at(2026, 11, 25, 10), at(2026, 11, 25, 15), at(2026, 11, 26, 17)],
        replies=[at(2026, 11, 25, 11), at(2026, 11, 26, 10, 30)],
        status_changes=[StatusChange(at(2026, 11, 26, 10, 30), "open", "solved")],
    )
    targets = SlaTargets(first_response=hours(2), next_response=hours(1), resolution=hours(24))
    measures = compute_measures(history, targets, CALENDAR)
    first, second_cycle, third_cycle, resolution = measures
    assert (first.completed_at, first.is_breached(at(2026, 11, 30, 0))) == (
        at(2026, 11, 25, 11),
        False,
    )
    assert (second_cycle.metric, second_cycle.cycle) == (Metric.NEXT_RESPONSE, 1)
    assert second_cycle.due_at == at(2026, 11, 25, 16)
    assert second_cycle.completed_at == at(2026, 11, 26, 10, 30)
    assert second_cycle.is_breached(at(2026, 11, 30, 0)) is True
    # Thursday 17:00 + 1h = 18:00, still unanswered on Friday morning: breached.
    assert third_cycle.due_at == at(2026, 11, 26, 18)
    assert third_cycle.completed_at is None
    assert third_cycle.remaining(at(2026, 11, 26, 17, 45)) == dt.timedelta(minutes=15)
    assert third_cycle.is_breached(at(2026, 11, 27, 9)) is True
    assert resolution.completed_at == at(2026, 11, 26, 10, 30)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(2026, 11, 25, 10), at(2026, 11, 25, 12)),
        (at(2026, 11, 28, 10), at(2026, 11, 28, 12)),  # Saturday counts in calendar time
    ],
)
def test_calendar_time_targets_ignore_hours(start: dt.datetime, expected: dt.datetime) -> None:
    history = TicketHistory(created_at=start)
    targets = SlaTargets(first_response=hours(2), in_business_hours=False)
    assert compute_measures(history, targets, CALENDAR)[0].due_at == expected
