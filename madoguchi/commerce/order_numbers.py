"""Recognise order numbers that customers type into messages and transfer names."""

from __future__ import annotations

import re
import unicodedata

# After NFKC, full-width digits, "＃" and "：" are ASCII. A keyword, optional punctuation, then
# the number (optionally with a leading "#"); or a bare "#12345" (three digits at least, so that
# "#1" in prose and ticket references like "#TEA-1234" do not count).
_KEYWORD = re.compile(
    r"(?:ご?注文(?:番号|No\.?|NO\.?|№)|受注番号|オーダー(?:番号|No\.?)|order\s*(?:number|no\.?|#))"
    r"\s*(?:は|:|=|-)?\s*#?\s*([0-9][0-9\-]{2,19}[0-9])",
    re.IGNORECASE,
)
_HASH = re.compile(r"(?<![0-9A-Za-z&])#([0-9]{3,20})(?![0-9A-Za-z\-])")


def find_order_numbers(text: str) -> list[str]:
    """Return the order numbers mentioned in `text`, in order of appearance, without repeats."""
    folded = unicodedata.normalize("NFKC", text or "")
    found: list[tuple[int, str]] = []
    for match in _KEYWORD.finditer(folded):
        found.append((match.start(1), match.group(1).replace("-", "")))
    for match in _HASH.finditer(folded):
        found.append((match.start(1), match.group(1)))
    seen: set[str] = set()
    numbers: list[str] = []
    for _, number in sorted(found):
        if number not in seen:
            seen.add(number)
            numbers.append(number)
    return numbers


def normalize_order_number(raw: str) -> str:
    """Return the stored form of an order number: NFKC, no "#", no surrounding spaces."""
    return unicodedata.normalize("NFKC", raw or "").strip().lstrip("#").strip()
