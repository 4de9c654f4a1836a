"""Seed the inbox dataset: 10 shops worked by one agency, tickets over two years, fast.

The schema comes from `migrate`, so the tables and indexes are the real ones. The few tenancy
rows go through the ORM; customers, identities, tickets and messages are generated with a fixed
random seed and written in bulk with explicit ids (`executemany` on SQLite, `COPY` on
PostgreSQL), with the secondary indexes dropped during the load and rebuilt from their own
definitions afterwards. A database whose ticket count already matches the scale is reused.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from benchmarks.harness import drop_postgres_database, ensure_postgres_database, log, ticket_count
from madoguchi.accounts.models import User
from madoguchi.conversations.models import Message, Ticket
from madoguchi.core.secrets import encrypt
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.customers.normalize import identity_digest
from madoguchi.tenancy.models import Engagement, Membership, Shop, ShopAssignment, Workspace
from madoguchi.tenancy.scoping import unscoped

SHOP_COUNT = 10
# Shop sizes are uneven, as in life; the bench operator works the largest shop.
SHOP_WEIGHTS = (20, 15, 12, 10, 10, 8, 8, 7, 5, 5)
OPERATORS_PER_SHOP = 3
TICKETS_PER_CUSTOMER = 3
HISTORY_DAYS = 730
CHUNK = 50_000
SEED = 20261126

SUPERVISOR_EMAIL = "supervisor@bench.example"
OPERATOR_EMAIL = "operator-1-1@bench.example"

SURNAMES = (
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
)
GIVEN_NAMES = (
    ("花子", "ハナコ"),
    ("太郎", "タロウ"),
    ("美咲", "ミサキ"),
    ("健太", "ケンタ"),
    ("陽子", "ヨウコ"),
    ("翔", "ショウ"),
    ("直美", "ナオミ"),
    ("大輔", "ダイスケ"),
)
PRODUCTS = ("抹茶", "煎茶セット", "湯呑み", "急須", "ほうじ茶", "茶筒", "ギフト箱", "玄米茶")
TOPICS = ("配送", "返品", "交換", "請求", "在庫", "ラッピング", "領収書", "キャンセル")
INBOUND_LINES = (
    "お世話になっております。",
    "先日注文した{product}の{topic}について教えてください。",
    "{product}がまだ届いていません。",
    "{topic}の手続きをお願いできますか。",
    "よろしくお願いいたします。",
)
OUTBOUND_LINES = (
    "お問い合わせありがとうございます。",
    "{product}の{topic}について確認いたしました。",
    "本日発送の手配をいたしました。",
    "ご不便をおかけして申し訳ございません。",
    "引き続きよろしくお願いいたします。",
)
NOTE_LINES = ("倉庫に在庫確認済み。", "{topic}は上長承認待ち。", "再送手配済み。")

STATUS_BY_AGE = (
    # (max age in days of the last activity, {status: weight})
    (3, {"new": 30, "open": 35, "pending": 20, "on_hold": 5, "solved": 10}),
    (14, {"new": 5, "open": 20, "pending": 25, "on_hold": 10, "solved": 30, "closed": 10}),
    (60, {"open": 3, "pending": 4, "on_hold": 3, "solved": 30, "closed": 60}),
    (HISTORY_DAYS + 30, {"open": 0.3, "pending": 0.3, "on_hold": 0.4, "solved": 4, "closed": 95}),
)
PRIORITIES = {"low": 10, "normal": 70, "high": 15, "urgent": 5}
CHANNELS = {"email": 55, "web_form": 20, "chat": 10, "line": 10, "phone": 5}
UNSOLVED = frozenset(Ticket.UNSOLVED_STATUSES)

BULK_TABLES = (
    Customer._meta.db_table,
    ContactIdentity._meta.db_table,
    Ticket._meta.db_table,
    Message._meta.db_table,
)


@dataclass(frozen=True)
class BenchWorld:
    """The seeded people and shops a benchmark logs in as and filters on."""

    shop_ids: tuple[int, ...]
    operator: User
    supervisor: User
    row_counts: dict[str, int] = field(default_factory=dict)


def ensure_inbox_dataset(scale: str) -> BenchWorld:
    """Migrate the bench database and seed it for `scale` unless it already holds that scale."""
    call_command("migrate", verbosity=0, interactive=False)
    expected = ticket_count(scale)
    with unscoped("benchmark: check the seeded dataset"):
        seeded = Ticket.objects.count() == expected and Shop.objects.count() == SHOP_COUNT
        if not seeded:
            if Shop.objects.exists() or Ticket.objects.exists():
                log("the bench database holds another dataset: recreating it")
                _recreate_database()
            started = time.perf_counter()
            _seed(expected)
            log(f"seeded {expected:,} tickets in {time.perf_counter() - started:.1f} s")
        return _load_world()


def _recreate_database() -> None:
    settings_dict = connection.settings_dict
    connection.close()
    if connection.vendor == "sqlite":
        path = Path(settings_dict["NAME"])
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    else:
        name = settings_dict["NAME"]
        drop_postgres_database(name)
        ensure_postgres_database(name)
    call_command("migrate", verbosity=0, interactive=False)


def _load_world() -> BenchWorld:
    shop_ids = tuple(Shop.objects.filter(slug__startswith="bench-").values_list("id", flat=True))
    counts = {
        "tickets": Ticket.objects.count(),
        "messages": _estimated_count(Message._meta.db_table),
        "customers": Customer.objects.count(),
        "shops": len(shop_ids),
    }
    return BenchWorld(
        shop_ids=tuple(sorted(shop_ids)),
        operator=User.objects.get(email=OPERATOR_EMAIL),
        supervisor=User.objects.get(email=SUPERVISOR_EMAIL),
        row_counts=counts,
    )


def _estimated_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {table}")
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


@dataclass
class _Staff:
    supervisor_id: int
    operators_by_shop: dict[int, list[int]]


def _seed_tenancy(now: dt.datetime) -> tuple[list[int], _Staff]:
    """Create the agency, the 10 shops, their engagements and the staff, through the ORM."""
    start = (now - dt.timedelta(days=HISTORY_DAYS + 30)).date()
    agency = Workspace.objects.create(name="ベンチ サポート", slug="bench-agency", kind="agency")
    supervisor = User.objects.create_user(SUPERVISOR_EMAIL, None, display_name="監督 ベンチ")
    Membership.objects.create(user=supervisor, workspace=agency, role=Membership.Role.SUPERVISOR)
    shop_ids: list[int] = []
    operators_by_shop: dict[int, list[int]] = {}
    for index in range(1, SHOP_COUNT + 1):
        merchant = Workspace.objects.create(
            name=f"ベンチ商店 {index}", slug=f"bench-merchant-{index}", kind="merchant"
        )
        shop = Shop.objects.create(
            workspace=merchant,
            name=f"ベンチ商店 {index}",
            slug=f"bench-shop-{index}",
            ticket_prefix=f"B{index:02d}",
        )
        Engagement.objects.create(
            agency=agency, shop=shop, mode=Engagement.Mode.OUTSOURCED, starts_on=start
        )
        shop_ids.append(shop.id)
        operators_by_shop[shop.id] = []
        for number in range(1, OPERATORS_PER_SHOP + 1):
            operator = User.objects.create_user(
                f"operator-{index}-{number}@bench.example",
                None,
                display_name=f"オペレーター {index}-{number}",
            )
            membership = Membership.objects.create(
                user=operator, workspace=agency, role=Membership.Role.OPERATOR
            )
            ShopAssignment.objects.create(membership=membership, shop=shop)
            operators_by_shop[shop.id].append(operator.id)
    return shop_ids, _Staff(supervisor_id=supervisor.id, operators_by_shop=operators_by_shop)


def _seed(tickets_total: int) -> None:
    # Naive UTC moments: `str()` of one is the text SQLite stores, and fast.
    now = timezone.now().astimezone(dt.UTC).replace(microsecond=0, tzinfo=None)
    with transaction.atomic():
        shop_ids, staff = _seed_tenancy(now)
    loader = _BulkLoader()
    loader.drop_indexes()
    try:
        rng = random.Random(SEED)
        customers_by_shop = _write_customers(loader, rng, shop_ids, tickets_total, now)
        numbers = _write_tickets(
            loader, rng, shop_ids, customers_by_shop, staff, tickets_total, now
        )
    finally:
        loader.restore_indexes()
    loader.finish()
    for shop_id, last_number in numbers.items():
        Shop.objects.filter(id=shop_id).update(last_ticket_number=last_number)


def _shop_sizes(shop_ids: Sequence[int], total: int) -> dict[int, int]:
    weight_sum = sum(SHOP_WEIGHTS)
    sizes = {
        shop_id: total * weight // weight_sum
        for shop_id, weight in zip(shop_ids, SHOP_WEIGHTS, strict=True)
    }
    sizes[shop_ids[0]] += total - sum(sizes.values())
    return sizes


def _write_customers(
    loader: _BulkLoader,
    rng: random.Random,
    shop_ids: Sequence[int],
    tickets_total: int,
    now: dt.datetime,
) -> dict[int, range]:
    """Write about one customer per three tickets, each with an email identity."""
    created = loader.timestamp(now - dt.timedelta(days=HISTORY_DAYS))
    customers: list[tuple[Any, ...]] = []
    identities: list[tuple[Any, ...]] = []
    ranges: dict[int, range] = {}
    next_id = 1
    for shop_id, size in _shop_sizes(shop_ids, tickets_total).items():
        count = max(1, size // TICKETS_PER_CUSTOMER)
        ranges[shop_id] = range(next_id, next_id + count)
        for customer_id in ranges[shop_id]:
            surname, surname_kana = rng.choice(SURNAMES)
            given, given_kana = rng.choice(GIVEN_NAMES)
            name = f"{surname} {given}"
            customers.append(
                (customer_id, shop_id, name, f"{surname_kana} {given_kana}", "", created, created)
            )
            email = f"customer{customer_id}@example.jp"
            # Stored as the application stores it: encrypted, found by its digest (ADR 0013).
            stored = encrypt(email)
            digest = identity_digest("email", email)
            identities.append(
                (
                    *(customer_id, shop_id, customer_id, "email"),
                    *(stored, stored, digest, name, False, created),
                )
            )
        next_id += count
    loader.write(
        Customer._meta.db_table,
        ("id", "shop_id", "name", "name_kana", "note", "created_at", "updated_at"),
        customers,
    )
    loader.write(
        ContactIdentity._meta.db_table,
        (
            "id",
            "shop_id",
            "customer_id",
            "kind",
            "value",
            "display_value",
            "value_digest",
            "display_name",
            "is_undeliverable",
            "created_at",
        ),
        identities,
    )
    loader.commit()
    return ranges


TICKET_COLUMNS = (
    "id",
    "shop_id",
    "number",
    "subject",
    "status",
    "priority",
    "channel",
    "language",
    "created_at",
    "updated_at",
    "last_activity_at",
    "first_responded_at",
    "solved_at",
    "closed_at",
    "assignee_id",
    "category_id",
    "customer_id",
    "has_failed_delivery",
)
MESSAGE_COLUMNS = (
    "id",
    "shop_id",
    "ticket_id",
    "direction",
    "channel",
    "author_user_id",
    "author_customer_id",
    "body_text",
    "body_html",
    "external_id",
    "delivery_status",
    "delivery_error",
    "created_at",
)


def _write_tickets(
    loader: _BulkLoader,
    rng: random.Random,
    shop_ids: Sequence[int],
    customers_by_shop: dict[int, range],
    staff: _Staff,
    tickets_total: int,
    now: dt.datetime,
) -> dict[int, int]:
    """Write the tickets in creation order (ids interleave the shops) with 2-4 messages each."""
    sizes = _shop_sizes(shop_ids, tickets_total)
    shop_sequence = [shop_id for shop_id, size in sizes.items() for _ in range(size)]
    rng.shuffle(shop_sequence)
    horizon = HISTORY_DAYS * 86_400
    offsets = sorted(rng.random() * horizon for _ in range(tickets_total))
    start = now - dt.timedelta(seconds=horizon)
    numbers = dict.fromkeys(shop_ids, 0)
    subjects = [f"{p}の{t}について" for p in PRODUCTS for t in TOPICS]
    inbound = _bodies(rng, INBOUND_LINES, 200)
    outbound = _bodies(rng, OUTBOUND_LINES, 200)
    notes = _bodies(rng, NOTE_LINES, 50)
    priorities, priority_weights = zip(*PRIORITIES.items(), strict=True)
    channels, channel_weights = zip(*CHANNELS.items(), strict=True)
    status_tables = [
        (limit * 86_400, tuple(weights), tuple(weights.values()))
        for limit, weights in STATUS_BY_AGE
    ]
    message_id = 1
    for chunk_start in range(0, tickets_total, CHUNK):
        chunk_end = min(chunk_start + CHUNK, tickets_total)
        size = chunk_end - chunk_start
        chunk_priorities = rng.choices(priorities, priority_weights, k=size)
        chunk_channels = rng.choices(channels, channel_weights, k=size)
        tickets: list[tuple[Any, ...]] = []
        messages: list[tuple[Any, ...]] = []
        for index in range(chunk_start, chunk_end):
            ticket_id = index + 1
            shop_id = shop_sequence[index]
            numbers[shop_id] += 1
            created = start + dt.timedelta(seconds=int(offsets[index]))
            channel = chunk_channels[index - chunk_start]
            customer_id = rng.choice(customers_by_shop[shop_id])
            operators = staff.operators_by_shop[shop_id]
            # The conversation: an inbound first, then replies and answers, sometimes a note.
            moments = [created]
            for _ in range(rng.randint(1, 3)):
                step = dt.timedelta(seconds=int(rng.expovariate(1 / 21_600)) + 60)
                moments.append(min(moments[-1] + step, now))
            last_activity = moments[-1]
            age = (now - last_activity).total_seconds()
            statuses, weights = next((s, w) for limit, s, w in status_tables if age <= limit)
            status = rng.choices(statuses, weights)[0]
            if status == "new":
                moments = moments[:1]
                last_activity = created
            assigned = rng.random() < (
                0.3 if status == "new" else 0.85 if status in UNSOLVED else 0.95
            )
            assignee_id = (
                (staff.supervisor_id if rng.random() < 0.1 else rng.choice(operators))
                if assigned
                else None
            )
            replier = assignee_id or operators[0]
            first_responded = moments[1] if len(moments) > 1 else None
            solved = last_activity if status in ("solved", "closed") else None
            closed = min(last_activity + dt.timedelta(days=7), now) if status == "closed" else None
            tickets.append(
                (
                    ticket_id,
                    shop_id,
                    numbers[shop_id],
                    rng.choice(subjects),
                    status,
                    chunk_priorities[index - chunk_start],
                    channel,
                    "ja",
                    loader.timestamp(created),
                    loader.timestamp(last_activity),
                    loader.timestamp(last_activity),
                    loader.timestamp(first_responded),
                    loader.timestamp(solved),
                    loader.timestamp(closed),
                    assignee_id,
                    None,
                    customer_id,
                    False,
                )
            )
            for position, moment in enumerate(moments):
                row: tuple[str, int | None, int | None, str, str]
                if position % 2 == 0:
                    row = ("inbound", None, customer_id, rng.choice(inbound), "")
                elif rng.random() < 0.15:
                    row = ("note", replier, None, rng.choice(notes), "")
                else:
                    row = ("outbound", replier, None, rng.choice(outbound), "sent")
                direction, author_user, author_customer, body, delivery = row
                messages.append(
                    (
                        message_id,
                        shop_id,
                        ticket_id,
                        direction,
                        channel,
                        author_user,
                        author_customer,
                        body,
                        "",
                        "",
                        delivery,
                        "",
                        loader.timestamp(moment),
                    )
                )
                message_id += 1
        loader.write(Ticket._meta.db_table, TICKET_COLUMNS, tickets)
        loader.write(Message._meta.db_table, MESSAGE_COLUMNS, messages)
        loader.commit()
        log(f"  {chunk_end:,} tickets, {message_id - 1:,} messages")
    return numbers


def _bodies(rng: random.Random, lines: Sequence[str], count: int) -> list[str]:
    """Return `count` short texts of two or three lines from the vocabulary."""
    bodies = []
    for _ in range(count):
        chosen = rng.sample(list(lines), k=min(len(lines), rng.randint(2, 3)))
        text = "\n".join(chosen)
        bodies.append(text.format(product=rng.choice(PRODUCTS), topic=rng.choice(TOPICS)))
    return bodies


class _BulkLoader:
    """Write rows fast: raw executemany on SQLite, COPY on PostgreSQL; indexes off meanwhile."""

    def __init__(self) -> None:
        connection.ensure_connection()
        self.vendor = connection.vendor
        self.raw: Any = connection.connection
        self.dropped: list[tuple[str, str]] = []
        self.offset = "" if self.vendor == "sqlite" else "+00:00"
        if self.vendor == "sqlite":
            self.raw.execute("PRAGMA foreign_keys=OFF")
            self.raw.execute("PRAGMA synchronous=OFF")
            self.raw.execute("BEGIN")
        else:
            self.raw.autocommit = False
            # Skip the per-row foreign key triggers: the generator keeps every reference valid.
            self.raw.execute("SET session_replication_role = replica")
            self.raw.execute("SET maintenance_work_mem = '512MB'")

    def timestamp(self, moment: dt.datetime | None) -> str | None:
        """Return a naive UTC `moment` as the engine reads it (SQLite stores UTC text)."""
        return None if moment is None else f"{moment}{self.offset}"

    def drop_indexes(self) -> None:
        tables = list(BULK_TABLES)
        if self.vendor == "sqlite":
            rows = self.raw.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                f" AND tbl_name IN ({', '.join('?' for _ in tables)})",
                tables,
            ).fetchall()
        else:
            rows = self.raw.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
                " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
                " WHERE t.relname = ANY(%s) AND NOT EXISTS"
                " (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
                (tables,),
            ).fetchall()
        for name, definition in rows:
            self.raw.execute(f'DROP INDEX "{name}"')
            self.dropped.append((name, definition))
        self.commit()

    def restore_indexes(self) -> None:
        started = time.perf_counter()
        for _name, definition in self.dropped:
            self.raw.execute(definition)
        self.commit()
        log(f"  rebuilt {len(self.dropped)} indexes in {time.perf_counter() - started:.1f} s")

    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if self.vendor == "sqlite":
            placeholders = ", ".join("?" for _ in columns)
            self.raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows
            )
            return
        with (
            self.raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def commit(self) -> None:
        if self.vendor == "sqlite":
            self.raw.execute("COMMIT")
            self.raw.execute("BEGIN")
        else:
            self.raw.commit()

    def finish(self) -> None:
        """Commit, reset the id sequences, and gather planner statistics."""
        started = time.perf_counter()
        if self.vendor == "sqlite":
            self.raw.execute("COMMIT")
            self.raw.execute("PRAGMA foreign_keys=ON")
            self.raw.execute("PRAGMA synchronous=NORMAL")
            self.raw.execute("ANALYZE")
            self.raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            for table in BULK_TABLES:
                self.raw.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT MAX(id) FROM {table}))"
                )
            self.raw.execute("SET session_replication_role = DEFAULT")
            self.raw.commit()
            self.raw.autocommit = True
            self.raw.execute("VACUUM ANALYZE")
        log(f"  analyzed in {time.perf_counter() - started:.1f} s")
