"""Which hours of a period nobody is on duty for a shop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from madoguchi.operations.calendar import Interval


def uncovered_periods(
    period: Interval, shifts: Sequence[Interval], *, step: dt.timedelta = dt.timedelta(hours=1)
) -> list[Interval]:
    """Return the `step`-sized slots of `period` that no shift fully covers, merged into runs."""
    gaps: list[Interval] = []
    slot_start = period[0]
    while slot_start < period[1]:
        slot_end = min(slot_start + step, period[1])
        covered = _covered(slot_start, slot_end, shifts)
        if not covered:
            if gaps and gaps[-1][1] == slot_start:
                gaps[-1] = (gaps[-1][0], slot_end)
            else:
                gaps.append((slot_start, slot_end))
        slot_start = slot_end
    return gaps


def _covered(start: dt.datetime, end: dt.datetime, shifts: Sequence[Interval]) -> bool:
    """Whether the union of shifts covers [start, end) without a hole."""
    cursor = start
    for shift_start, shift_end in sorted(shifts):
        if shift_start > cursor:
            break
        if shift_end > cursor:
            cursor = shift_end
        if cursor >= end:
            return True
    return cursor >= end
