"""The audit log as CSV for spreadsheets: UTF-8 with a BOM (Excel reads it as UTF-8), RFC 4180
quoting and CRLF line ends, times in UTC, and no cell that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator

from django.utils import translation
from django.utils.translation import gettext, pgettext

from madoguchi.audit.labels import action_label
from madoguchi.audit.models import AuditEntry
from madoguchi.core.csv import BOM, csv_text_lines, spreadsheet_safe

__all__ = ["BOM", "csv_lines", "spreadsheet_safe"]


def _header() -> list[str]:
    return [
        gettext("Time (UTC)"),
        gettext("Action"),
        gettext("Action name"),
        gettext("Actor"),
        gettext("Shop"),
        pgettext("audit log", "Target"),
        gettext("Target ID"),
        gettext("IP address"),
        gettext("Details"),
    ]


def _row(entry: AuditEntry) -> list[str]:
    return [
        entry.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        str(action_label(entry.action)),
        entry.action,
        entry.actor_label,
        entry.shop.name if entry.shop_id and entry.shop else "",
        entry.target_type,
        entry.target_id,
        entry.ip_address or "",
        json.dumps(entry.changes, ensure_ascii=False, sort_keys=True) if entry.changes else "",
    ]


def csv_lines(entries: Iterable[AuditEntry], *, language: str) -> Iterator[str]:
    """Yield the CSV a line at a time: the BOM and the header first, then one row per entry.

    Labels are in `language` (the lines are made while the response streams, after the view).
    """
    with translation.override(language):
        lines = csv_text_lines(_header(), (_row(entry) for entry in entries))
        yield BOM + next(lines)
        yield from lines
