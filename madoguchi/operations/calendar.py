"""Business time: weekly hours with breaks, Japanese public holidays and the shop's closures.

`BusinessCalendar` is a plain value built from a shop's calendar rows (see `selectors`), so SLA
arithmetic is pure and testable. National holidays come from a per-calendar `jpholiday.JPHoliday`
instance: the module-level jpholiday registry is process-global and never used here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

import jpholiday

Interval = tuple[dt.datetime, dt.datetime]
MAX_SEARCH_DAYS = 800


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly opening intervals (weekday 0 = Monday) in `time_zone`, minus holidays and closures."""

    time_zone: str = "Asia/Tokyo"
    weekly_hours: dict[int, Sequence[tuple[dt.time, dt.time]]] = field(default_factory=dict)
    closures: Sequence[tuple[dt.date, dt.date]] = ()
    observes_national_holidays: bool = True
    always_open: bool = False

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @cached_property
    def _holidays(self) -> jpholiday.JPHoliday:
        return jpholiday.JPHoliday()

    def is_closed_on(self, day: dt.date) -> bool:
        """Whether the whole day is closed: a closure, or a national holiday the shop observes."""
        if self.always_open:
            return False
        if any(start <= day <= end for start, end in self.closures):
            return True
        return self.observes_national_holidays and bool(self._holidays.is_holiday(day))

    def intervals_on(self, day: dt.date) -> list[Interval]:
        """Return the day's opening intervals as aware datetimes, in order."""
        if self.always_open:
            start = dt.datetime.combine(day, dt.time(0), self.zone)
            return [(start, start + dt.timedelta(days=1))]
        if self.is_closed_on(day):
            return []
        intervals = []
        for opens, closes in sorted(self.weekly_hours.get(day.weekday(), ())):
            start = dt.datetime.combine(day, opens, self.zone)
            end = (
                dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), self.zone)
                if closes == dt.time(0)
                else dt.datetime.combine(day, closes, self.zone)
            )
            if end > start:
                intervals.append((start, end))
        return intervals

    def open_intervals(self, start: dt.datetime) -> Iterator[Interval]:
        """Yield opening intervals from `start` onwards (the first one clipped to `start`)."""
        local_start = start.astimezone(self.zone)
        day = local_start.date()
        for _ in range(MAX_SEARCH_DAYS):
            for opens, closes in self.intervals_on(day):
                if closes <= local_start:
                    continue
                yield max(opens, local_start), closes
            day += dt.timedelta(days=1)

    def is_open_at(self, moment: dt.datetime) -> bool:
        local = moment.astimezone(self.zone)
        return any(opens <= local < closes for opens, closes in self.intervals_on(local.date()))

    def next_open_at(self, moment: dt.datetime) -> dt.datetime | None:
        """Return `moment` if open, else when business next opens (None: never within ~2 years)."""
        for opens, _closes in self.open_intervals(moment):
            return opens
        return None


def _subtract(interval: Interval, pauses: Sequence[Interval]) -> list[Interval]:
    pieces = [interval]
    for pause_start, pause_end in pauses:
        next_pieces = []
        for start, end in pieces:
            if pause_end <= start or pause_start >= end:
                next_pieces.append((start, end))
                continue
            if pause_start > start:
                next_pieces.append((start, pause_start))
            if pause_end < end:
                next_pieces.append((pause_end, end))
        pieces = next_pieces
    return pieces


def add_working_time(
    calendar: BusinessCalendar,
    start: dt.datetime,
    duration: dt.timedelta,
    *,
    pauses: Sequence[Interval] = (),
) -> dt.datetime | None:
    """Return when `duration` of open time has passed after `start`, skipping `pauses`.

    Pauses are periods when the clock stops (the ticket waits on the customer); an open-ended
    pause is passed with a far-future end. None means the target is never reached.
    """
    remaining = duration
    if remaining <= dt.timedelta(0):
        return start
    for interval in calendar.open_intervals(start):
        for piece_start, piece_end in _subtract(interval, pauses):
            length = piece_end - piece_start
            if length >= remaining:
                return piece_start + remaining
            remaining -= length
    return None


def working_time_between(
    calendar: BusinessCalendar,
    start: dt.datetime,
    end: dt.datetime,
    *,
    pauses: Sequence[Interval] = (),
) -> dt.timedelta:
    """Return the open time between `start` and `end`, less `pauses`."""
    total = dt.timedelta(0)
    if end <= start:
        return total
    for opens, closes in calendar.open_intervals(start):
        if opens >= end:
            break
        for piece_start, piece_end in _subtract((opens, min(closes, end)), pauses):
            total += piece_end - piece_start
    return total
