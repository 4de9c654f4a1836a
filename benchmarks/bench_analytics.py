"""Time the analytics dashboard: one shop, and agency-wide over 20 shops.

The dataset is written in bulk (`executemany` on SQLite, `COPY` on PostgreSQL): 20 shops of an
agency with uneven sizes, one customer per three tickets, the tickets of the last 365 days, and
the analytics rollups the periodic job would have built from their events (a fact row per
ticket, its finished clocks and its tags; docs/adr/0022) with the daily rollups recomputed from
those facts (`analytics.rollups`, built when missing). Kept in `.bench/analytics-<scale>` or
its own PostgreSQL database and reused while its ticket count matches the scale.

Cases, through the real view with a signed-in supervisor (Django's test client): the default
dashboard (the last 30 days, compared with the 30 before) of the largest shop, of all 20
shops, and of all 20 shops filtered to one channel. `first_ms` is the first request of the
process (cold: nothing cached anywhere, as after a restart); p50/p95 are over the following
requests, each computing every figure again (the dashboard keeps no cache). The charts are
separate image requests and are timed as one case.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.harness import Result, log, run_engines, ticket_count, time_calls

TARGET_MS = 500.0
SHOPS = 20
REQUESTS = 30
WARMUP = 0
HISTORY_DAYS = 365
SEED = 20261207
CHUNK = 20_000
SUPERVISOR_EMAIL = "supervisor@analytics-bench.example"
CHANNELS = ("email", "email", "email", "web_form", "line", "chat", "phone")
STATUSES = ("solved", "solved", "closed", "closed", "closed", "open", "pending", "new")


def run(scale: str) -> list[Result]:
    return run_engines(__name__, scale, dataset="analytics_v1")


def _weights() -> list[int]:
    # The largest shop holds about a seventh of the tickets, the smallest about 1 %.
    return [30, 22, 18, 15, 13, 12, 11, 10, 9, 8, 8, 7, 6, 6, 5, 5, 4, 4, 3, 3]


class _Loader:
    """Raw bulk writes with foreign-key checks off while loading (every reference is valid)."""

    def __init__(self) -> None:
        from django.db import connection

        connection.ensure_connection()
        self.vendor = connection.vendor
        self.raw: Any = connection.connection
        if self.vendor == "sqlite":
            self.raw.execute("PRAGMA foreign_keys=OFF")
            self.raw.execute("BEGIN")
        else:
            self.raw.autocommit = False
            self.raw.execute("SET session_replication_role = replica")

    def stamp(self, moment: dt.datetime | None) -> str | None:
        if moment is None:
            return None
        return f"{moment}" if self.vendor == "sqlite" else f"{moment}+00:00"

    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.vendor == "sqlite":
            marks = ", ".join("?" for _ in columns)
            self.raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
            )
            return
        with (
            self.raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def finish(self, tables: Sequence[str]) -> None:
        if self.vendor == "sqlite":
            self.raw.execute("COMMIT")
            self.raw.execute("PRAGMA foreign_keys=ON")
            self.raw.execute("ANALYZE")
            return
        for table in tables:
            self.raw.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        self.raw.execute("SET session_replication_role = DEFAULT")
        self.raw.commit()
        self.raw.autocommit = True
        self.raw.execute("VACUUM ANALYZE")


def _seed(total: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from madoguchi.accounts.models import User
    from madoguchi.analytics.models import DurationFact, TagFact, TicketFact
    from madoguchi.conversations.models import Category, Tag, Ticket
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.models import Engagement, Membership, Shop, ShopAssignment, Workspace

    now = timezone.now().astimezone(dt.UTC).replace(microsecond=0, tzinfo=None)
    start_day = (now - dt.timedelta(days=HISTORY_DAYS + 30)).date()
    shops: list[int] = []
    operators: dict[int, list[int]] = {}
    categories: dict[int, list[int]] = {}
    tags: dict[int, list[tuple[int, str]]] = {}
    with transaction.atomic():
        agency = Workspace.objects.create(name="分析ベンチ", slug="analytics-bench", kind="agency")
        supervisor = User.objects.create_user(SUPERVISOR_EMAIL, None, display_name="監督 分析")
        Membership.objects.create(
            user=supervisor, workspace=agency, role=Membership.Role.SUPERVISOR
        )
        for index in range(1, SHOPS + 1):
            merchant = Workspace.objects.create(
                name=f"分析商店 {index}", slug=f"analytics-merchant-{index}", kind="merchant"
            )
            shop = Shop.objects.create(
                workspace=merchant,
                name=f"分析商店 {index}",
                slug=f"analytics-shop-{index}",
                ticket_prefix=f"A{index:02d}",
            )
            Engagement.objects.create(
                agency=agency, shop=shop, mode=Engagement.Mode.OUTSOURCED, starts_on=start_day
            )
            shops.append(shop.id)
            operators[shop.id] = []
            for number in range(1, 4):
                user = User.objects.create_user(
                    f"analytics-{index}-{number}@bench.example",
                    None,
                    display_name=f"担当 {index}-{number}",
                )
                membership = Membership.objects.create(
                    user=user, workspace=agency, role=Membership.Role.OPERATOR
                )
                ShopAssignment.objects.create(membership=membership, shop=shop)
                operators[shop.id].append(user.id)
            categories[shop.id] = [
                Category.objects.create(shop=shop, name=name).id
                for name in ("配送", "返品・交換", "在庫", "支払い", "その他")
            ]
            tags[shop.id] = [
                (Tag.objects.create(shop=shop, name=name).id, name)
                for name in ("至急", "破損", "遅延", "ギフト", "再送")
            ]
    weights = _weights()
    rng = random.Random(SEED)
    loader = _Loader()
    customer_rows: list[tuple[Any, ...]] = []
    ticket_rows: list[tuple[Any, ...]] = []
    fact_rows: list[tuple[Any, ...]] = []
    duration_rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[Any, ...]] = []
    customers_of: dict[int, list[int]] = {shop_id: [] for shop_id in shops}
    numbers = dict.fromkeys(shops, 0)
    customer_id = duration_id = tag_id = 0

    def flush() -> None:
        loader.write(
            Customer._meta.db_table,
            ("id", "shop_id", "name", "name_kana", "note", "created_at", "updated_at"),
            customer_rows,
        )
        loader.write(
            Ticket._meta.db_table,
            (
                "id", "shop_id", "number", "subject", "status", "priority", "channel",
                "language", "created_at", "updated_at", "last_activity_at",
                "first_responded_at", "solved_at", "closed_at", "assignee_id", "category_id",
                "customer_id", "has_failed_delivery",
            ),
            ticket_rows,
        )  # fmt: skip
        loader.write(
            TicketFact._meta.db_table,
            (
                "id", "shop_id", "ticket_id", "created_at", "created_on", "created_hour",
                "created_weekday", "channel", "category_id", "assignee_id", "customer_id",
                "is_new_customer", "status", "is_open", "is_resolved", "was_ever_resolved",
                "resolved_at", "reply_count", "reopen_count", "is_one_touch",
                "is_csat_requested", "csat_score", "last_event_id",
            ),
            fact_rows,
        )  # fmt: skip
        loader.write(
            DurationFact._meta.db_table,
            (
                "id", "shop_id", "fact_id", "metric", "cycle", "started_at", "completed_at",
                "business_seconds", "elapsed_seconds", "channel", "category_id", "assignee_id",
            ),
            duration_rows,
        )  # fmt: skip
        loader.write(
            TagFact._meta.db_table, ("id", "shop_id", "fact_id", "tag_id", "name"), tag_rows
        )
        for rows in (customer_rows, ticket_rows, fact_rows, duration_rows, tag_rows):
            rows.clear()

    tokyo = dt.timezone(dt.timedelta(hours=9))
    for ticket_id in range(1, total + 1):
        shop_id = rng.choices(shops, weights=weights)[0]
        created = now - dt.timedelta(seconds=rng.randrange(HISTORY_DAYS * 86_400))
        known = customers_of[shop_id]
        is_new = not known or rng.random() < 0.7
        if is_new:
            customer_id += 1
            known.append(customer_id)
            stamp = loader.stamp(created)
            customer_rows.append(
                (customer_id, shop_id, f"顧客 {customer_id}", "", "", stamp, stamp)
            )
            customer = customer_id
        else:
            customer = rng.choice(known)
        numbers[shop_id] += 1
        status = rng.choice(STATUSES)
        channel = rng.choice(CHANNELS)
        category = rng.choice([None, *categories[shop_id]])
        assignee = rng.choice([None, *operators[shop_id]])
        replies = 0 if status == "new" else rng.choice((1, 1, 1, 2, 2, 3))
        first = created + dt.timedelta(minutes=rng.randrange(5, 2_000)) if replies else None
        resolved = status in ("solved", "closed")
        resolved_at = (
            created + dt.timedelta(minutes=rng.randrange(30, 10_000)) if resolved else None
        )
        reopens = 1 if resolved and rng.random() < 0.06 else 0
        csat = rng.choice((None, None, 3, 4, 5, 5)) if resolved else None
        ticket_rows.append(
            (
                ticket_id, shop_id, numbers[shop_id], "お問い合わせ", status, "normal", channel,
                "ja", loader.stamp(created), loader.stamp(created),
                loader.stamp(resolved_at or first or created), loader.stamp(first),
                loader.stamp(resolved_at), None, assignee, category, customer, False,
            )
        )  # fmt: skip
        local = created.replace(tzinfo=dt.UTC).astimezone(tokyo)
        fact_rows.append(
            (
                ticket_id, shop_id, ticket_id, loader.stamp(created), local.date(), local.hour,
                local.weekday(), channel, category, assignee, customer, is_new, status,
                status not in ("solved", "closed"), resolved, resolved,
                loader.stamp(resolved_at), replies, reopens,
                resolved and replies == 1 and reopens == 0, csat is not None or resolved, csat,
                0,
            )
        )  # fmt: skip
        clocks = []
        if first is not None:
            clocks.append(("first_response", 0, created, first))
        if replies > 1:
            started = created + dt.timedelta(minutes=rng.randrange(60, 3_000))
            clocks.append(
                ("next_response", 1, started, started + dt.timedelta(minutes=rng.randrange(5, 900)))
            )
        if resolved_at is not None:
            clocks.append(("resolution", 0, created, resolved_at))
        for metric, cycle, started, completed in clocks:
            duration_id += 1
            elapsed = int((completed - started).total_seconds())
            duration_rows.append(
                (
                    duration_id, shop_id, ticket_id, metric, cycle, loader.stamp(started),
                    loader.stamp(completed), int(elapsed * rng.uniform(0.2, 0.6)), elapsed,
                    channel, category, assignee,
                )
            )  # fmt: skip
        for chosen_id, chosen_name in rng.sample(tags[shop_id], rng.choice((0, 0, 1, 1, 2))):
            tag_id += 1
            tag_rows.append((tag_id, shop_id, ticket_id, chosen_id, chosen_name))
        if ticket_id % CHUNK == 0:
            flush()
            log(f"  {ticket_id:,} tickets")
    flush()
    loader.finish(
        [
            Customer._meta.db_table,
            Ticket._meta.db_table,
            TicketFact._meta.db_table,
            DurationFact._meta.db_table,
            TagFact._meta.db_table,
        ]
    )
    for shop_id, last in numbers.items():
        Shop.objects.filter(id=shop_id).update(last_ticket_number=last)


def _build_rollups() -> None:
    """Build the daily rollups from the seeded facts, as `analytics_rebuild` does."""
    from django.db import connection

    from madoguchi.analytics.models import FactsRebuild
    from madoguchi.analytics.rollups import rollups_rebuild_shop
    from madoguchi.tenancy.models import Shop
    from madoguchi.tenancy.scoping import in_shop

    started = time.perf_counter()
    for shop_id in Shop.objects.order_by("id").values_list("id", flat=True):
        with in_shop(shop_id):
            rollups_rebuild_shop(shop_id=shop_id)
    # The rollups are now those of the facts: nothing is left for a rebuild (a migration asks
    # for one where it changed what they keep).
    FactsRebuild.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"built the daily rollups from the facts in {time.perf_counter() - started:.1f} s")


def _ensure_dataset(scale: str) -> dict[str, int]:
    from django.core.management import call_command

    from benchmarks.seed import _recreate_database
    from madoguchi.analytics.models import DailyDistribution, DurationFact, TicketFact
    from madoguchi.tenancy.models import Shop
    from madoguchi.tenancy.scoping import unscoped

    call_command("migrate", verbosity=0, interactive=False)
    expected = ticket_count(scale)
    with unscoped("benchmark: the seeded dataset spans shops"):
        if not (TicketFact.objects.count() == expected and Shop.objects.count() == SHOPS):
            if Shop.objects.exists():
                log("the bench database holds another dataset: recreating it")
                _recreate_database()
            started = time.perf_counter()
            _seed(expected)
            took = time.perf_counter() - started
            log(f"seeded {expected:,} tickets with their facts in {took:.1f} s")
        if not DailyDistribution.objects.exclude(channel="").exists():
            _build_rollups()  # none yet, or from before the rollups kept channels
        return {
            "tickets": TicketFact.objects.count(),
            "durations": DurationFact.objects.count(),
            "rollup_days": DailyDistribution.objects.count(),
            "shops": Shop.objects.count(),
        }


def measure(*, engine: str, scale: str) -> list[Result]:
    from django.test import Client
    from django.urls import reverse

    from madoguchi.accounts.models import User
    from madoguchi.tenancy.models import Shop
    from madoguchi.tenancy.scoping import unscoped

    rows = _ensure_dataset(scale)
    with unscoped("benchmark: pick the largest shop"):
        largest = Shop.objects.get(slug="analytics-shop-1")
    client = Client()
    client.force_login(User.objects.get(email=SUPERVISOR_EMAIL))
    cases = {
        "shop": f"{reverse('analytics:dashboard')}?shop={largest.slug}",
        "agency_20_shops": reverse("analytics:dashboard"),
        "agency_charts": reverse("analytics:chart", args=["volume"]),
        # A channel filter: the daily counts still serve it, the durations come from the facts.
        "agency_email_only": f"{reverse('analytics:dashboard')}?channel=email",
    }
    results: list[Result] = []
    for case, url in cases.items():

        def call(url: str = url) -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")

        started = time.perf_counter()
        call()
        first_ms = round((time.perf_counter() - started) * 1000, 2)
        timing = time_calls(call, n=REQUESTS, warmup=WARMUP)
        results.append(
            {
                "benchmark": f"analytics_{case}",
                "engine": engine,
                "scale": scale,
                "mode": "view",
                "rows": rows,
                "first_ms": first_ms,
                **timing,
                "target_ms": TARGET_MS,
                "meets_target": timing["p95_ms"] <= TARGET_MS,
            }
        )
    return results
