"""Normalise remitter names and name readings so that a bank's half-width kana compares.

Banks deliver 振込依頼人名 as upper-case half-width katakana: small kana written large
(`ｼﾖｳｼﾞ`), voiced marks as separate characters, legal forms abbreviated (`ｶ)`, `)ｶ`, `(ﾕ)`),
sometimes with the order number typed before or after the name. Both sides are folded to one
key: NFKC, hiragana to katakana, small to large, long-vowel marks and punctuation dropped,
legal forms dropped, `ヴ` kept (`ｳﾞ` composes to it under NFKC).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
# Characters banks cannot send, folded the way they are usually written instead.
_OLD_KANA = str.maketrans("ヂヅヰヱヲ", "ジズイエオ")
_LONG_VOWELS = re.compile(r"[ー‐‑‒–—―−\-~〜]")
_LEGAL_ABBREVIATIONS = (
    "カ",
    "ユ",
    "メ",
    "シ",
    "ド",
    "イ",
    "ザイ",
    "シヤ",
    "シャ",
    "ガク",
    "フク",
    "トクヒ",
    "ダ",
    "ソ",
    "ギヨ",
    "ギョ",
    "キヨウ",
    "キョウ",
    "セイ",
    "ユウ",
    "ロウ",
    "ホ",
    "シホ",
    "ベ",
)
_ABBREVIATION = "|".join(sorted(_LEGAL_ABBREVIATIONS, key=len, reverse=True))
# "(カ)" anywhere; "カ)" at the start; "(カ" or ")カ" at the end.
_LEGAL_FORMS = re.compile(
    rf"\((?:{_ABBREVIATION})\)|^(?:{_ABBREVIATION})\)|[()](?:{_ABBREVIATION})$"
)
_LEGAL_WORDS = re.compile(
    "株式会社|有限会社|合同会社|合名会社|合資会社|医療法人|一般社団法人|一般財団法人|"
    "カブシキガイシヤ|カブシキカイシヤ|ユウゲンガイシヤ|ゴウドウガイシヤ"
)
_DIGITS = re.compile(r"[0-9]+")
_NOT_KANA = re.compile(r"[^\u30a1-\u30fa]")


def _to_katakana(text: str) -> str:
    return "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in text)


def fold_kana(text: str) -> str:
    """Return NFKC katakana with small kana made large (the bank's alphabet, full width)."""
    folded = _to_katakana(unicodedata.normalize("NFKC", text or ""))
    return folded.upper().translate(_SMALL_TO_LARGE).translate(_OLD_KANA)


@dataclass(frozen=True)
class RemitterName:
    """A transfer name split into the comparable name key and the digit runs typed into it."""

    key: str
    numbers: tuple[str, ...]


def parse_remitter(raw: str) -> RemitterName:
    """Split a remitter name into its name key and numbers (`1001ﾔﾏﾀﾞﾀﾛｳ` -> ヤマダタロウ, 1001)."""
    folded = fold_kana(raw)
    numbers = tuple(_DIGITS.findall(folded))
    without_numbers = _DIGITS.sub(" ", folded)
    return RemitterName(key=name_key(without_numbers), numbers=numbers)


def name_key(text: str) -> str:
    """Return the comparison key of a name or reading: katakana only, no legal forms."""
    folded = fold_kana(text)
    folded = _LEGAL_WORDS.sub("", folded)
    folded = _LONG_VOWELS.sub("", folded)
    compact = re.sub(r"[\s\u3000・.,/¥「」]+", "", folded)
    compact = _LEGAL_FORMS.sub("", compact)
    return _NOT_KANA.sub("", compact)


def _half_width_table() -> dict[str, str]:
    table = {}
    for code in range(0xFF61, 0xFF9E):
        half = chr(code)
        table[unicodedata.normalize("NFKC", half)] = half
    return table


_HALF = _half_width_table()
_MARKS = {"\u3099": "\uff9e", "\u309a": "\uff9f"}


def to_bank_kana(text: str) -> str:
    """Write a reading the way a bank sends it: half-width upper-case katakana, small made large."""
    folded = fold_kana(text).replace("\u3000", " ")
    out = []
    for ch in unicodedata.normalize("NFD", folded):
        if ch in _MARKS:
            out.append(_MARKS[ch])
        elif ch == "ー":
            out.append("\uff70")
        else:
            out.append(_HALF.get(ch, ch))
    return "".join(out)
