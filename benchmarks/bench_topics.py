"""Time the rising topics the dashboard adds (`analytics.topics.rising_topics`), agency-wide over
20 shops and for the largest shop, the last 30 days against the 30 before.

The dataset is the rollup the unfiltered dashboard reads: `TopicDayCount` rows (shop, local day,
term, tickets) for the scale's tickets over 365 days, 20 shops of uneven sizes. Each ticket holds
30 distinct terms drawn from a Zipf-distributed vocabulary of 8,000 terms (a few very common
bigrams, a long tail), which is the shape CJK bigrams of support mail take; the per-day counts are
aggregated from those draws. Kept in `.bench/topics_v1-<scale>` or its own PostgreSQL database and
reused while its ticket total matches the scale. The target is 50 ms: what the dashboard may
spend on topics. Timings are of the function (no HTTP), CPU time reported beside wall time.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.harness import Result, log, run_engines, ticket_count, time_calls

TARGET_MS = 50.0
TOKYO = ZoneInfo("Asia/Tokyo")
SHOPS = 20
HISTORY_DAYS = 365
VOCABULARY = 8_000
TERMS_PER_TICKET = 30
SEED = 20261207
REQUESTS = 30
WEIGHTS = [30, 22, 18, 15, 13, 12, 11, 10, 9, 8, 8, 7, 6, 6, 5, 5, 4, 4, 3, 3]


def run(scale: str) -> list[Result]:
    return run_engines(__name__, scale, dataset="topics_v1")


def _terms() -> list[str]:
    kana = [chr(code) for code in range(0x30A2, 0x30F3)]
    kanji = [chr(code) for code in range(0x4E00, 0x4E00 + 400)]
    pool = [a + b for a, b in itertools.product(kanji[:60] + kana[:30], repeat=2)]
    return pool[:VOCABULARY]


def _seed(total: int) -> None:
    from django.db import transaction

    from madoguchi.analytics.models import TopicDayCount
    from madoguchi.tenancy.models import Shop, Workspace

    rng = random.Random(SEED)
    terms = _terms()
    cumulative = list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(terms))))
    today = dt.datetime.now(TOKYO).date()
    with transaction.atomic():
        shops = []
        for index in range(1, SHOPS + 1):
            merchant = Workspace.objects.create(
                name=f"話題商店 {index}", slug=f"topics-merchant-{index}", kind="merchant"
            )
            shops.append(
                Shop.objects.create(
                    workspace=merchant,
                    name=f"話題商店 {index}",
                    slug=f"topics-shop-{index}",
                    ticket_prefix=f"T{index:02d}",
                )
            )
        weight_total = sum(WEIGHTS)
        for shop, weight in zip(shops, WEIGHTS, strict=True):
            tickets = total * weight // weight_total
            per_day: dict[dt.date, Counter[str]] = {}
            for _ in range(tickets):
                day = today - dt.timedelta(days=rng.randrange(HISTORY_DAYS))
                drawn = set(rng.choices(terms, cum_weights=cumulative, k=TERMS_PER_TICKET))
                per_day.setdefault(day, Counter()).update(drawn)
            TopicDayCount.objects.bulk_create(
                (
                    TopicDayCount(shop=shop, day=day, term=term, tickets=count)
                    for day, counter in per_day.items()
                    for term, count in counter.items()
                ),
                batch_size=5_000,
            )
            log(f"seeded the topic counts of {shop.slug}: {tickets:,} tickets")


def _ensure_dataset(scale: str) -> dict[str, int]:
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.seed import _recreate_database
    from madoguchi.analytics.models import TopicDayCount
    from madoguchi.tenancy.models import Shop
    from madoguchi.tenancy.scoping import unscoped

    call_command("migrate", verbosity=0, interactive=False)
    expected = ticket_count(scale)
    with unscoped("benchmark: the seeded dataset spans shops"):
        marker = Shop.objects.filter(slug="topics-shop-1").first()
        if marker is None or marker.name != f"話題商店 1 ({expected})":
            if Shop.objects.exists():
                log("the bench database holds another dataset: recreating it")
                _recreate_database()
            started = time.perf_counter()
            _seed(expected)
            Shop.objects.filter(slug="topics-shop-1").update(name=f"話題商店 1 ({expected})")
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            took = time.perf_counter() - started
            log(f"seeded {expected:,} tickets' topic counts in {took:.1f} s")
        return {"tickets": expected, "topic_day_counts": TopicDayCount.objects.count()}


def measure(*, engine: str, scale: str) -> list[Result]:
    from madoguchi.analytics.selectors import Filters
    from madoguchi.analytics.topics import rising_topics
    from madoguchi.tenancy.models import Shop
    from madoguchi.tenancy.scoping import shop_scope, unscoped

    rows = _ensure_dataset(scale)
    with unscoped("benchmark: the shops of the dataset"):
        shop_ids = tuple(
            Shop.objects.filter(slug__startswith="topics-shop-")
            .order_by("id")
            .values_list("id", flat=True)
        )
    zone = TOKYO
    end_day = dt.datetime.now(TOKYO).date() + dt.timedelta(days=1)
    end = dt.datetime.combine(end_day, dt.time(0), zone)
    start = end - dt.timedelta(days=30)
    cases: dict[str, tuple[int, ...]] = {"agency_20_shops": shop_ids, "shop": shop_ids[:1]}
    results: list[Result] = []
    for case, ids in cases.items():
        filters = Filters(shop_ids=ids, start=start, end=end)

        def call(filters: Filters = filters, ids: tuple[int, ...] = ids) -> Any:
            with shop_scope(ids):
                return rising_topics(filters)

        started = time.perf_counter()
        found = call()
        first_ms = round((time.perf_counter() - started) * 1000, 2)
        timing = time_calls(call, n=REQUESTS, warmup=3)
        results.append(
            {
                "benchmark": f"topics_{case}",
                "engine": engine,
                "scale": scale,
                "mode": "function",
                "rows": rows,
                "topics": len(found),
                "first_ms": first_ms,
                **timing,
                "target_ms": TARGET_MS,
                "meets_target": timing["p95_ms"] <= TARGET_MS,
            }
        )
    return results
