"""CSV for spreadsheets, written as a stream: RFC 4180 quoting, CRLF line ends, no cell that a
spreadsheet would run as a formula, and the encodings Excel opens in Japan.

- UTF-8 with a byte order mark: Excel reads the file as UTF-8 only with the BOM.
- Shift_JIS as Windows writes it (CP932): what older Excel and many shop back-office tools
  expect. A character CP932 cannot hold (an emoji, 𠮷, a Latin letter with a rare accent) never
  stops the download: it is written as 〓 (the geta mark, the conventional placeholder in
  Japanese text), and the export screen says so.

Lines are made one at a time from an iterator of rows, so a download of any size holds one row
in memory (plus the database driver's chunk).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Sequence

BOM = "\ufeff"
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (OWASP "CSV injection"); a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

UTF8 = "utf-8"
CP932 = "cp932"
ENCODINGS = (UTF8, CP932)
# What CP932 writes for a character it cannot encode.
REPLACEMENT = "\u3013"
_ERRORS = "madoguchi-geta"


def _geta(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return REPLACEMENT * (error.end - error.start), error.end


codecs.register_error(_ERRORS, _geta)


def spreadsheet_safe(value: str) -> str:
    """Return `value` so that a spreadsheet shows it as text, never runs it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cell(value: object) -> str:
    if value is None:
        return ""
    return spreadsheet_safe(str(value))


def csv_text_lines(header: Sequence[object], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """Yield the CSV a line at a time as text: the header first, then one line per row.

    Every cell is made text (None is empty) and formula-safe.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def line(cells: Sequence[object]) -> str:
        writer.writerow([_cell(cell) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(header)
    for row in rows:
        yield line(row)


def encode_lines(lines: Iterable[str], encoding: str = UTF8) -> Iterator[bytes]:
    """Yield the lines as bytes: UTF-8 starting with the BOM, or CP932 with 〓 for what it
    cannot hold."""
    if encoding == UTF8:
        first = True
        for text in lines:
            yield (BOM + text if first else text).encode(UTF8)
            first = False
    elif encoding == CP932:
        for text in lines:
            yield text.encode(CP932, errors=_ERRORS)
    else:
        raise ValueError(f"unknown CSV encoding {encoding!r}")


def csv_bytes(
    header: Sequence[object], rows: Iterable[Sequence[object]], *, encoding: str = UTF8
) -> Iterator[bytes]:
    """Yield a whole CSV download in `encoding` (see `encode_lines`), a line at a time."""
    return encode_lines(csv_text_lines(header, rows), encoding)


def content_type(encoding: str) -> str:
    """The Content-Type of a CSV in `encoding` (CP932 is registered as Shift_JIS)."""
    return "text/csv; charset=" + ("utf-8" if encoding == UTF8 else "Shift_JIS")
