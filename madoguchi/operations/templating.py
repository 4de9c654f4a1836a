"""Placeholders in reply templates and automatic replies: a fixed allowlist, nothing else.

Operators write `{{ customer_name }}` and the like; the text is never handed to Django's template
engine, so `{{ settings.SECRET_KEY }}` or `{% debug %}` stay literal text (security.md B17). A
substituted value is never scanned again, so a customer named `{{ shop_name }}` stays that.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from madoguchi.operations.calendar import BusinessCalendar

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.conversations.models import Ticket

VARIABLES = (
    "customer_name",
    "ticket_reference",
    "order_number",
    "tracking_url",
    "operator_name",
    "shop_name",
    "business_hours",
    "next_opening",
)
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")

_WEEKDAYS = {
    "ja": ("月", "火", "水", "木", "金", "土", "日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def render_placeholders(text: str, values: Mapping[str, str]) -> str:
    """Replace `{{ name }}` for the allowlisted names in `values`; leave anything else as typed."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in VARIABLES and name in values:
            return values[name]
        return match.group(0)

    return PLACEHOLDER.sub(substitute, text)


def _language(language: str) -> str:
    return "ja" if language.lower().startswith("ja") else "en"


def format_moment(moment: dt.datetime | None, calendar: BusinessCalendar, language: str) -> str:
    """Write a moment in the shop's time zone, the way a customer of `language` reads dates."""
    if moment is None:
        return ""
    local = moment.astimezone(calendar.zone)
    lang = _language(language)
    weekday = _WEEKDAYS[lang][local.weekday()]
    if lang == "ja":
        return f"{local.year}年{local.month}月{local.day}日({weekday}) {local:%H:%M}"
    return f"{weekday} {local.day} {_MONTHS_EN[local.month - 1]} {local.year}, {local:%H:%M}"


def format_business_hours(calendar: BusinessCalendar, language: str) -> str:
    """Describe the weekly hours in one line: consecutive days with the same hours are grouped."""
    lang = _language(language)
    if calendar.always_open:
        return "24時間365日" if lang == "ja" else "24 hours, every day"
    dash = "〜" if lang == "ja" else "-"
    groups: list[tuple[list[int], str]] = []
    for weekday in range(7):
        intervals = sorted(calendar.weekly_hours.get(weekday, ()))
        if not intervals:
            continue
        hours = ("、" if lang == "ja" else ", ").join(
            f"{opens:%H:%M}{dash}{'24:00' if closes == dt.time(0) else f'{closes:%H:%M}'}"
            for opens, closes in intervals
        )
        if groups and groups[-1][1] == hours and groups[-1][0][-1] == weekday - 1:
            groups[-1][0].append(weekday)
        else:
            groups.append(([weekday], hours))
    names = _WEEKDAYS[lang]
    parts = []
    for days, hours in groups:
        label = names[days[0]] if len(days) == 1 else f"{names[days[0]]}{dash}{names[days[-1]]}"
        parts.append(f"{label} {hours}")
    text = " / ".join(parts)
    if calendar.observes_national_holidays:
        text += "(祝日を除く)" if lang == "ja" else " (closed on public holidays)"
    return text


def reply_values(
    *,
    ticket: Ticket,
    calendar: BusinessCalendar,
    now: dt.datetime,
    operator: User | None = None,
    language: str | None = None,
) -> dict[str, str]:
    """Return the allowlisted values for a reply on `ticket` (read in the ticket's shop scope)."""
    from madoguchi.commerce.selectors import orders_for_ticket

    language = language or ticket.language
    orders = orders_for_ticket(ticket, limit=1)
    order_number = orders[0].number if orders else ""
    tracking = ""
    if orders:
        tracking = next(
            (s.tracking_url for s in orders[0].shipments.all() if s.tracking_number), ""
        )
    return {
        "customer_name": ticket.customer.name,
        "ticket_reference": ticket.reference,
        "order_number": order_number,
        "tracking_url": tracking,
        "operator_name": operator.display_name if operator is not None else "",
        "shop_name": ticket.shop.name,
        "business_hours": format_business_hours(calendar, language),
        "next_opening": format_moment(calendar.next_open_at(now), calendar, language),
    }
