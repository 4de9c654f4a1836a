"""Time the public help center's search at 10,000 articles in one shop (issue #16: p95 <= 20 ms).

The dataset is one shop's 10,000 published public Japanese articles (plus 1,000 internal ones
and 1,000 drafts the help center must skip, and a second shop of 2,000 articles whose postings
must not be read), generated from FAQ phrases with a fixed seed, written with bulk inserts and
indexed with `knowledge.index.index_put_many`, as publishing does. It is kept in `.bench/`
(SQLite) or its own PostgreSQL database and reused; the scale argument does not change it.

Cases: a common two-character word (送料), a word in half the articles (返品), a rare product
name, a phrase that must occur as written (在庫を確認), a reading in hiragana for a katakana
word (ぽいんと), two words (ギフト 包装), an exclusion (返品 -みかん) and a word no article has.
A call is `selectors.help_search` as the search page runs it (20 results, titles and bodies
loaded); `suggest_http` is the whole suggestion endpoint the web form calls, middleware included.
"""

from __future__ import annotations

import random
import time
from typing import Any

from benchmarks.harness import Result, log, run_engines, time_calls

ARTICLES = 10_000
OTHER_SHOP_ARTICLES = 2_000
HIDDEN = 1_000
TARGET_MS = 20.0
# The whole suggestion request: middleware, the shop's settings, the rate-limit counter (a write
# to the shared cache), JSON. The 20 ms is the search itself.
HTTP_TARGET_MS = 50.0
REQUESTS = 200
WARMUP = 20
CHUNK = 2_000
SEED = 20261207
DATASET = "help_search_v2"

TOPICS = [
    ("送料", "送料は全国一律{price}円です。{amount}円以上のご注文で送料無料になります。"),
    ("返品", "返品は商品到着後{days}日以内にマイページからお申し込みください。"),
    ("交換", "サイズ交換は一回まで無料です。返品と同時にはお受けできません。"),
    ("お届け日", "お届け日は注文から{days}日後以降で指定できます。沖縄・離島は除きます。"),
    ("在庫", "在庫を確認してからご連絡します。再入荷のお知らせはメールで届きます。"),
    ("ポイント", "ポイントは1ポイント1円としてお使いいただけます。有効期限は{days}か月です。"),
    ("ギフト", "ギフト包装は1点{price}円で承ります。のし紙もお選びいただけます。"),
    ("支払い", "お支払いはクレジットカード、銀行振込、コンビニ払い、代金引換から選べます。"),
    ("領収書", "領収書は注文履歴からPDFでダウンロードできます。宛名も指定できます。"),
    ("配送", "配送はヤマト運輸と佐川急便です。沖縄への配送は{days}日ほどかかります。"),
]
PRODUCTS = [
    "湯呑み", "急須", "煎茶ティーバッグ", "抹茶", "ほうじ茶", "マグカップ", "土鍋", "箸置き",
    "ワイヤレスイヤホン", "ＵＳＢケーブル", "ﾊﾝﾄﾞｸﾘｰﾑ", "トートバッグ", "スニーカー", "お米",
    "みかん", "ギフトセット",
]  # fmt: skip
RARE_PRODUCT = "瑠璃釉小鉢"


def run(scale: str) -> list[Result]:
    return run_engines(__name__, scale, dataset=DATASET)


def _article_text(rng: random.Random, number: int) -> tuple[str, str]:
    topic, template = TOPICS[number % len(TOPICS)]
    product = RARE_PRODUCT if number % 997 == 0 else rng.choice(PRODUCTS)
    second = rng.choice(TOPICS)[1]
    values = {"price": rng.choice([110, 330, 660, 880]), "amount": 5400, "days": rng.randint(2, 14)}
    title = f"{product}の{topic}について（{number}）"
    body = "\n".join(
        [
            template.format(**values),
            second.format(**values),
            f"{product}についてのご質問は、お問い合わせフォームからお送りください。",
        ]
    )
    if number % 2 == 0 and topic != "返品":
        body += "\n返品をご希望の場合は別のページをご覧ください。"
    return title, body


