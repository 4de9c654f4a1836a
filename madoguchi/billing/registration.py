"""Qualified-invoice registration numbers (適格請求書発行事業者登録番号): `T` + 13 digits.

A corporation's number is `T` and its corporate number (法人番号), whose first digit checks the
other twelve: with Pn the n-th digit of the base counted from the right and Qn 1 for odd n and 2
for even n, check = 9 - (sum(Pn * Qn) mod 9). Sole proprietors get numbers from the same
series, so the same check applies to every number the NTA hands out.
"""

from __future__ import annotations

import re

_PATTERN = re.compile(r"T\d{13}")


def check_digit(base12: str) -> int:
    """Return the check digit of a 12-digit corporate number base."""
    total = sum(
        int(digit) * (1 if position % 2 else 2)
        for position, digit in enumerate(reversed(base12), start=1)
    )
    return 9 - total % 9


def normalize_registration_number(value: str) -> str:
    """Fold width and spacing: `Ｔ１２３…`, `t-1234-...` -> `T1234...`."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", value).upper()
    return re.sub(r"[\s\-]", "", folded)


def is_valid_registration_number(value: str) -> bool:
    """Whether `value` (already normalised) is `T` + 13 digits with a correct check digit."""
    if not _PATTERN.fullmatch(value):
        return False
    digits = value[1:]
    return check_digit(digits[1:]) == int(digits[0])
