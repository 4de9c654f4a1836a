"""Time the monthly client report of one shop over the analytics benchmark's dataset.

The dataset is bench_analytics' (20 shops, the tickets of the last 365 days and their rollups,
reused from `.bench/analytics-<scale>` or its PostgreSQL database). The report covers the
largest shop's last complete month (in its time zone). Cases, in process:

- `report_figures`: every figure of the report from the rollups (volume, breakdowns with the
  previous month, durations, SLA attainment, CSAT, rising topics, FAQ candidates, deflection,
  the two charts), no document;
- `report_generate`: a whole version as the scheduler makes it: figures, the HTML document,
  the PDF (WeasyPrint, Japanese fonts) and the stored row. The versions made are deleted after.

`first_ms` is the first call of the process (cold); p50/p95 are over the following calls. The
target (500 ms) applies to the figures; the PDF layout is a fixed cost of its own.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from benchmarks.harness import Result, run_engines, time_calls

TARGET_MS = 500.0
FIGURE_CALLS = 20
GENERATE_CALLS = 5


def run(scale: str) -> list[Result]:
    return run_engines(__name__, scale, dataset="analytics_v1")


def measure(*, engine: str, scale: str) -> list[Result]:
    from django.utils import timezone

    from benchmarks.bench_analytics import _ensure_dataset
    from madoguchi.reports.figures import report_figures
    from madoguchi.reports.models import ClientReport
    from madoguchi.reports.services import report_generate
    from madoguchi.tenancy.models import Shop
    from madoguchi.tenancy.scoping import in_shop, unscoped

    rows = _ensure_dataset(scale)
    with unscoped("benchmark: pick the largest shop"):
        shop = Shop.objects.get(slug="analytics-shop-1")
    now = timezone.now()
    local = now.astimezone(ZoneInfo(shop.time_zone)).date()
    month = (local.replace(day=1) - dt.timedelta(days=1)).replace(day=1)

    def figures() -> None:
        with in_shop(shop.id):
            report_figures(shop=shop, month=month, now=now, with_operators=True, points=[])

    def generate() -> None:
        with in_shop(shop.id):
            report_generate(shop=shop, month=month, user=None, now=now)

    results: list[Result] = []
    try:
        for case, call, calls in (
            ("report_figures", figures, FIGURE_CALLS),
            ("report_generate", generate, GENERATE_CALLS),
        ):
            started = time.perf_counter()
            call()
            first_ms = round((time.perf_counter() - started) * 1000, 2)
            timing = time_calls(call, n=calls, warmup=0)
            results.append(
                {
                    "benchmark": case,
                    "engine": engine,
                    "scale": scale,
                    "mode": "in_process",
                    "rows": rows,
                    "month": f"{month:%Y-%m}",
                    "first_ms": first_ms,
                    **timing,
                    "target_ms": TARGET_MS,
                    "meets_target": timing["p95_ms"] <= TARGET_MS,
                }
            )
    finally:
        with in_shop(shop.id):
            ClientReport.objects.filter(shop=shop).delete()
    return results
