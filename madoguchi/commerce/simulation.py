"""Generate a month of bank-transfer orders and the deposits that pay them, with real noise.

Used by the reconciliation test and `benchmarks/bench_reconcile.py`. Every deposit carries its
ground truth: the orders it pays, and whether the evidence is enough to apply it without a
person ("matchable": a full name reading in any spelling, or an order number, together with
the exact amount, the amount less a bank fee, or the sum of two orders).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from madoguchi.commerce.banking import zengin
from madoguchi.commerce.banking.kana import to_bank_kana
from madoguchi.commerce.banking.reconcile import TRANSFER_FEES
from madoguchi.commerce.models import Order, OrderLine, PaymentMethod
from madoguchi.customers.models import Customer

if TYPE_CHECKING:
    from madoguchi.tenancy.models import Shop

FAMILY = (
    "ヤマダ",
    "サトウ",
    "スズキ",
    "タカハシ",
    "タナカ",
    "イトウ",
    "ワタナベ",
    "ナカムラ",
    "コバヤシ",
    "カトウ",
    "ヨシダ",
    "ヤマモト",
    "ササキ",
    "ヤマグチ",
    "マツモト",
    "イノウエ",
    "キムラ",
    "ハヤシ",
    "シミズ",
    "ヤマザキ",
    "モリ",
    "アベ",
    "イケダ",
    "ハシモト",
    "ヤマシタ",
    "イシカワ",
    "ナカジマ",
    "マエダ",
    "フジタ",
    "オガワ",
    "ゴトウ",
    "オカダ",
    "ハセガワ",
    "ムラカミ",
    "キョウゴク",
    "ショウジ",
)
GIVEN = (
    "タロウ",
    "ハナコ",
    "ユウキ",
    "ショウタ",
    "キョウコ",
    "リョウ",
    "ユウコ",
    "ケンタ",
    "ミサキ",
    "ダイスケ",
    "アヤカ",
    "ショウコ",
    "ジュンイチ",
    "マユミ",
    "ヒロシ",
    "ユカリ",
    "タクヤ",
    "チヒロ",
    "シュウヘイ",
    "ナオキ",
    "ヨウコ",
    "カズヤ",
    "メグミ",
    "リュウジ",
    "サキ",
    "ユウト",
    "マリ",
    "コウジ",
    "エミ",
)
COMPANIES = ("アオキトウボウ", "ミドリショウカイ", "サクラデザイン", "ヒカリサービス", "カワセミ")
UNRELATED = ("ｶ)ｱﾏｿﾞﾝｼﾞﾔﾊﾟﾝ", "ﾘｿｸ", "ｺｸｾﾞｲｶﾝﾌﾟ", "ｶ)ﾔﾏﾄｳﾝﾕ", "ﾆﾎﾝﾕｳﾋﾞﾝ", "ｼﾞﾕｳｷﾞﾖｳｲﾝ")
PRICES = (540, 864, 1080, 1296, 1620, 2160, 2700, 3240, 3888, 4320, 5400, 6480)
SHIPPING = (0, 550, 880, 1100)
TOKYO = ZoneInfo("Asia/Tokyo")


@dataclass
class Truth:
    """What a generated deposit really is."""

    order_ids: tuple[int, ...]
    kind: str
    is_matchable: bool


@dataclass
class Month:
    orders: list[Order]
    zengin_file: bytes
    created_on: dt.date
    truth_by_reference: dict[str, Truth] = field(default_factory=dict)


def _variant(rng: random.Random, reading: str) -> str:
    """A bank-form spelling of a full reading: spacing and long-vowel marks vary."""
    name = to_bank_kana(reading)
    choice = rng.random()
    if choice < 0.4:
        name = name.replace(" ", "")
    elif choice < 0.5:
        name = name.replace(" ", "  ")
    if "ｰ" in name and rng.random() < 0.5:
        name = name.replace("ｰ", "-")
    return name


def _reading_spelling(rng: random.Random, family: str, given: str) -> str:
    """How the shop stored the reading: katakana or hiragana, with or without a space."""
    reading = f"{family} {given}" if rng.random() < 0.7 else f"{family}{given}"
    if rng.random() < 0.3:
        reading = "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in reading)
    if rng.random() < 0.2:
        reading = reading.replace(" ", "\u3000")
    return reading


def generate_month(
    *, shop: Shop, order_count: int = 1000, seed: int = 20261101, unrelated: int = 40
) -> Month:
    """Create customers and orders of November 2026 in `shop` and a Zengin file of deposits."""
    rng = random.Random(seed)
    start = dt.date(2026, 11, 1)
    customers: list[tuple[Customer, str, str, bool]] = []
    customer_rows = []
    for index in range(max(order_count * 4 // 5, 1)):
        if index % 40 == 7:
            company = COMPANIES[index // 40 % len(COMPANIES)] + "".join(
                rng.choice("アイウエオカキクケコ") for _ in range(2)
            )
            customer_rows.append(
                (
                    Customer(shop=shop, name=f"株式会社{company}", name_kana=company),
                    company,
                    "",
                    True,
                )
            )
            continue
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        customer_rows.append(
            (
                Customer(
                    shop=shop,
                    name=f"{family}{given}",
                    name_kana=_reading_spelling(rng, family, given),
                ),
                family,
                given,
                False,
            )
        )
    created = Customer.objects.bulk_create([row[0] for row in customer_rows])
    customers = [
        (customer, row[1], row[2], row[3])
        for customer, row in zip(created, customer_rows, strict=True)
    ]

    orders: list[Order] = []
    order_owner: list[int] = []
    lines: list[OrderLine] = []
    for index in range(order_count):
        owner = index if index < len(customers) else rng.randrange(len(customers))
        customer = customers[owner][0]
        day = start + dt.timedelta(days=rng.randrange(30))
        placed_at = dt.datetime.combine(day, dt.time(rng.randrange(8, 23), rng.randrange(60)))
        prices = [rng.choice(PRICES) for _ in range(rng.randint(1, 3))]
        shipping = rng.choice(SHIPPING)
        total = sum(prices) + shipping
        orders.append(
            Order(
                shop=shop,
                number=str(10001 + index),
                number_key=str(10001 + index),
                number_digits=str(10001 + index),
                customer=customer,
                source=Order.Source.CSV,
                placed_at=placed_at.replace(tzinfo=TOKYO),
                payment_method=(
                    PaymentMethod.BANK_TRANSFER if rng.random() < 0.85 else PaymentMethod.CARD
                ),
                payment_due_on=day + dt.timedelta(days=7),
                items_total=sum(prices),
                shipping_fee=shipping,
                total=total,
                total_10=total,
                tax_10=total * 10 // 110,
            )
        )
        order_owner.append(owner)
    orders = Order.objects.bulk_create(orders)
    for order in orders:
        lines.append(
            OrderLine(shop=shop, order=order, name="煎茶 100g", unit_price=order.items_total)
        )
    OrderLine.objects.bulk_create(lines)

    truth: dict[str, Truth] = {}
    transfers: list[zengin.TransferToWrite] = []
    by_owner: dict[int, list[Order]] = {}
    for order, owner in zip(orders, order_owner, strict=True):
        if order.payment_method == PaymentMethod.BANK_TRANSFER:
            by_owner.setdefault(owner, []).append(order)

    def add(amount: int, name: str, day: dt.date, orders_paid: tuple[int, ...], kind: str) -> None:
        reference = str(len(transfers) + 1)
        matchable = kind in {"exact", "fee", "number", "combined", "company", "typo"}
        transfers.append(zengin.TransferToWrite(reference, day, amount, name[:48]))
        truth[reference.rjust(6, "0")] = Truth(orders_paid, kind, matchable)

    for owner, owned in by_owner.items():
        customer, family, given, is_company = customers[owner]
        reading = customer.name_kana if is_company else f"{family} {given}"
        if len(owned) >= 2 and rng.random() < 0.35:
            pair, owned = owned[:2], owned[2:]
            day = max(o.placed_at.astimezone(TOKYO).date() for o in pair)
            day += dt.timedelta(days=rng.randint(0, 5))
            name = _variant(rng, reading)
            add(sum(o.total for o in pair), name, day, tuple(o.id for o in pair), "combined")
        for order in owned:
            day = order.placed_at.astimezone(TOKYO).date() + dt.timedelta(days=rng.randint(0, 6))
            roll = rng.random()
            name = _variant(rng, reading)
            if is_company:
                prefix = rng.choice(("ｶ)", "ｶ) ", "(ｶ)"))
                add(
                    order.total,
                    prefix + name if rng.random() < 0.6 else name + ")ｶ",
                    day,
                    (order.id,),
                    "company",
                )
            elif roll < 0.60:
                add(order.total, name, day, (order.id,), "exact")
            elif roll < 0.70 and order.total > 1000:
                add(order.total - rng.choice(TRANSFER_FEES), name, day, (order.id,), "fee")
            elif roll < 0.80:
                typed = f"{order.number}{name}" if rng.random() < 0.5 else f"{name} {order.number}"
                add(order.total, typed, day, (order.id,), "number")
            elif roll < 0.83:
                add(order.total // 2, name, day, (order.id,), "partial")
            elif roll < 0.85:
                add(order.total + rng.choice((100, 500, 1000)), name, day, (order.id,), "over")
            elif roll < 0.88:
                other = rng.choice([g for g in GIVEN if g != given])
                add(order.total, to_bank_kana(f"{family} {other}"), day, (order.id,), "other_payer")
            elif roll < 0.90:
                add(order.total, to_bank_kana(family), day, (order.id,), "family_only")
            elif roll < 0.91:
                kana = list(to_bank_kana(f"{family}{given}").replace("ﾞ", ""))
                position = rng.randrange(len(kana))
                kana[position] = "ﾇ" if kana[position] != "ﾇ" else "ﾈ"
                add(order.total, "".join(kana), day, (order.id,), "typo")
            # else: never paid; it shows on the reminder list after its due date.
    for _ in range(unrelated):
        day = start + dt.timedelta(days=rng.randrange(30))
        add(rng.randrange(300, 200000), rng.choice(UNRELATED), day, (), "unrelated")

    transfers.sort(key=lambda transfer: (transfer.booked_on, int(transfer.reference)))
    created_on = max(transfer.booked_on for transfer in transfers)
    data = zengin.build(created_on=created_on, transfers=transfers, line_end=b"\r\n")
    return Month(orders=orders, zengin_file=data, created_on=created_on, truth_by_reference=truth)


def evaluate(*, month: Month, shop: Shop) -> dict[str, int]:
    """Compare the reconciler's decisions with the truth: counts by outcome."""
    from madoguchi.commerce.models import Deposit, DepositCandidate, Payment

    paid: dict[int, set[int]] = {}
    for deposit_id, order_id in Payment.objects.filter(
        shop=shop, deposit__isnull=False
    ).values_list("deposit_id", "order_id"):
        paid.setdefault(deposit_id, set()).add(order_id)
    counts = {
        "deposits": 0,
        "matchable": 0,
        "matchable_applied_correctly": 0,
        "matchable_in_review": 0,
        "matchable_unmatched": 0,
        "applied_wrong": 0,
        "other_applied_correctly": 0,
        "other_in_review": 0,
        "other_unmatched": 0,
        "review_with_truth_in_candidates": 0,
    }
    candidate_sets: dict[int, dict[int, set[int]]] = {}
    for deposit_id, candidate_id, order_id in DepositCandidate.orders.through.objects.filter(
        depositcandidate__shop=shop
    ).values_list("depositcandidate__deposit_id", "depositcandidate_id", "order_id"):
        candidate_sets.setdefault(deposit_id, {}).setdefault(candidate_id, set()).add(order_id)
    for deposit in Deposit.objects.filter(shop=shop):
        truth = month.truth_by_reference[deposit.reference]
        counts["deposits"] += 1
        prefix = "matchable" if truth.is_matchable else "other"
        if truth.is_matchable:
            counts["matchable"] += 1
        if deposit.match_state == Deposit.MatchState.APPLIED:
            if paid.get(deposit.id, set()) == set(truth.order_ids):
                counts[f"{prefix}_applied_correctly"] += 1
            else:
                counts["applied_wrong"] += 1
        elif deposit.match_state == Deposit.MatchState.REVIEW:
            counts[f"{prefix}_in_review"] += 1
            wanted = set(truth.order_ids)
            if wanted and wanted in candidate_sets.get(deposit.id, {}).values():
                counts["review_with_truth_in_candidates"] += 1
        else:
            counts[f"{prefix}_unmatched"] += 1
    return counts
