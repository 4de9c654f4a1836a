"""Placeholders in reply templates and automatic replies: a fixed allowlist, nothing else.

Operators write `{{ customer_name }}` and the like; the text is never handed to Django's template
engine, so `{{ settings.SECRET_KEY }}` or `{% debug %}` stay literal text (security.md B17). A
substituted value is never scanned again, so a customer named `{{ shop_name }}` stays that.

A template is checked when it is saved (`placeholder_problems`: unknown names, unclosed braces,
template tags are refused). A placeholder without a value for the ticket (no order linked) is
left in the text as typed and named to the operator; a reply still holding one is not sent
(`unfilled_placeholders`), so a customer never gets a sentence with a blank in it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

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
# Anything written between double braces, to check a template and a reply before sending.
_BRACED = re.compile(r"\{\{([^{}]*)\}\}")
_TAG = re.compile(r"\{%|%\}|\{#|#\}")

# What each placeholder stands for, in the operator's words (the composer names empty ones).
VARIABLE_LABELS = {
    "customer_name": _("customer name"),
    "ticket_reference": _("ticket number"),
    "order_number": _("order number"),
    "tracking_url": _("tracking link"),
    "operator_name": _("operator name"),
    "shop_name": _("shop name"),
    "business_hours": _("business hours"),
    "next_opening": _("next opening time"),
}

UNKNOWN_PLACEHOLDER = gettext_noop("Unknown placeholder %(placeholder)s. Use one of: %(names)s.")
UNCLOSED_PLACEHOLDER = gettext_noop(
    "A placeholder is not closed: write it as {{ name }}, with two braces on each side."
)
TAGS_NOT_ALLOWED = gettext_noop(
    "Template tags and comments ({%% … %%}, {# … #}) cannot be used; only placeholders such as "
    "{{ customer_name }}."
)

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


@dataclass(frozen=True)
class PlaceholderProblem:
    """One reason a template text is refused: an English message (translate it) and its values."""

    message: str
    params: Mapping[str, str]


def placeholder_problems(text: str) -> list[PlaceholderProblem]:
    """Return why `text` is not a valid template (an empty list when it is).

    Refused: a `{{ … }}` naming anything but an allowlisted variable, a `{{` or `}}` left
    unpaired, and Django template tags or comments (which would only ever reach the customer
    as literal text).
    """
    problems: list[PlaceholderProblem] = []
    names = ", ".join("{{ " + name + " }}" for name in VARIABLES)
    for match in _BRACED.finditer(text):
        inner = match.group(1).strip()
        if inner not in VARIABLES:
            placeholder = " ".join(match.group(0).split())
            problem = PlaceholderProblem(
                UNKNOWN_PLACEHOLDER, {"placeholder": placeholder, "names": names}
            )
            if problem not in problems:
                problems.append(problem)
    rest = _BRACED.sub("", text)
    if "{{" in rest or "}}" in rest:
        problems.append(PlaceholderProblem(UNCLOSED_PLACEHOLDER, {}))
    if _TAG.search(text):
        problems.append(PlaceholderProblem(TAGS_NOT_ALLOWED, {}))
    return problems


def unfilled_placeholders(text: str) -> list[str]:
    """Return the placeholders still in a reply's text, as written, in order (each once)."""
    found: list[str] = []
    for match in _BRACED.finditer(text):
        placeholder = "{{ " + " ".join(match.group(1).split()) + " }}"
        if placeholder not in found:
            found.append(placeholder)
    return found


@dataclass(frozen=True)
class RenderedTemplate:
    """A template filled in for one ticket; `empty` names the variables that had no value and
    `unknown` any other placeholder left in the text (a template saved before it was checked)."""

    text: str
    empty: tuple[str, ...]
    unknown: tuple[str, ...] = ()

    @property
    def empty_labels(self) -> list[str]:
        """The empty variables in the operator's words with their placeholder, then the rest."""
        labels = [f"{VARIABLE_LABELS[name]} ({{{{ {name} }}}})" for name in self.empty]
        return [*labels, *self.unknown]


def render_template_text(text: str, values: Mapping[str, str]) -> RenderedTemplate:
    """Fill in the variables that have a value; leave the empty ones as typed and name them."""
    used = [name for name in VARIABLES if re.search(r"\{\{\s*" + name + r"\s*\}\}", text)]
    empty = tuple(name for name in used if not values.get(name))
    filled = {name: value for name, value in values.items() if value}
    known = {"{{ " + name + " }}" for name in VARIABLES}
    unknown = tuple(found for found in unfilled_placeholders(text) if found not in known)
    return RenderedTemplate(text=render_placeholders(text, filled), empty=empty, unknown=unknown)


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
    # Only an order of the ticket's customer (or one staff confirmed): a number the sender
    # merely typed must not fill in someone else's order and tracking link.
    orders = orders_for_ticket(ticket, limit=1, confirmed_only=True)
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
