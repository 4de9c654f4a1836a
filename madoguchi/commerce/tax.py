"""Consumption tax on tax-included yen amounts, rounded once per order per rate.

The 適格請求書 rules forbid rounding each line and summing: the tax-included total of each rate
is summed first, then `total × rate / (100 + rate)` is rounded down once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

STANDARD_RATE = 10
REDUCED_RATE = 8
RATES = (STANDARD_RATE, REDUCED_RATE)


@dataclass(frozen=True)
class TaxBreakdown:
    """Tax-included totals and the tax inside them, per rate (yen)."""

    total_10: int
    tax_10: int
    total_8: int
    tax_8: int

    @property
    def total(self) -> int:
        return self.total_10 + self.total_8

    @property
    def tax(self) -> int:
        return self.tax_10 + self.tax_8


def tax_included(total: int, rate: int) -> int:
    """Return the tax inside a tax-included `total` at `rate` percent, rounded down."""
    if rate not in RATES:
        raise ValueError(f"Unknown consumption tax rate {rate}")
    return total * rate // (100 + rate)


def tax_breakdown(amounts: Iterable[tuple[int, int]]) -> TaxBreakdown:
    """Sum `(tax_included_amount, rate)` pairs per rate and round the tax once per rate."""
    by_rate = {STANDARD_RATE: 0, REDUCED_RATE: 0}
    for amount, rate in amounts:
        if rate not in by_rate:
            raise ValueError(f"Unknown consumption tax rate {rate}")
        by_rate[rate] += amount
    return TaxBreakdown(
        total_10=by_rate[STANDARD_RATE],
        tax_10=tax_included(by_rate[STANDARD_RATE], STANDARD_RATE),
        total_8=by_rate[REDUCED_RATE],
        tax_8=tax_included(by_rate[REDUCED_RATE], REDUCED_RATE),
    )
