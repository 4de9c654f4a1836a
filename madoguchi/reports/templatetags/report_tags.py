"""Formatting of a report's stored figures."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def hours_minutes(minutes: int | None) -> str:
    """Return minutes as h:mm; "—" for none."""
    if not isinstance(minutes, int):
        return "—"
    return f"{minutes // 60}:{minutes % 60:02d}"


@register.filter
def signed(value: int | None) -> str:
    """Return a change with its sign (+3, −2, ±0); "—" for none."""
    if not isinstance(value, int):
        return "—"
    if value > 0:
        return f"+{value}"
    if value < 0:
        return f"−{-value}"
    return "±0"
