"""Read net-bank CSV statements: one column profile per bank, deposits only.

Net banks do not share a format. A profile names the date, amount and description columns
(or separate deposit / withdrawal columns) of one bank's export; the encoding is sniffed.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext_noop

from madoguchi.commerce.textfiles import decode_sniffed
from madoguchi.core.errors import ValidationError


@dataclass(frozen=True)
class BankCsvProfile:
    key: str
    label: str
    date_column: str
    description_column: str
    amount_column: str = ""
    deposit_column: str = ""
    balance_column: str = ""


PROFILES: dict[str, BankCsvProfile] = {
    profile.key: profile
    for profile in (
        BankCsvProfile(
            key="rakuten",
            label="楽天銀行",
            date_column="取引日",
            amount_column="入出金(円)",
            balance_column="取引後残高(円)",
            description_column="入出金内容",
        ),
        BankCsvProfile(
            key="sbi",
            label="住信SBIネット銀行",
            date_column="日付",
            deposit_column="入金金額(円)",
            balance_column="残高(円)",
            description_column="内容",
        ),
        BankCsvProfile(
            key="generic",
            label="Generic (date, amount, name)",
            date_column="date",
            amount_column="amount",
            description_column="name",
        ),
    )
}

# What banks put before the remitter's name in the description column.
_DESCRIPTION_PREFIX = re.compile(
    r"^\s*(?:振込入金|振込|フリコミ|ﾌﾘｺﾐ|振替|入金)\s*[＊*:：\s]?\s*", re.IGNORECASE
)


@dataclass(frozen=True)
class CsvDeposit:
    line: int
    received_on: dt.date
    amount: int
    remitter_name: str
    dedup_key: str


@dataclass
class CsvStatement:
    deposits: list[CsvDeposit]
    errors: list[tuple[int, str]]
    encoding: str


def _parse_date(raw: str) -> dt.date:
    text = unicodedata.normalize("NFKC", raw).strip()
    match = re.match(r"^(\d{4})[/\-.年]?(\d{1,2})[/\-.月]?(\d{1,2})日?$", text)
    if not match:
        raise ValueError(f"not a date: {raw!r}")
    return dt.date(int(match[1]), int(match[2]), int(match[3]))


def _parse_amount(raw: str) -> int:
    text = unicodedata.normalize("NFKC", raw).replace(",", "").replace("円", "").strip()
    if not text:
        return 0
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(f"not an amount: {raw!r}")
    return int(text)


def remitter_from_description(description: str) -> str:
    """Strip the bank's "振込" prefix from a description, leaving the remitter's name."""
    return _DESCRIPTION_PREFIX.sub("", description).strip()


def parse(data: bytes, *, profile_key: str) -> CsvStatement:
    """Read the deposits (positive amounts) of a statement; a bad row is reported, not fatal."""
    profile = PROFILES.get(profile_key)
    if profile is None:
        raise ValidationError(
            gettext_noop("Unknown bank CSV profile %(value)s."), extra={"value": profile_key}
        )
    text, encoding = decode_sniffed(data)
    reader = csv.DictReader(io.StringIO(text))
    needed = [profile.date_column, profile.description_column]
    needed.append(profile.amount_column or profile.deposit_column)
    missing = [column for column in needed if column not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(
            gettext_noop("The file has no column %(columns)s for %(profile)s."),
            extra={"columns": "、".join(missing), "profile": profile.label},
            field="data",
        )
    deposits: list[CsvDeposit] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        try:
            received_on = _parse_date(row[profile.date_column] or "")
            column = profile.amount_column or profile.deposit_column
            amount = _parse_amount(row[column] or "")
        except ValueError as error:
            errors.append((line, str(error)))
            continue
        if amount <= 0:
            continue
        description = (row[profile.description_column] or "").strip()
        balance = (row.get(profile.balance_column) or "").strip() if profile.balance_column else ""
        # Identical rows (same day, amount, name and balance) are told apart by occurrence.
        base = f"{profile.key}|{received_on.isoformat()}|{amount}|{description}|{balance}"
        occurrence = seen.get(base, 0)
        seen[base] = occurrence + 1
        digest = hashlib.sha256(f"{base}|{occurrence}".encode()).hexdigest()[:40]
        deposits.append(
            CsvDeposit(
                line=line,
                received_on=received_on,
                amount=amount,
                remitter_name=remitter_from_description(description),
                dedup_key=f"csv:{digest}",
            )
        )
    return CsvStatement(deposits=deposits, errors=errors, encoding=encoding)
