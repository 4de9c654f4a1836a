"""Recognise order numbers that customers type into messages, forms and transfer names.

A shop's order numbers come in its own format: "10045", "#1001", "YE-20260137",
"EC-2024-000123". Customers type them with full-width characters, other dashes, without the
hyphens, in lower case. Every form is reduced to a *key* (`order_number_key`): NFKC, upper case,
no "#", hyphens or spaces. Orders store their key (and the key's digits, `order_number_digits`),
so the mentions of many messages are matched against the shops' real orders in one query; a
candidate that is no order of the shop links nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Dashes people type between the parts of a number (after NFKC, which folds "－" to "-"): the
# hyphen, non-breaking hyphen, figure and en/em dashes, minus sign, the katakana long vowel mark
# typed by IME users, the small hyphen-minus.
_DASHES = re.compile(r"(?<=[0-9A-Za-z])[\u2010-\u2015\u2212\u30fc\ufe63\uff70_](?=[0-9A-Za-z])")
# A number: an optional prefix of letters (with or without a dash), then digits that dashes may
# split ("YE-20260137", "EC-2024-000123", "1234-5678").
_NUMBER = r"(?:[A-Za-z]{1,8}[-\s]?)?[0-9](?:[0-9]|-(?=[0-9])){2,39}"
# A keyword, optional punctuation, then the number (optionally with a leading "#"): whatever
# follows 「注文番号」 is meant as an order number, in any format.
_KEYWORD = re.compile(
    r"(?:ご?注文(?:番号|No\.?|NO\.?|№)|受注番号|オーダー(?:番号|No\.?)|order\s*(?:number|no\.?|#))"
    r"\s*(?:は|:|=|-)?\s*#?\s*(" + _NUMBER + r")(?![0-9A-Za-z])",
    re.IGNORECASE,
)
# A bare "#12345" (three digits at least, so that "#1" in prose does not count).
_HASH = re.compile(r"(?<![0-9A-Za-z&])#([0-9]{3,20})(?![0-9A-Za-z\-])")
# A bare prefixed number ("YE-20260137", "(AT-20260412)"). "#TEA-1234" is a ticket reference
# and does not count; a bare run of digits (an amount, a phone number) neither.
_PREFIXED = re.compile(
    r"(?<![0-9A-Za-z#\-])([A-Za-z]{1,8}-?[0-9](?:[0-9]|-(?=[0-9])){2,39})(?![0-9A-Za-z])"
)
_NON_KEY = re.compile(r"[\s#\-]+")
_LEADING_LETTERS = re.compile(r"^[^0-9]*")


@dataclass(frozen=True)
class OrderNumberMention:
    """A candidate order number in a text.

    `key` is its `order_number_key`. An explicit mention (after 「注文番号」 or a "#") that is
    only digits may leave the shop's prefix out: it also matches an order by its digits.
    """

    key: str
    is_explicit: bool

    @property
    def digits(self) -> str:
        """Return the key when it may match an order's digits alone, else ""."""
        return self.key if self.is_explicit and self.key.isdigit() else ""


def _fold(text: str) -> str:
    return _DASHES.sub("-", unicodedata.normalize("NFKC", text or ""))


def order_number_key(number: str) -> str:
    """Return the form an order number is matched by: "ｙｅ－２０２６ ０１３７" -> "YE20260137"."""
    return _NON_KEY.sub("", _fold(number)).upper()


def order_number_digits(number: str) -> str:
    """Return the key without its leading prefix: "EC-2024-000123" -> "2024000123"."""
    return _LEADING_LETTERS.sub("", order_number_key(number))


def find_order_number_mentions(text: str) -> list[OrderNumberMention]:
    """Return the candidate order numbers in `text`, in order of appearance, without repeats."""
    folded = _fold(text)
    found: list[tuple[int, str, bool]] = []
    for match in _KEYWORD.finditer(folded):
        found.append((match.start(1), match.group(1), True))
    for match in _HASH.finditer(folded):
        found.append((match.start(1), match.group(1), True))
    for match in _PREFIXED.finditer(folded):
        found.append((match.start(1), match.group(1), False))
    mentions: dict[str, OrderNumberMention] = {}
    for _, raw, is_explicit in sorted(found, key=lambda item: (item[0], not item[2])):
        key = order_number_key(raw)
        if sum(character.isdigit() for character in key) < 3:
            continue
        known = mentions.get(key)
        if known is None:
            mentions[key] = OrderNumberMention(key=key, is_explicit=is_explicit)
        elif is_explicit and not known.is_explicit:
            mentions[key] = OrderNumberMention(key=key, is_explicit=True)
    return list(mentions.values())


def find_order_numbers(text: str) -> list[str]:
    """Return the keys of the order numbers `text` mentions (`find_order_number_mentions`)."""
    return [mention.key for mention in find_order_number_mentions(text)]


def normalize_order_number(raw: str) -> str:
    """Return the stored form of an order number: NFKC, no "#", no surrounding spaces."""
    return unicodedata.normalize("NFKC", raw or "").strip().lstrip("#").strip()
