"""A month's invoice from a contract's terms and the month's metered usage: pure arithmetic.

Rules (ADR 0024):
- Amounts are whole yen, tax-exclusive per line. A line whose quantity times price has a
  fraction (a per-contact rate like 125.50) is rounded down: the customer never pays a fraction.
- A month the contract covers only in part (mid-month start or end) prorates by calendar days:
  the monthly fee and per-month options are `floor(price * days / days_in_month)`, and so is the
  fixed plan's cap of included contacts.
- The setup fee is billed in the month the contract starts.
- Consumption tax is computed once per tax rate per invoice on the sum of that rate's lines,
  rounded as the issuer chose (down by default), as the qualified-invoice rules require.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import override

from madoguchi.billing.models import TAX_RATES, ContractOption, Plan, Rounding, TaxCategory

CHANNEL_ORDER = ("email", "web_form", "chat", "line", "phone", "other")

_ROUNDING_MODES = {
    Rounding.DOWN: ROUND_FLOOR,
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.UP: ROUND_CEILING,
}


@dataclass(frozen=True)
class OptionPrice:
    name: str
    pricing: str
    unit_price: Decimal
    tax_category: str = TaxCategory.STANDARD


@dataclass(frozen=True)
class TermsPrice:
    """The prices of one terms version, detached from the database."""

    plan: str
    monthly_fee: int = 0
    included_contacts: int = 0
    overage_rate: Decimal = Decimal("0")
    channel_rates: Mapping[str, Decimal] = field(default_factory=dict)
    setup_fee: int = 0
    tax_category: str = TaxCategory.STANDARD
    options: Sequence[OptionPrice] = ()


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: int
    tax_category: str


@dataclass(frozen=True)
class TaxRow:
    category: str
    rate: Decimal
    subtotal: int
    tax: int


@dataclass(frozen=True)
class Computation:
    lines: tuple[Line, ...]
    tax_rows: tuple[TaxRow, ...]
    subtotal: int
    tax: int
    total: int
    cap: int | None
    active_days: int
    days_in_month: int


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    """Return the first and last day of the month `month` falls in."""
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first, last


def active_days(
    period_start: dt.date, period_end: dt.date, starts_on: dt.date, ends_on: dt.date | None
) -> int:
    """Count the days of the period the contract covers."""
    first = max(period_start, starts_on)
    last = min(period_end, ends_on) if ends_on else period_end
    return max(0, (last - first).days + 1)


def _floor_yen(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_FLOOR))


def _prorated(amount: Decimal, days: int, days_in_month: int) -> int:
    if days == days_in_month:
        return _floor_yen(amount)
    return _floor_yen(amount * days / days_in_month)


def _prorated_label(label: str, days: int, days_in_month: int) -> str:
    if days == days_in_month:
        return label
    return _("%(label)s (prorated %(days)s/%(month_days)s days)") % {
        "label": label,
        "days": days,
        "month_days": days_in_month,
    }


def tax_rows(lines: Sequence[Line], rounding: str) -> tuple[TaxRow, ...]:
    """Sum the lines per tax rate and round the tax once per rate (10% first, then 8%, 0%)."""
    mode = _ROUNDING_MODES[Rounding(rounding)]
    rows = []
    for category in (TaxCategory.STANDARD, TaxCategory.REDUCED, TaxCategory.EXEMPT):
        own = [line.amount for line in lines if line.tax_category == category]
        if not own:
            continue
        subtotal = sum(own)
        rate = TAX_RATES[category]
        tax = int((Decimal(subtotal) * rate).to_integral_value(mode))
        rows.append(TaxRow(category=str(category), rate=rate, subtotal=subtotal, tax=tax))
    return tuple(rows)


def compute_month(
    *,
    terms: TermsPrice,
    usage_by_channel: Mapping[str, int],
    month: dt.date,
    starts_on: dt.date,
    ends_on: dt.date | None,
    rounding: str = Rounding.DOWN,
    channel_labels: Mapping[str, Any] | None = None,
) -> Computation:
    """Return the invoice of `month` (any day in it) for these terms and this usage.

    Line descriptions are Japanese: the invoice is a Japanese business document whatever the
    language of the person who runs the computation.
    """
    period_start, period_end = month_bounds(month)
    days_in_month = period_end.day
    days = active_days(period_start, period_end, starts_on, ends_on)
    total_contacts = sum(usage_by_channel.values())
    lines: list[Line] = []
    cap: int | None = None
    labels = dict(channel_labels or {})
    with override("ja"):

        def add(description: str, quantity: Decimal, unit_price: Decimal, amount: int) -> None:
            lines.append(Line(description, quantity, unit_price, amount, terms.tax_category))

        if terms.monthly_fee and days:
            fee = _prorated(Decimal(terms.monthly_fee), days, days_in_month)
            label = _prorated_label(_("Monthly fee"), days, days_in_month)
            add(label, Decimal(1), Decimal(fee), fee)
        if terms.plan == Plan.FIXED:
            cap = (
                terms.included_contacts
                if days == days_in_month
                else _floor_yen(Decimal(terms.included_contacts) * days / days_in_month)
            )
            overage = max(0, total_contacts - cap)
            if overage:
                label = _("Contacts over the %(cap)s included") % {"cap": cap}
                add(
                    label,
                    Decimal(overage),
                    terms.overage_rate,
                    _floor_yen(overage * terms.overage_rate),
                )
        else:
            for channel in CHANNEL_ORDER:
                count = usage_by_channel.get(channel, 0)
                if not count:
                    continue
                rate = Decimal(terms.channel_rates.get(channel, Decimal("0")))
                label = _("Contacts: %(channel)s") % {"channel": str(labels.get(channel, channel))}
                add(label, Decimal(count), rate, _floor_yen(count * rate))
        if terms.setup_fee and period_start <= starts_on <= period_end:
            add(_("Setup fee"), Decimal(1), Decimal(terms.setup_fee), terms.setup_fee)
        for option in terms.options:
            if option.pricing == ContractOption.Pricing.PER_MONTH:
                if not days:
                    continue
                amount = _prorated(option.unit_price, days, days_in_month)
                label = _prorated_label(
                    _("Option: %(name)s") % {"name": option.name}, days, days_in_month
                )
                lines.append(Line(label, Decimal(1), Decimal(amount), amount, option.tax_category))
            elif total_contacts:
                label = _("Option: %(name)s (per contact)") % {"name": option.name}
                lines.append(
                    Line(
                        label,
                        Decimal(total_contacts),
                        option.unit_price,
                        _floor_yen(total_contacts * option.unit_price),
                        option.tax_category,
                    )
                )
    rows = tax_rows(lines, rounding)
    subtotal = sum(line.amount for line in lines)
    tax = sum(row.tax for row in rows)
    return Computation(
        lines=tuple(lines),
        tax_rows=rows,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        cap=cap,
        active_days=days,
        days_in_month=days_in_month,
    )
