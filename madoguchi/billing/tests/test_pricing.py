"""A month's invoice for each kind of plan, against amounts computed by hand in the comments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from madoguchi.billing.models import Plan, Rounding, TaxCategory
from madoguchi.billing.pricing import (
    Line,
    OptionPrice,
    TaxRow,
    TermsPrice,
    compute_month,
    tax_rows,
)

NOVEMBER = dt.date(2026, 11, 1)
FIXED = TermsPrice(
    plan=Plan.FIXED,
    monthly_fee=150_000,
    included_contacts=800,
    overage_rate=Decimal("180"),
)


def _lines(computation: object) -> list[tuple[str, str, str, int, str]]:
    return [
        (line.description, str(line.quantity), str(line.unit_price), line.amount, line.tax_category)
        for line in computation.lines  # type: ignore[attr-defined]
    ]


def test_fixed_plan_under_the_cap_is_the_monthly_fee() -> None:
    result = compute_month(
        terms=FIXED,
        usage_by_channel={"email": 500, "chat": 200},
        month=NOVEMBER,
        starts_on=dt.date(2026, 1, 1),
        ends_on=None,
    )
    # 150,000 + 10% tax 15,000 = 165,000; 700 contacts are inside the 800 included.
    assert _lines(result) == [("月額基本料金", "1", "150000", 150_000, "standard")]
    assert (result.subtotal, result.tax, result.total, result.cap) == (
        150_000,
        15_000,
        165_000,
        800,
    )


def test_fixed_plan_over_the_cap_adds_overage() -> None:
    result = compute_month(
        terms=FIXED,
        usage_by_channel={"email": 700, "phone": 250},
        month=NOVEMBER,
        starts_on=dt.date(2026, 1, 1),
        ends_on=None,
    )
    # 950 contacts - 800 included = 150 x 180 = 27,000; 177,000 + 17,700 tax = 194,700.
    assert _lines(result) == [
        ("月額基本料金", "1", "150000", 150_000, "standard"),
        ("基本件数800件を超える対応", "150", "180", 27_000, "standard"),
    ]
    assert (result.subtotal, result.tax, result.total) == (177_000, 17_700, 194_700)


def test_options_per_month_and_per_contact() -> None:
    terms = TermsPrice(
        plan=Plan.FIXED,
        monthly_fee=150_000,
        included_contacts=800,
        overage_rate=Decimal("180"),
        options=[
            OptionPrice("土日祝対応", "per_month", Decimal("30000")),
            OptionPrice("英語対応", "per_contact", Decimal("25.50")),
        ],
    )
    result = compute_month(
        terms=terms,
        usage_by_channel={"email": 950},
        month=NOVEMBER,
        starts_on=dt.date(2026, 1, 1),
        ends_on=None,
    )
    # 150,000 + 27,000 overage + 30,000 + 950 x 25.50 = 24,225 -> 231,225; tax 23,122.5 -> 23,122.
    assert _lines(result)[2:] == [
        ("オプション: 土日祝対応", "1", "30000", 30_000, "standard"),
        ("オプション: 英語対応（1件あたり）", "950", "25.50", 24_225, "standard"),
    ]
    assert (result.subtotal, result.tax, result.total) == (231_225, 23_122, 254_347)


def test_mid_month_start_prorates_fee_cap_and_monthly_options_and_bills_the_setup_fee() -> None:
    terms = TermsPrice(
        plan=Plan.FIXED,
        monthly_fee=150_000,
        included_contacts=800,
        overage_rate=Decimal("180"),
        setup_fee=100_000,
        options=[OptionPrice("土日祝対応", "per_month", Decimal("30000"))],
    )
    result = compute_month(
        terms=terms,
        usage_by_channel={"email": 320},
        month=dt.date(2026, 10, 1),
        starts_on=dt.date(2026, 10, 20),
        ends_on=None,
    )
    # October has 31 days; the contract covers the 20th to the 31st = 12 days.
    # Fee 150,000 x 12/31 = 58,064.5 -> 58,064. Cap 800 x 12/31 = 309.6 -> 309.
    # 320 - 309 = 11 x 180 = 1,980. Option 30,000 x 12/31 = 11,612.9 -> 11,612. Setup 100,000.
    # Subtotal 171,656; tax 17,165.6 -> 17,165; total 188,821.
    assert result.active_days == 12 and result.cap == 309
    assert _lines(result) == [
        ("月額基本料金（日割 12/31日）", "1", "58064", 58_064, "standard"),
        ("基本件数309件を超える対応", "11", "180", 1_980, "standard"),
        ("初期費用", "1", "100000", 100_000, "standard"),
        ("オプション: 土日祝対応（日割 12/31日）", "1", "11612", 11_612, "standard"),
    ]
    assert (result.subtotal, result.tax, result.total) == (171_656, 17_165, 188_821)


def test_the_setup_fee_is_billed_only_in_the_first_month() -> None:
    terms = TermsPrice(plan=Plan.FIXED, monthly_fee=100_000, setup_fee=50_000)
    result = compute_month(
        terms=terms,
        usage_by_channel={},
        month=NOVEMBER,
        starts_on=dt.date(2026, 10, 20),
        ends_on=None,
    )
    assert _lines(result) == [("月額基本料金", "1", "100000", 100_000, "standard")]


def test_metered_plan_bills_each_channel_at_its_rate() -> None:
    terms = TermsPrice(
        plan=Plan.METERED,
        channel_rates={"email": Decimal("150"), "chat": Decimal("123.45"), "phone": Decimal("320")},
    )
    result = compute_month(
        terms=terms,
        usage_by_channel={"email": 412, "chat": 87, "phone": 31},
        month=NOVEMBER,
        starts_on=dt.date(2026, 1, 1),
        ends_on=None,
        channel_labels={"email": "メール", "chat": "チャット", "phone": "電話"},
    )
    # 412 x 150 = 61,800; 87 x 123.45 = 10,740.15 -> 10,740; 31 x 320 = 9,920.
    # Subtotal 82,460; tax 8,246; total 90,706.
    assert _lines(result) == [
        ("対応件数: メール", "412", "150", 61_800, "standard"),
        ("対応件数: チャット", "87", "123.45", 10_740, "standard"),
        ("対応件数: 電話", "31", "320", 9_920, "standard"),
    ]
    assert (result.subtotal, result.tax, result.total, result.cap) == (82_460, 8_246, 90_706, None)


def test_mid_month_end_prorates_too() -> None:
    result = compute_month(
        terms=FIXED,
        usage_by_channel={"email": 100},
        month=NOVEMBER,
        starts_on=dt.date(2026, 1, 1),
        ends_on=dt.date(2026, 11, 10),
    )
    # November: 30 days, 10 covered. 150,000 x 10/30 = 50,000; cap 266; no overage.
    assert _lines(result) == [("月額基本料金（日割 10/30日）", "1", "50000", 50_000, "standard")]
    assert (result.cap, result.total) == (266, 55_000)


def _three_lines_of_105() -> list[Line]:
    return [
        Line(f"item {n}", Decimal(1), Decimal(105), 105, TaxCategory.STANDARD) for n in range(3)
    ]


def test_tax_is_rounded_once_per_rate_per_invoice_not_per_line() -> None:
    # 315 x 10% = 31.5: one rounding per invoice gives 31 (rounding each 10.5 down gives 30).
    assert tax_rows(_three_lines_of_105(), Rounding.DOWN) == (
        TaxRow("standard", Decimal("0.10"), 315, 31),
    )
    assert tax_rows(_three_lines_of_105(), Rounding.HALF_UP)[0].tax == 32
    assert tax_rows(_three_lines_of_105(), Rounding.UP)[0].tax == 32


def test_each_rate_has_its_own_subtotal_and_tax() -> None:
    lines = [
        Line("a", Decimal(1), Decimal(10_005), 10_005, TaxCategory.STANDARD),
        Line("b", Decimal(1), Decimal(1_001), 1_001, TaxCategory.REDUCED),
        Line("c", Decimal(1), Decimal(500), 500, TaxCategory.EXEMPT),
    ]
    # 10,005 x 10% = 1,000.5 -> 1,000; 1,001 x 8% = 80.08 -> 80; exempt 0.
    assert tax_rows(lines, Rounding.DOWN) == (
        TaxRow("standard", Decimal("0.10"), 10_005, 1_000),
        TaxRow("reduced", Decimal("0.08"), 1_001, 80),
        TaxRow("exempt", Decimal("0"), 500, 0),
    )
