"""SLA attainment per shop, policy and metric over a period, read from the stored measures.

Shared by the shop's attainment page and (later) the monthly client reports. Everything is
counted by the database: one grouped aggregate for the counts and one windowed query that
returns only the median and p90 rows of each group, so a month of many thousand measures never
comes into Python.

A measure belongs to the period in which its clock started (`started_at`). Its outcome:
- breached: marked breached, finished after its due time, or unfinished past its due time;
- met: finished and not breached;
- pending: unfinished and not yet due (not measured yet, left out of the percentage).
Times are elapsed wall-clock time from the clock's start to its completion (the policy's
business-hours counting decides the due time, not this duration).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db.models import BigIntegerField, Count, F, Func, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from madoguchi.operations.calendar import Interval
from madoguchi.operations.labels import METRIC_LABELS
from madoguchi.operations.models import SlaMeasureRecord
from madoguchi.operations.sla import Metric

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType

METRIC_ORDER = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.RESOLUTION)
PERCENTILES = (50, 90)


@dataclass(frozen=True)
class AttainmentRow:
    """Outcome of one (shop, policy, metric) group over the period."""

    shop_id: int
    policy_id: int | None
    policy_name: str
    metric: str
    measured: int
    met: int
    breached: int
    pending: int
    median: dt.timedelta | None
    p90: dt.timedelta | None

    @property
    def attainment(self) -> Decimal | None:
        """Met as a percentage of measured, one decimal; None when nothing was measured."""
        if not self.measured:
            return None
        return (Decimal(self.met) * 100 / self.measured).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )

    @property
    def metric_label(self) -> str:
        return str(METRIC_LABELS.get(self.metric, self.metric))


def month_period(year: int, month: int, *, time_zone: str = "Asia/Tokyo") -> Interval:
    """Return [first day 00:00, first day of next month 00:00) of the month in `time_zone`."""
    zone = ZoneInfo(time_zone)
    start = dt.datetime(year, month, 1, tzinfo=zone)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end


class ElapsedMilliseconds(Func):
    """`end - start` of two datetime columns in whole milliseconds, computed by the database.

    Django's SQLite duration arithmetic calls a Python function per row, which made the windowed
    percentile query several times slower than the counts; julianday() and date_part('epoch')
    (double precision, faster than EXTRACT's numeric) are native.
    """

    arity = 2
    output_field = BigIntegerField()

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> _AsSqlType:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(ROUND((julianday(%(expressions)s)) * 86400000) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> _AsSqlType:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(date_part('epoch', %(expressions)s) * 1000 AS BIGINT)",
            arg_joiner=" - ",
            **extra,
        )


def _breached(now: dt.datetime) -> Q:
    return (
        Q(is_breached=True)
        | Q(completed_at__isnull=False, due_at__isnull=False, completed_at__gt=F("due_at"))
        | Q(completed_at__isnull=True, due_at__isnull=False, due_at__lte=now)
    )


def _measures(shop_ids: Collection[int], period: Interval) -> QuerySet[SlaMeasureRecord]:
    return SlaMeasureRecord.objects.filter(
        shop_id__in=tuple(shop_ids), started_at__gte=period[0], started_at__lt=period[1]
    )


def _percentiles(
    shop_ids: Collection[int], period: Interval, now: dt.datetime
) -> dict[tuple[int, int | None, str], dict[int, dt.timedelta]]:
    """Return the nearest-rank percentiles of completion time per group (met or late alike)."""
    group = [F("shop_id"), F("policy_id"), F("metric")]
    took = ElapsedMilliseconds(F("completed_at"), F("started_at"))
    ranked = (
        _measures(shop_ids, period)
        .filter(completed_at__isnull=False)
        .annotate(
            took=took,
            position=Window(RowNumber(), partition_by=group, order_by=[took.asc(), F("id").asc()]),
            size=Window(Count("id"), partition_by=group),
        )
    )
    # Nearest rank: the p-th percentile is the value at position ceil(p * size / 100), i.e. the
    # first position whose p-share is reached: position * 100 >= p * size > (position - 1) * 100.
    wanted = Q()
    for percentile in PERCENTILES:
        wanted |= Q(
            position__gte=F("size") * percentile / 100.0,
            position__lt=F("size") * percentile / 100.0 + 1,
        )
    result: dict[tuple[int, int | None, str], dict[int, dt.timedelta]] = {}
    rows = ranked.filter(wanted).values_list(
        "shop_id", "policy_id", "metric", "position", "size", "took"
    )
    for shop_id, policy_id, metric, position, size, took_value in rows:
        values = result.setdefault((shop_id, policy_id, metric), {})
        for percentile in PERCENTILES:
            if position * 100 >= percentile * size > (position - 1) * 100:
                values[percentile] = dt.timedelta(milliseconds=took_value)
    return result


def sla_attainment(
    *, shop_ids: Collection[int], period: Interval, now: dt.datetime
) -> list[AttainmentRow]:
    """Return attainment per shop, policy and metric for measures started within `period`.

    Ordered by shop, policy name, then first response, next response, resolution.
    """
    breached = _breached(now)
    finished_in_time = Q(completed_at__isnull=False) & ~breached
    groups = (
        _measures(shop_ids, period)
        .values("shop_id", "policy_id", "policy__name", "metric")
        .annotate(
            total=Count("id"),
            met=Count("id", filter=finished_in_time),
            breached=Count("id", filter=breached),
        )
        .order_by()
    )
    percentiles = _percentiles(shop_ids, period, now)
    rows = []
    for group in groups:
        key = (group["shop_id"], group["policy_id"], group["metric"])
        values = percentiles.get(key, {})
        measured = group["met"] + group["breached"]
        rows.append(
            AttainmentRow(
                shop_id=group["shop_id"],
                policy_id=group["policy_id"],
                policy_name=group["policy__name"] or "",
                metric=group["metric"],
                measured=measured,
                met=group["met"],
                breached=group["breached"],
                pending=group["total"] - measured,
                median=values.get(50),
                p90=values.get(90),
            )
        )
    order = {metric: index for index, metric in enumerate(METRIC_ORDER)}
    rows.sort(
        key=lambda row: (
            row.shop_id,
            row.policy_id is None,
            row.policy_name,
            row.policy_id or 0,
            order.get(row.metric, len(order)),
        )
    )
    return rows
