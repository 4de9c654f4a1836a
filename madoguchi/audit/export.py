"""The audit log as CSV for spreadsheets: UTF-8 with a BOM (Excel reads it as UTF-8), RFC 4180
quoting and CRLF line ends, times in UTC, and no cell that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator

from django.utils import translation
from django.utils.translation import gettext, pgettext

from madoguchi.audit.labels import action_label
from madoguchi.audit.models import AuditEntry

BOM = "\ufeff"
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (OWASP "CSV injection"); a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Return `value` so that a spreadsheet shows it as text, never runs it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def line(cells: list[str]) -> str:
        writer.writerow([spreadsheet_safe(cell) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    with translation.override(language):
        yield BOM + line(_header())
        for entry in entries:
            yield line(_row(entry))
