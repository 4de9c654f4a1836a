"""Time Japanese search at scale: the first page of results for typical queries.

The dataset goes straight into the search tables with bulk SQL (the search documents and the
engine's index: FTS5 on SQLite, COPY with the tsvector and a GIN index built afterwards on
PostgreSQL): one document per ticket holding its subject and three messages (so 3 messages per
ticket), plus one customer document for every fourth ticket, over 20 shops. The text is
generated from realistic support-mail phrases: product names, order numbers, names in kanji and
kana, phone numbers. The dataset is kept in `.bench/` (SQLite) or its own database and reused.

Cases: a two-character word (返品), a one-character word, a phrase ("在庫を確認"), a customer
name (山田太郎, as kanji and as a kana reading), an order number inside sentences, a phone
number typed without hyphens, and an AND/exclusion query; each for an agency supervisor who
sees all 20 shops and for an operator of one shop. A call is `search()` as the results page
runs it: tickets and customers, 25 each, with snippets.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.harness import BENCH_DIR, Result, log, run_engines, ticket_count, time_calls

TARGET_MS = 100.0
REQUESTS = 100
WARMUP = 10
SHOPS = 20
CHUNK = 5_000
SEED = 20261126

SURNAMES = [
    ("山田", "ヤマダ"), ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"),
    ("田中", "タナカ"), ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("中村", "ナカムラ"),
    ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山本", "ヤマモト"),
    ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"),
    ("清水", "シミズ"), ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"),
    ("橋本", "ハシモト"), ("阿部", "アベ"), ("石川", "イシカワ"), ("髙木", "タカギ"),
    ("前田", "マエダ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"), ("岡田", "オカダ"),
]  # fmt: skip
GIVEN_NAMES = [
    ("太郎", "タロウ"), ("花子", "ハナコ"), ("美咲", "ミサキ"), ("翔太", "ショウタ"),
    ("陽菜", "ヒナ"), ("大輝", "ダイキ"), ("結衣", "ユイ"), ("健一", "ケンイチ"),
    ("直美", "ナオミ"), ("誠", "マコト"), ("恵子", "ケイコ"), ("浩二", "コウジ"),
    ("由美", "ユミ"), ("拓也", "タクヤ"), ("さくら", "サクラ"), ("蓮", "レン"),
    ("明美", "アケミ"), ("隆", "タカシ"), ("愛", "アイ"), ("悠斗", "ユウト"),
]  # fmt: skip
PRODUCTS = [
    "湯呑み", "急須", "煎茶ティーバッグ", "抹茶", "ほうじ茶", "iPhoneケース", "マグカップ",
    "土鍋", "箸置き", "ワイヤレスイヤホン", "ＵＳＢケーブル", "ﾊﾝﾄﾞｸﾘｰﾑ", "トートバッグ",
    "Tシャツ（Mサイズ）", "スニーカー 25.5cm", "お米 5kg", "みかん 10kg", "ギフトセット",
]  # fmt: skip
SUBJECTS = [
    "{product}の返品について", "{product}の交換をお願いします", "配送状況の確認",
    "注文のキャンセルについて", "お届け日の変更希望", "{product}が届きません",
    "請求金額について", "領収書の発行依頼", "{product}の在庫について",
    "ポイントが付与されていません",
    "Re: ご注文ありがとうございます", "【至急】{product}が破損していました", "住所変更のお願い",
]  # fmt: skip
INQUIRIES = [
    "お世話になっております。先日注文した{product}ですが、イメージと違ったため返品を希望します。"
    "注文番号{order}です。",
    "{product}が届いたのですが、箱がつぶれていて中身が破損していました。交換していただけますか。"
    "注文番号は{order}です。",
    "注文番号{order}の{product}はいつ頃発送されますか。まだ配送のお知らせが届いていません。",
    "{date}に届くように注文しましたが、{date2}～{date3}の間で配達日を変更できますか。",
    "{product}の色違いはありますか。在庫を確認していただけると助かります。",
    "クレジットカードで支払いましたが、二重に請求されているようです。注文番号{order}をご確認ください。",
    "ギフト用に包装をお願いしたいのですが、のし紙は付けられますか。",
    "サイズが合わなかったので、ワンサイズ大きいものと交換をお願いします。ﾍﾝﾋﾟﾝ送料はどうなりますか。",
]  # fmt: skip
REPLIES = [
    "{surname}様 お問い合わせいただきありがとうございます。担当の者が確認いたします。",
    "{surname}様 ご不便をおかけして申し訳ございません。返品の手続きをご案内いたします。"
    "商品到着後、3営業日以内に返金いたします。",
    "{surname}様 配送状況を確認しましたところ、明日のお届け予定となっております。",
    "{surname}様 在庫を確認いたしました。ご希望の商品は来週入荷予定です。",
    "{surname}様 交換品を本日発送いたしました。追跡番号は{tracking}です。",
]  # fmt: skip
FOLLOW_UPS = [
    "ご対応ありがとうございます。よろしくお願いいたします。{name} 電話 {phone}",
    "承知しました。返品の送り先を教えてください。{name}",
    "まだ届いていないのですが、もう一度確認していただけますか。{name}（{phone}）",
    "無事に届きました。ありがとうございました。{name}",
]  # fmt: skip
STATUSES = ["new", "open", "pending", "solved", "closed", "closed", "solved"]
ORDER_STATUSES = ["new", "processing", "shipped", "shipped", "completed"]
CHANNELS = ["email", "email", "email", "web_form", "line", "phone"]


def run(scale: str) -> list[Result]:
    return run_engines(__name__, scale, dataset="search_v3")


@dataclass(frozen=True)
class SearchWorld:
    shop_ids: list[int]
    tickets: int
    documents: int
    order_number: str
    phone_digits: str
    tracking_digits: str


@dataclass(frozen=True)
class _Document:
    id: int
    shop_id: int
    kind: str
    object_id: int
    number: int | None
    title: str
    status: str
    channel: str
    activity_at: dt.datetime
    content: str
    tokens: list[str]


def _order_number(ticket: int) -> str:
    return f"{1_000_000 + ticket * 7 % 8_999_999}"


def _tracking(ticket: int) -> str:
    return f"{4000 + ticket * 13 % 6000}-{1000 + ticket * 53 % 9000}-{1000 + ticket * 29 % 9000}"


def _phone(ticket: int) -> str:
    return f"0{'789'[ticket % 3]}0-{1000 + ticket * 37 % 9000}-{1000 + ticket * 91 % 9000}"


def _documents(total_tickets: int, shop_ids: Sequence[int]) -> Iterator[_Document]:
    """Yield the documents in id (= activity) order: tickets, a customer every 4th and an
    order every 2nd (its number, a shipment's tracking number, the customer's name)."""
    from madoguchi.search.fulltext import document_tokens
    from madoguchi.search.normalize import normalize_text, search_form
    from madoguchi.search.tokens import index_tokens

    rng = random.Random(SEED)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    span = dt.timedelta(days=700).total_seconds()
    doc_id = 0
    for ticket in range(1, total_tickets + 1):
        shop_id = shop_ids[ticket % len(shop_ids)]
        surname, surname_kana = rng.choice(SURNAMES)
        given, given_kana = rng.choice(GIVEN_NAMES)
        name = f"{surname}{given}"
        phone = _phone(ticket)
        product = rng.choice(PRODUCTS)
        day = rng.randint(1, 28)
        values = {
            "product": product,
            "order": _order_number(ticket),
            "date": f"{rng.randint(1, 12)}月{day}日",
            "date2": f"{day}日",
            "date3": f"{min(day + 2, 31)}日",
            "surname": surname,
            "name": name,
            "phone": phone,
            "tracking": "-".join(str(rng.randint(1000, 9999)) for _ in range(3)),
        }
        subject = rng.choice(SUBJECTS).format(**values)
        inquiry = rng.choice(INQUIRIES)
        if "{order}" not in inquiry:
            inquiry += "（注文番号：{order}）"
        messages = [
            inquiry.format(**values),
            rng.choice(REPLIES).format(**values),
            rng.choice(FOLLOW_UPS).format(**values),
        ]
        activity_at = start + dt.timedelta(seconds=span * ticket / total_tickets)
        if ticket % 4 == 0:
            doc_id += 1
            content = normalize_text(
                f"{surname} {given} {surname}{given} {surname_kana} {given_kana} "
                f"{surname_kana}{given_kana} "
                f"customer{ticket}@example.jp {phone} {phone.replace('-', '')}"
            )
            yield _Document(
                id=doc_id,
                shop_id=shop_id,
                kind="customer",
                object_id=ticket // 4,
                number=None,
                title=f"{surname} {given}",
                status="",
                channel="",
                activity_at=activity_at,
                content=content,
                tokens=document_tokens(
                    shop_id=shop_id, kind="customer", tokens=index_tokens(search_form(content))
                ),
            )
        if ticket % 2 == 0:
            doc_id += 1
            number = _order_number(ticket)
            tracking = _tracking(ticket)
            content = normalize_text(
                f"{number} {tracking} {tracking.replace('-', '')} {surname} {given} "
                f"{surname}{given} {surname_kana} {given_kana}"
            )
            yield _Document(
                id=doc_id,
                shop_id=shop_id,
                kind="order",
                object_id=ticket // 2,
                number=None,
                title=number,
                status=rng.choice(ORDER_STATUSES),
                channel="",
                activity_at=activity_at,
                content=content,
                tokens=document_tokens(
                    shop_id=shop_id, kind="order", tokens=index_tokens(search_form(content))
                ),
            )
        doc_id += 1
        content = normalize_text(" ".join([subject, *messages]))
        yield _Document(
            id=doc_id,
            shop_id=shop_id,
            kind="ticket",
            object_id=ticket,
            number=ticket // len(shop_ids) + 1,
            title=normalize_text(subject),
            status=rng.choice(STATUSES),
            channel=rng.choice(CHANNELS),
            activity_at=activity_at,
            content=content,
            tokens=document_tokens(
                shop_id=shop_id, kind="ticket", tokens=index_tokens(search_form(content))
            ),
        )


def _cached_documents(total_tickets: int, shop_ids: Sequence[int]) -> Iterator[_Document]:
    """Yield the documents from `.bench/search-documents-N.tsv`, writing it on first use.

    Cutting the tokens is the slow part of seeding; both engines read the same file.
    """
    path = BENCH_DIR / f"search-documents-v4-{total_tickets}-{'-'.join(map(str, shop_ids))}.tsv"
    if not path.exists():
        partial = path.with_suffix(".partial")
        with partial.open("w", encoding="utf-8") as out:
            for d in _documents(total_tickets, shop_ids):
                number = "" if d.number is None else str(d.number)
                out.write(
                    f"{d.id}\t{d.shop_id}\t{d.kind}\t{d.object_id}\t{number}\t{d.title}\t"
                    f"{d.status}\t{d.channel}\t{d.activity_at.isoformat()}\t{d.content}\t"
                    f"{' '.join(d.tokens)}\n"
                )
        partial.rename(path)
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            yield _Document(
                id=int(fields[0]),
                shop_id=int(fields[1]),
                kind=fields[2],
                object_id=int(fields[3]),
                number=int(fields[4]) if fields[4] else None,
                title=fields[5],
                status=fields[6],
                channel=fields[7],
                activity_at=dt.datetime.fromisoformat(fields[8]),
                content=fields[9],
                tokens=fields[10].split(" "),
            )


def _chunks(documents: Iterator[_Document], size: int) -> Iterator[list[_Document]]:
    chunk: list[_Document] = []
    for document in documents:
        chunk.append(document)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _seed_shops() -> list[int]:
    from madoguchi.tenancy.models import Shop, Workspace

    workspace, _ = Workspace.objects.get_or_create(
        slug="bench-search", defaults={"name": "検索ベンチ", "kind": "merchant"}
    )
    shop_ids = []
    for index in range(SHOPS):
        shop, _ = Shop.objects.get_or_create(
            slug=f"bench-search-{index:02d}",
            defaults={
                "workspace": workspace,
                "name": f"ベンチ店{index:02d}",
                "ticket_prefix": f"B{index:02d}",
            },
        )
        shop_ids.append(shop.id)
    return shop_ids


def _seeded_tickets() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(object_id) FROM search_searchdocument WHERE kind = 'ticket' "
            "AND is_internal = %s",
            [False],
        )
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


def ensure_search_dataset(scale: str) -> SearchWorld:
    """Migrate, then seed the documents unless the database already holds this scale."""
    from django.core.management import call_command
    from django.db import connection

    from madoguchi.tenancy.scoping import unscoped

    call_command("migrate", "search", verbosity=0)
    total = ticket_count(scale)
    with unscoped("the search benchmark seeds every shop"):
        shop_ids = _seed_shops()
        if _seeded_tickets() != total:
            started = time.perf_counter()
            if connection.vendor == "sqlite":
                _load_sqlite(total, shop_ids)
            else:
                _load_postgres(total, shop_ids)
            log(f"  seeded {total} tickets in {time.perf_counter() - started:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM search_searchdocument")
            documents = int(cursor.fetchone()[0])
    probe = total // 2
    return SearchWorld(
        shop_ids=shop_ids,
        tickets=total,
        documents=documents,
        order_number=_order_number(probe),
        phone_digits=_phone(probe).replace("-", ""),
        tracking_digits=_tracking(probe - probe % 2).replace("-", ""),
    )


def _load_sqlite(total: int, shop_ids: Sequence[int]) -> None:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
        cursor.execute("DELETE FROM search_searchdocument")
        cursor.execute("PRAGMA synchronous=OFF")
    done = 0
    for chunk in _chunks(_cached_documents(total, shop_ids), CHUNK):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO search_searchdocument (id, shop_id, kind, object_id, is_internal, "
                "number, title, status, channel, activity_at, content) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (d.id, d.shop_id, d.kind, d.object_id, False, d.number, d.title, d.status,
                     d.channel, d.activity_at, d.content)
                    for d in chunk
                ],
            )  # fmt: skip
            cursor.executemany(
                "INSERT INTO search_fts (rowid, tokens) VALUES (%s, %s)",
                [(d.id, " ".join(d.tokens)) for d in chunk],
            )
        done += sum(1 for d in chunk if d.kind == "ticket")
        if done % 100_000 < CHUNK:
            log(f"  sqlite: {done} tickets")
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
        cursor.execute("ANALYZE")


def _tsvector_text(tokens: Sequence[str]) -> str:
    return " ".join(f"'{token}'" for token in dict.fromkeys(tokens))


def _load_postgres(total: int, shop_ids: Sequence[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE search_searchdocument")
        cursor.execute("DROP INDEX IF EXISTS search_document_vector")
        raw = cursor.cursor
        done = 0
        for chunk in _chunks(_cached_documents(total, shop_ids), CHUNK):
            with raw.copy(
                "COPY search_searchdocument (id, shop_id, kind, object_id, is_internal, number, "
                "title, status, channel, activity_at, content, search_vector) FROM STDIN"
            ) as copy:
                for d in chunk:
                    copy.write_row(
                        (d.id, d.shop_id, d.kind, d.object_id, False, d.number, d.title,
                         d.status, d.channel, d.activity_at, d.content, _tsvector_text(d.tokens))
                    )  # fmt: skip
            done += sum(1 for d in chunk if d.kind == "ticket")
            if done % 100_000 < CHUNK:
                log(f"  postgresql: {done} tickets")
        log("  postgresql: building the GIN index")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(
            "CREATE INDEX search_document_vector ON search_searchdocument USING gin (search_vector)"
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('search_searchdocument', 'id'), "
            "(SELECT max(id) FROM search_searchdocument))"
        )
        cursor.execute("VACUUM ANALYZE search_searchdocument")


def _cases(world: SearchWorld) -> list[tuple[str, str]]:
    return [
        ("two_character_word", "返品"),
        ("one_character_word", "茶"),
        ("phrase", '"在庫を確認"'),
        ("customer_name", "山田太郎"),
        ("customer_name_kana", "やまだ たろう"),
        ("order_number", world.order_number),
        ("phone_without_hyphens", world.phone_digits),
        ("tracking_without_hyphens", world.tracking_digits),
        ("and_exclude", "交換 配送 -返品"),
        ("width_variant", "ﾍﾝﾋﾟﾝ"),
    ]


def measure(*, engine: str, scale: str) -> list[Result]:
    """Seed (or reuse) the documents, then time `search()` per case and actor."""
    from madoguchi.search.selectors import search
    from madoguchi.tenancy.access import Actor, Role, ShopGrant
    from madoguchi.tenancy.scoping import shop_scope

    world = ensure_search_dataset(scale)

    def actor_for(shop_ids: Sequence[int], role: Role) -> Actor:
        grants = {
            shop_id: ShopGrant(shop_id=shop_id, role=role, is_trainee=False, via_engagement=True)
            for shop_id in shop_ids
        }
        return Actor(user=None, grants=grants)

    actors = {
        "supervisor_20_shops": actor_for(world.shop_ids, Role.SUPERVISOR),
        "operator_1_shop": actor_for(world.shop_ids[:1], Role.OPERATOR),
    }
    plans: list[str] = []
    results: list[Result] = []
    for actor_name, actor in actors.items():
        for case, query in _cases(world):

            def call(actor: Actor = actor, query: str = query) -> Any:
                with shop_scope(actor.shop_ids):
                    return search(actor=actor, query=query)

            found = call()
            plans.append(_plan(engine, actor_name, case, call))
            timing = time_calls(call, n=REQUESTS, warmup=WARMUP)
            result = {
                "benchmark": f"search_{case}",
                "engine": engine,
                "scale": scale,
                "actor": actor_name,
                "query": query,
                "rows": {"tickets": world.tickets, "documents": world.documents},
                "ticket_hits": len(found.tickets.hits),
                "customer_hits": len(found.customers.hits),
                "order_hits": len(found.orders.hits),
                **timing,
                "target_ms": TARGET_MS,
                "meets_target": timing["p95_ms"] <= TARGET_MS,
            }
            log(
                f"  {actor_name} {case}: p50 {timing['p50_ms']} ms, p95 {timing['p95_ms']} ms "
                f"({result['ticket_hits']} tickets, {result['customer_hits']} customers, "
                f"{result['order_hits']} orders)"
            )
            results.append(result)
    (BENCH_DIR / f"plans-search-{engine}-{scale}.txt").write_text("\n\n".join(plans))
    return results


def _plan(engine: str, actor_name: str, case: str, call: Callable[[], Any]) -> str:
    """Return the SQL a call runs, with the engine's plan of each statement."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    explain = "EXPLAIN (ANALYZE, BUFFERS) " if engine == "postgresql" else "EXPLAIN QUERY PLAN "
    lines = [f"== {actor_name} {case}"]
    for query in captured.captured_queries:
        sql = query["sql"]
        if "search_searchdocument" not in sql:
            continue
        lines.append(f"-- {query['time']} s: {sql}")
        with connection.cursor() as cursor:
            try:
                cursor.execute(explain + sql)
                lines.extend(" | ".join(str(column) for column in row) for row in cursor.fetchall())
            except Exception as error:  # a plan that cannot be shown is noted
                lines.append(f"(no plan: {error})")
    return "\n".join(lines)
