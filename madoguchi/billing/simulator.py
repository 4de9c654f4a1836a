"""The cost simulator: a forecast of contacts per month -> monthly cost of a fixed plan, a
metered plan and in-house staffing, with the volumes where one becomes cheaper than another.

Model (ADR 0024):
- Volume V scales the forecast's channel mix; the metered cost is linear in V
  (sum of share x rate), the fixed plan is `fee + max(0, V - cap) x overage`.
- In-house: the agents needed are the larger of the workload (contacts x handle minutes, over
  the productive hours an agent has a month) and the coverage (the hours the shop must be
  staffed over an agent's working hours). Each agent costs salary x (1 + overhead) + tools a
  month, plus hiring and onboarding/training (hours at the agent's hourly cost) spread over the
  amortisation months.
- A break-even point is the smallest whole volume at which the first option's cost reaches the
  second's (None when it never does up to the search limit).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

SEARCH_LIMIT = 100_000


@dataclass(frozen=True)
class Forecast:
    contacts_by_channel: Mapping[str, int]
    handle_minutes_by_channel: Mapping[str, Decimal]
    coverage_hours_per_month: Decimal

    @property
    def total(self) -> int:
        return sum(self.contacts_by_channel.values())


@dataclass(frozen=True)
class FixedPlan:
    monthly_fee: int
    included_contacts: int
    overage_rate: Decimal


@dataclass(frozen=True)
class MeteredPlan:
    rates_by_channel: Mapping[str, Decimal]
    monthly_fee: int = 0


@dataclass(frozen=True)
class InHouse:
    monthly_salary: int
    overhead_rate: Decimal  # social insurance, benefits: 0.15 = +15%
    tools_per_agent: int
    hiring_cost_per_agent: int
    training_hours_per_agent: Decimal
    working_hours_per_agent: Decimal  # paid hours a month
    productive_share: Decimal  # share of working hours spent on contacts (0.7)
    amortization_months: int = 12


def _yen(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_FLOOR))


def _shares(forecast: Forecast) -> dict[str, Decimal]:
    total = forecast.total
    if not total:
        return {}
    return {
        channel: Decimal(count) / total for channel, count in forecast.contacts_by_channel.items()
    }


def fixed_cost(plan: FixedPlan, volume: int) -> int:
    return plan.monthly_fee + _yen(max(0, volume - plan.included_contacts) * plan.overage_rate)


def metered_cost(plan: MeteredPlan, forecast: Forecast, volume: int) -> int:
    per_contact = sum(
        (share * plan.rates_by_channel.get(channel, Decimal(0)))
        for channel, share in _shares(forecast).items()
    )
    return plan.monthly_fee + _yen(Decimal(volume) * Decimal(per_contact))


def agents_needed(staff: InHouse, forecast: Forecast, volume: int) -> int:
    shares = _shares(forecast)
    minutes = sum(
        Decimal(volume) * share * forecast.handle_minutes_by_channel.get(channel, Decimal(0))
        for channel, share in shares.items()
    )
    productive_hours = staff.working_hours_per_agent * staff.productive_share
    workload = math.ceil(Decimal(minutes) / 60 / productive_hours) if minutes else 0
    coverage = math.ceil(forecast.coverage_hours_per_month / staff.working_hours_per_agent)
    return max(workload, coverage, 1 if volume else 0)


def in_house_cost(staff: InHouse, forecast: Forecast, volume: int) -> int:
    agents = agents_needed(staff, forecast, volume)
    hourly = (
        Decimal(staff.monthly_salary) * (1 + staff.overhead_rate) / staff.working_hours_per_agent
    )
    monthly = Decimal(staff.monthly_salary) * (1 + staff.overhead_rate) + staff.tools_per_agent
    one_off = staff.hiring_cost_per_agent + staff.training_hours_per_agent * hourly
    return _yen(agents * (monthly + one_off / staff.amortization_months))


def break_even(
    first: Callable[[int], int], second: Callable[[int], int], *, limit: int = SEARCH_LIMIT
) -> int | None:
    """Return the smallest volume where `first` costs at least as much as `second`."""
    if first(0) >= second(0):
        return 0
    for volume in range(1, limit + 1):
        if first(volume) >= second(volume):
            return volume
    return None


@dataclass(frozen=True)
class Comparison:
    volume: int
    fixed: int
    metered: int
    in_house: int
    agents: int
    metered_reaches_fixed_at: int | None
    fixed_reaches_in_house_at: int | None
    metered_reaches_in_house_at: int | None
    curve: list[tuple[int, int, int, int]] = field(default_factory=list)

    @property
    def cheapest(self) -> str:
        costs = {"fixed": self.fixed, "metered": self.metered, "in_house": self.in_house}
        return min(costs, key=lambda key: (costs[key], key))


def compare(
    *,
    forecast: Forecast,
    fixed: FixedPlan,
    metered: MeteredPlan,
    staff: InHouse,
    curve_points: int = 20,
) -> Comparison:
    volume = forecast.total
    limit = max(SEARCH_LIMIT // 10, volume * 4)

    def fixed_at(v: int) -> int:
        return fixed_cost(fixed, v)

    def metered_at(v: int) -> int:
        return metered_cost(metered, forecast, v)

    def in_house_at(v: int) -> int:
        return in_house_cost(staff, forecast, v)

    top = max(volume * 2, 10)
    step = max(1, top // curve_points)
    curve = [(v, fixed_at(v), metered_at(v), in_house_at(v)) for v in range(0, top + 1, step)]
    return Comparison(
        volume=volume,
        fixed=fixed_at(volume),
        metered=metered_at(volume),
        in_house=in_house_at(volume),
        agents=agents_needed(staff, forecast, volume),
        metered_reaches_fixed_at=break_even(metered_at, fixed_at, limit=limit),
        fixed_reaches_in_house_at=break_even(fixed_at, in_house_at, limit=limit),
        metered_reaches_in_house_at=break_even(metered_at, in_house_at, limit=limit),
        curve=curve,
    )


@dataclass(frozen=True)
class QuoteFinding:
    vendor: str
    monthly_price: int
    included: list[str]
    as_options: list[tuple[str, int]]
    missing: list[str]

    @property
    def total_with_options(self) -> int:
        return self.monthly_price + sum(price for _, price in self.as_options)


def compare_quotes(
    *, needed: list[str], quotes: Mapping[str, tuple[int, Mapping[str, int | None]]]
) -> list[QuoteFinding]:
    """Check each vendor's quote against the services needed.

    `quotes` maps a vendor to (monthly price, {service: None if included, else the option's
    monthly price}); a needed service absent from a quote is missing. Services a quote prices
    as options (見積もりの備考欄・オプション扱い) are flagged and added to its real total.
    """
    findings = []
    for vendor, (price, services) in quotes.items():
        included = [name for name in needed if name in services and services[name] is None]
        options = [
            (name, int(services[name] or 0))
            for name in needed
            if name in services and services[name] is not None
        ]
        missing = [name for name in needed if name not in services]
        findings.append(QuoteFinding(vendor, price, included, options, missing))
    return sorted(findings, key=lambda finding: (bool(finding.missing), finding.total_with_options))