def _seed(shop_id: int, count: int, rng: random.Random, *, hidden: int) -> None:
    from madoguchi.knowledge.index import index_put_many
    from madoguchi.knowledge.models import Article

    rows: list[Article] = []
    for number in range(count + 2 * hidden):
        title, body = _article_text(rng, number)
        if number < count:
            status, visibility = Article.Status.PUBLISHED, Article.Visibility.PUBLIC
        elif number < count + hidden:
            status, visibility = Article.Status.PUBLISHED, Article.Visibility.INTERNAL
        else:
            status, visibility = Article.Status.DRAFT, Article.Visibility.PUBLIC
        rows.append(
            Article(
                shop_id=shop_id,
                title=title,
                body=body,
                status=status,
                visibility=visibility,
                language="ja",
            )
        )
    for start in range(0, len(rows), CHUNK):
        created = Article.objects.bulk_create(rows[start : start + CHUNK])
        index_put_many(
            [
                (article.pk, shop_id, "ja", article.visibility, article.title, article.body)
                for article in created
                if article.status == Article.Status.PUBLISHED
            ]
        )


def ensure_dataset() -> tuple[Any, int]:
    """Migrate, then seed the two shops unless the database already holds them."""
    from django.core.management import call_command
    from django.db import transaction

    from madoguchi.knowledge.models import Article
    from madoguchi.tenancy.models import Shop, Workspace
    from madoguchi.tenancy.scoping import unscoped

    call_command("migrate", "knowledge", verbosity=0)
    with unscoped("the help-search benchmark seeds its shops"):
        workspace, _ = Workspace.objects.get_or_create(
            slug="bench-help", defaults={"name": "ヘルプベンチ", "kind": "merchant"}
        )
        shops = []
        for index, count in enumerate((ARTICLES, OTHER_SHOP_ARTICLES)):
            shop, _ = Shop.objects.get_or_create(
                slug=f"bench-help-{index}",
                defaults={
                    "workspace": workspace,
                    "name": f"ヘルプ店{index}",
                    "ticket_prefix": f"H{index}",
                },
            )
            shops.append(shop)
            if Article.objects.filter(shop=shop).count() != count + 2 * HIDDEN:
                started = time.perf_counter()
                Article.objects.filter(shop=shop).delete()
                with transaction.atomic():
                    _seed(shop.id, count, random.Random(SEED + index), hidden=HIDDEN)
                log(f"  seeded {count} articles in {time.perf_counter() - started:.0f} s")
        total = Article.objects.count()
    return shops[0], total


CASES = [
    ("common_word", "送料"),
    ("half_the_articles", "返品"),
    ("rare_product", RARE_PRODUCT),
    ("phrase", "在庫を確認"),
    ("hiragana_reading", "ぽいんと"),
    ("two_words", "ギフト 包装"),
    ("exclusion", "返品 -みかん"),
    ("no_match", "存在しない語"),
]


def measure(*, engine: str, scale: str) -> list[Result]:
    """Seed (or reuse) the articles, then time the help center's search per case."""
    from django.test import Client
    from django.urls import reverse

    from madoguchi.knowledge.selectors import help_search
    from madoguchi.tenancy.scoping import in_shop

    shop, total = ensure_dataset()
    results: list[Result] = []

    def record(
        case: str, query: str, timing: dict[str, Any], hits: int, target: float = TARGET_MS
    ) -> None:
        result = {
            "benchmark": f"help_search_{case}",
            "engine": engine,
            "scale": scale,
            "query": query,
            "rows": {"articles": total, "shop_articles": ARTICLES},
            "hits": hits,
            **timing,
            "target_ms": target,
            "meets_target": timing["p95_ms"] <= target,
        }
        log(f"  {case}: p50 {timing['p50_ms']} ms, p95 {timing['p95_ms']} ms ({hits} hits)")
        results.append(result)

    for case, query in CASES:

        def call(query: str = query) -> Any:
            with in_shop(shop.id):
                return help_search(shop=shop, query=query, language="ja")

        hits = len(call())
        record(case, query, time_calls(call, n=REQUESTS, warmup=WARMUP), hits)

    client = Client()
    url = reverse("knowledge:help_suggest", args=[shop.slug])

    def suggest() -> Any:
        response = client.get(url, {"q": "ギフト包装", "source": "webform"})
        assert response.status_code == 200, response.status_code
        return response.json()["articles"]

    hits = len(suggest())
    timing = time_calls(suggest, n=REQUESTS, warmup=WARMUP)
    record("suggest_http", "ギフト包装", timing, hits, HTTP_TARGET_MS)
    return results
