"""Parse Zengin 振込入金通知 (種別 01) files: 200-byte Shift_JIS records 1 / 2 / 8 / 9.

Fields are sliced from bytes, never characters (a kana name is one byte per character in JIS
X 0201, but a stray double-byte character must not shift the following fields). Dates are 和暦
YYMMDD without an era: the header's creation date is placed in the era that puts it nearest the
day the file arrived, and every other date in the era nearest the creation date. Files come
with or without CRLF after each record; an EOF byte (0x1A) at the end is ignored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_noop, pgettext_lazy

from madoguchi.core.errors import ValidationError

RECORD_LENGTH = 200
_ERAS = (  # (first day, western year of era year 1 minus 1)
    (dt.date(2019, 5, 1), 2018),  # 令和
    (dt.date(1989, 1, 8), 1988),  # 平成
    (dt.date(1926, 12, 25), 1925),  # 昭和
)


class ZenginError(ValidationError):
    """The file is not a well-formed 振込入金通知 file (the service's `data`)."""

    def __init__(self, message: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(message, extra=extra, field="data")


@dataclass(frozen=True)
class ZenginHeader:
    kind_code: str
    created_on: dt.date
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    account_type: str
    account_number: str
    account_name: str


@dataclass(frozen=True)
class ZenginTransfer:
    line: int
    reference: str
    booked_on: dt.date
    value_on: dt.date
    amount: int
    other_bank_check_amount: int
    remitter_code: str
    remitter_name: str
    sending_bank_name: str
    sending_branch_name: str
    is_cancellation: bool
    edi: str


@dataclass
class ZenginFile:
    header: ZenginHeader
    transfers: list[ZenginTransfer] = field(default_factory=list)


def _text(record: bytes, start: int, end: int) -> str:
    """Return the 1-based inclusive byte range [start, end] decoded as CP932, right-trimmed."""
    return record[start - 1 : end].decode("cp932", errors="replace").rstrip(" \u3000")


def _number(record: bytes, start: int, end: int, *, line: int, name: str | Promise) -> int:
    raw = record[start - 1 : end].strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise ZenginError(
            gettext_noop("Record %(line)s: the %(name)s is not a number (%(raw)s)."),
            extra={"line": line, "name": name, "raw": raw.decode("ascii", "replace")},
        )
    return int(raw)


def _wareki_candidates(yymmdd: str) -> list[dt.date]:
    year, month, day = int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    found = []
    for index, (starts_on, offset) in enumerate(_ERAS):
        try:
            date = dt.date(offset + year, month, day)
        except ValueError:
            continue
        ends_before = _ERAS[index - 1][0] if index > 0 else dt.date.max
        if starts_on <= date < ends_before:
            found.append(date)
    return found


def parse_date(raw: bytes | str, *, near: dt.date, style: str = "wareki") -> dt.date:
    """Read a YYMMDD date: 和暦 in the era nearest `near`, or 西暦 (20YY) when style="seireki"."""
    text = raw.decode("ascii") if isinstance(raw, bytes) else raw
    if len(text) != 6 or not text.isdigit():
        raise ZenginError(gettext_noop("Not a YYMMDD date: %(text)s"), extra={"text": text})
    if style == "seireki":
        try:
            return dt.date(2000 + int(text[0:2]), int(text[2:4]), int(text[4:6]))
        except ValueError as error:
            raise ZenginError(gettext_noop("Not a date: %(text)s"), extra={"text": text}) from error
    candidates = _wareki_candidates(text)
    if not candidates:
        raise ZenginError(gettext_noop("Not a date: %(text)s"), extra={"text": text})
    return min(candidates, key=lambda date: abs((date - near).days))


def split_records(data: bytes) -> list[bytes]:
    """Cut the file into records: by line ends when present, else every 200 bytes."""
    data = data.rstrip(b"\x1a")
    if b"\n" in data or b"\r" in data:
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        records = [line for line in lines if line]
    else:
        if len(data) % RECORD_LENGTH:
            raise ZenginError(
                gettext_noop(
                    "The file is %(size)s bytes, not a multiple of %(length)s-byte records."
                ),
                extra={"size": len(data), "length": RECORD_LENGTH},
            )
        records = [data[i : i + RECORD_LENGTH] for i in range(0, len(data), RECORD_LENGTH)]
    for number, record in enumerate(records, start=1):
        if len(record) != RECORD_LENGTH:
            raise ZenginError(
                gettext_noop("Record %(line)s is %(size)s bytes, not %(length)s."),
                extra={"line": number, "size": len(record), "length": RECORD_LENGTH},
            )
    return records


def parse(data: bytes, *, received_on: dt.date, date_style: str = "wareki") -> ZenginFile:
    """Parse a 振込入金通知 file; check the record order, the trailer's count and sum, the end."""
    records = split_records(data)
    if not records or records[0][:1] != b"1":
        raise ZenginError(gettext_noop("The file does not start with a header record (1)."))
    head = records[0]
    kind_code = _text(head, 2, 3)
    if kind_code != "01":
        raise ZenginError(
            gettext_noop("Kind code %(code)s is not 01 (振込入金通知)."), extra={"code": kind_code}
        )
    created_on = parse_date(head[4:10], near=received_on, style=date_style)
    header = ZenginHeader(
        kind_code=kind_code,
        created_on=created_on,
        bank_code=_text(head, 23, 26),
        bank_name=_text(head, 27, 41),
        branch_code=_text(head, 42, 44),
        branch_name=_text(head, 45, 59),
        account_type=_text(head, 60, 60),
        account_number=_text(head, 61, 67),
        account_name=_text(head, 68, 107),
    )
    result = ZenginFile(header=header)
    trailer: bytes | None = None
    has_end = False
    for line, record in enumerate(records[1:], start=2):
        kind = record[:1]
        if has_end:
            raise ZenginError(
                gettext_noop("Record %(line)s follows the end record."), extra={"line": line}
            )
        if kind == b"2":
            if trailer is not None:
                raise ZenginError(
                    gettext_noop("Data record %(line)s follows the trailer."), extra={"line": line}
                )
            result.transfers.append(_transfer(record, line, created_on, date_style))
        elif kind == b"8":
            trailer = record
        elif kind == b"9":
            has_end = True
        else:
            raise ZenginError(
                gettext_noop("Record %(line)s has an unknown type (%(kind)s)."),
                extra={"line": line, "kind": kind.decode("ascii", "replace")},
            )
    if trailer is None:
        raise ZenginError(gettext_noop("The file has no trailer record (8)."))
    if not has_end:
        raise ZenginError(gettext_noop("The file has no end record (9)."))
    _check_trailer(trailer, result.transfers, line=len(records) - 1)
    return result


def _transfer(record: bytes, line: int, created_on: dt.date, style: str) -> ZenginTransfer:
    return ZenginTransfer(
        line=line,
        reference=_text(record, 2, 7),
        booked_on=parse_date(record[7:13], near=created_on, style=style),
        value_on=parse_date(record[13:19], near=created_on, style=style),
        amount=_number(record, 20, 29, line=line, name=pgettext_lazy("zengin field", "amount")),
        other_bank_check_amount=_number(
            record, 30, 39, line=line, name=pgettext_lazy("zengin field", "check amount")
        ),
        remitter_code=_text(record, 40, 49),
        remitter_name=_text(record, 50, 97),
        sending_bank_name=_text(record, 98, 112),
        sending_branch_name=_text(record, 113, 127),
        is_cancellation=_text(record, 128, 128) not in ("", "0"),
        edi=_text(record, 129, 148),
    )


def _check_trailer(trailer: bytes, transfers: list[ZenginTransfer], *, line: int) -> None:
    count = _number(trailer, 2, 7, line=line, name=pgettext_lazy("zengin field", "transfer count"))
    total = _number(trailer, 8, 19, line=line, name=pgettext_lazy("zengin field", "transfer total"))
    cancel_count = _number(
        trailer, 20, 25, line=line, name=pgettext_lazy("zengin field", "cancellation count")
    )
    cancel_total = _number(
        trailer, 26, 37, line=line, name=pgettext_lazy("zengin field", "cancellation total")
    )
    transfers_ok = [t for t in transfers if not t.is_cancellation]
    cancelled = [t for t in transfers if t.is_cancellation]
    if count != len(transfers_ok) or total != sum(t.amount for t in transfers_ok):
        raise ZenginError(
            gettext_noop(
                "The trailer says %(count)s transfers totalling %(total)s yen; the file holds "
                "%(found)s totalling %(found_total)s yen."
            ),
            extra={
                "count": count,
                "total": total,
                "found": len(transfers_ok),
                "found_total": sum(t.amount for t in transfers_ok),
            },
        )
    if cancel_count != len(cancelled) or cancel_total != sum(t.amount for t in cancelled):
        raise ZenginError(
            gettext_noop(
                "The trailer says %(count)s cancellations totalling %(total)s yen; "
                "the file holds %(found)s."
            ),
            extra={"count": cancel_count, "total": cancel_total, "found": len(cancelled)},
        )


def to_wareki(date: dt.date) -> str:
    """Return YYMMDD in the date's era (for writing test files and exports)."""
    for starts_on, offset in _ERAS:
        if date >= starts_on:
            return f"{date.year - offset:02d}{date.month:02d}{date.day:02d}"
    raise ValueError("Dates before 昭和 are not supported")


def _pad(text: str, width: int) -> bytes:
    encoded = text.encode("cp932")
    if len(encoded) > width:
        raise ValueError(f"{text!r} is longer than {width} bytes")
    return encoded + b" " * (width - len(encoded))


def _digits(value: int, width: int) -> bytes:
    if value < 0:
        raise ValueError("Zengin numbers cannot be negative")
    return str(value).rjust(width, "0").encode("ascii")


@dataclass(frozen=True)
class TransferToWrite:
    reference: str
    booked_on: dt.date
    amount: int
    remitter_name: str
    sending_bank_name: str = ""
    is_cancellation: bool = False


def build(
    *,
    created_on: dt.date,
    transfers: list[TransferToWrite],
    bank_code: str = "0001",
    bank_name: str = "ﾐﾂﾎﾞｼ",
    branch_code: str = "001",
    branch_name: str = "ﾎﾝﾃﾝ",
    account_number: str = "1234567",
    account_name: str = "ｶ)ﾔﾏﾀﾞｴﾝ",
    line_end: bytes = b"",
    trailer_count: int | None = None,
) -> bytes:
    """Write a 振込入金通知 file (used by tests, the benchmark and the demo data)."""
    created = to_wareki(created_on).encode("ascii")
    header = (
        b"1"
        + b"01"
        + b"0"
        + created
        + created
        + created
        + bank_code.encode("ascii")
        + _pad(bank_name, 15)
        + branch_code.encode("ascii")
        + _pad(branch_name, 15)
        + b"1"
        + account_number.encode("ascii")
        + _pad(account_name, 40)
        + b" " * 93
    )
    records = [header]
    for transfer in transfers:
        day = to_wareki(transfer.booked_on).encode("ascii")
        records.append(
            b"2"
            + transfer.reference.rjust(6, "0").encode("ascii")
            + day
            + day
            + _digits(transfer.amount, 10)
            + _digits(0, 10)
            + b" " * 10
            + _pad(transfer.remitter_name, 48)
            + _pad(transfer.sending_bank_name, 15)
            + _pad("", 15)
            + (b"1" if transfer.is_cancellation else b" ")
            + b" " * 20
            + b" " * 52
        )
    valid = [t for t in transfers if not t.is_cancellation]
    cancelled = [t for t in transfers if t.is_cancellation]
    records.append(
        b"8"
        + _digits(len(valid) if trailer_count is None else trailer_count, 6)
        + _digits(sum(t.amount for t in valid), 12)
        + _digits(len(cancelled), 6)
        + _digits(sum(t.amount for t in cancelled), 12)
        + b" " * 163
    )
    records.append(b"9" + b" " * 199)
    for record in records:
        assert len(record) == RECORD_LENGTH, len(record)
    return b"".join(record + line_end for record in records)
