"""The cost simulator against the worked example of ADR 0024 (computed by hand there)."""

from __future__ import annotations

from decimal import Decimal

from madoguchi.billing.simulator import (
    FixedPlan,
    Forecast,
    InHouse,
    MeteredPlan,
    agents_needed,
    compare,
    compare_quotes,
    in_house_cost,
)

FORECAST = Forecast(
    contacts_by_channel={"email": 600, "chat": 250, "phone": 150},
    handle_minutes_by_channel={
        "email": Decimal(8),
        "chat": Decimal(10),
        "phone": Decimal(12),
    },
    coverage_hours_per_month=Decimal(220),
)
FIXED = FixedPlan(monthly_fee=150_000, included_contacts=800, overage_rate=Decimal(180))
STANDARD_RATES = MeteredPlan(
    rates_by_channel={"email": Decimal(160), "chat": Decimal(200), "phone": Decimal(300)}
)
PREMIUM_RATES = MeteredPlan(
    rates_by_channel={"email": Decimal(500), "chat": Decimal(600), "phone": Decimal(900)}
)
STAFF = InHouse(
    monthly_salary=250_000,
    overhead_rate=Decimal("0.15"),
    tools_per_agent=10_000,
    hiring_cost_per_agent=300_000,
    training_hours_per_agent=Decimal(80),
    working_hours_per_agent=Decimal(160),
    productive_share=Decimal("0.7"),
    amortization_months=12,
)


def test_the_worked_example() -> None:
    result = compare(forecast=FORECAST, fixed=FIXED, metered=STANDARD_RATES, staff=STAFF)
    # Fixed: 150,000 + (1,000 - 800) x 180 = 186,000.
    # Metered: 0.6 x 160 + 0.25 x 200 + 0.15 x 300 = 191 a contact -> 191,000.
    # In-house: 9.1 minutes a contact -> 151.7 h of work over 112 productive h = 2 people, and
    # 220 h of coverage over 160 h = 2 people. Each: 250,000 x 1.15 + 10,000 = 297,500 a month
    # plus (300,000 + 80 h x 1,796.875) / 12 = 36,979.17 -> 2 x 334,479.17 = 668,958.
    assert (result.fixed, result.metered, result.in_house, result.agents) == (
        186_000,
        191_000,
        668_958,
        2,
    )
    assert result.cheapest == "fixed"
    # 191 V >= 150,000 from V = 786 (785 x 191 = 149,935; 786 x 191 = 150,126).
    assert result.metered_reaches_fixed_at == 786
    # Past its cap the fixed plan adds 180 a contact, in-house at least 453: never.
    assert result.fixed_reaches_in_house_at is None
    assert result.metered_reaches_in_house_at is None


def test_premium_rates_meet_in_house_cost() -> None:
    result = compare(forecast=FORECAST, fixed=FIXED, metered=PREMIUM_RATES, staff=STAFF)
    # 0.6 x 500 + 0.25 x 600 + 0.15 x 900 = 585 a contact; in-house is 668,958 until the work
    # needs a third person (1,477 contacts): 585 V >= 668,958 from V = 1,144.
    assert result.metered == 585_000
    assert result.metered_reaches_in_house_at == 1_144
    assert agents_needed(STAFF, FORECAST, 1_477) == 2 + 1
    assert in_house_cost(STAFF, FORECAST, 1_476) == 668_958


def test_quotes_pricing_needed_services_as_options_are_flagged() -> None:
    findings = compare_quotes(
        needed=["email", "chat", "weekends"],
        quotes={
            "A社": (120_000, {"email": None, "chat": None, "weekends": 40_000}),
            "B社": (150_000, {"email": None, "chat": None, "weekends": None}),
            "C社": (90_000, {"email": None}),
        },
    )
    assert [(f.vendor, f.as_options, f.missing, f.total_with_options) for f in findings] == [
        ("B社", [], [], 150_000),
        ("A社", [("weekends", 40_000)], [], 160_000),
        ("C社", [], ["chat", "weekends"], 90_000),
    ]
