"""The one text normalisation that indexing and querying share.

Two steps, kept apart so that stored text stays readable:

- `normalize_text` gives the stored, displayed form: NFKC (５４３２１ -> 54321, ﾍﾝﾋﾟﾝ -> ヘンピン),
  one wave dash (～ / 〜 / ∼ -> ~), one hyphen for the dash variants (‐ – — ― − ...) except after
  kana, where a dash is a long-vowel mark (ー), and whitespace collapsed to single spaces.
  Kanji variants are not folded: 髙 and 高 stay distinct (NFKC keeps them apart too).
- `fold` maps the normalised text character by character (same length, so positions found in
  the folded text mark the normalised text) to lower case and katakana to hiragana, so that a
  reading typed in either script (へんぴん / ヘンピン) matches.
"""

from __future__ import annotations

import re
import unicodedata

WAVE_DASHES = "~\u301c\uff5e\u223c\u3030\u2053"
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe63\uff0d\u30fc\uff70"
LONG_VOWEL = "\u30fc"

_WAVES = re.compile(f"[{re.escape(WAVE_DASHES[1:])}]")
_WHITESPACE = re.compile(r"\s+")
_DASH = re.compile(f"[{re.escape(DASHES)}]")
_KATAKANA_RUN = re.compile("[\u30a1-\u30f6\u30fd\u30fe]+")

# Katakana ァ..ヶ (U+30A1..U+30F6) sit exactly 0x60 above hiragana ぁ..ゖ; the iteration marks
# ヽヾ follow the same offset (U+30FD..U+30FE -> U+309D..U+309E).
_KANA_TABLE = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}
_KANA_TABLE.update({0x30FD: 0x309D, 0x30FE: 0x309E})


def is_kana(char: str) -> bool:
    """Whether `char` is hiragana, katakana or the long-vowel mark."""
    return "\u3041" <= char <= "\u30ff" and char not in "\u30fb\u30a0"


def normalize_text(raw: str) -> str:
    """Return the stored and displayed form of `raw` (see the module docstring)."""
    text = _WAVES.sub("~", unicodedata.normalize("NFKC", raw))
    text = _WHITESPACE.sub(" ", text).strip()

    def dash(match: re.Match[str]) -> str:
        start = match.start()
        return LONG_VOWEL if start and is_kana(text[start - 1]) else "-"

    return _DASH.sub(dash, text)


# Characters that NFKC joins to the one before (a combining mark, a half-width sound mark).
_JOINS_PREVIOUS = "\uff9e\uff9f"


def _clusters(raw: str) -> list[tuple[int, int]]:
    """The (start, end) spans of `raw` that NFKC maps independently: a base character with
    the combining marks that follow it."""
    spans: list[tuple[int, int]] = []
    for index, char in enumerate(raw):
        joins = char in _JOINS_PREVIOUS or unicodedata.combining(char) != 0
        if spans and joins:
            spans[-1] = (spans[-1][0], index + 1)
        else:
            spans.append((index, index + 1))
    return spans


def normalize_with_sources(raw: str) -> tuple[str, list[tuple[int, int]]] | None:
    """Return `normalize_text(raw)` and, for each of its characters, the span of `raw` it
    comes from; None where the pieces do not add up to the whole (then positions are unknown).
    """
    chars: list[str] = []
    sources: list[tuple[int, int]] = []
    for start, end in _clusters(raw):
        piece = _WAVES.sub("~", unicodedata.normalize("NFKC", raw[start:end]))
        for char in piece:
            if char.isspace():
                if not chars or chars[-1] == " ":
                    continue  # leading whitespace, or a run collapsed into one space
                char = " "
            chars.append(char)
            sources.append((start, end))
    while chars and chars[-1] == " ":
        chars.pop()
        sources.pop()
    collapsed = "".join(chars)

    def dash(match: re.Match[str]) -> str:
        start = match.start()
        return LONG_VOWEL if start and is_kana(collapsed[start - 1]) else "-"

    text = _DASH.sub(dash, collapsed)
    if text != normalize_text(raw):
        return None
    return text, sources


def _fold_char(char: str) -> str:
    lower = char.lower()
    # A few characters lower-case into two (İ -> i̇); keep the original to keep positions.
    return lower if len(lower) == 1 else char


def fold(text: str) -> str:
    """Return `text` (already normalised) lower-cased, katakana as hiragana; same length."""
    # str.translate walks every character in Python; translating only katakana runs is faster.
    folded = _KATAKANA_RUN.sub(lambda match: match.group().translate(_KANA_TABLE), text)
    lowered = folded.lower()
    # Lower-casing only ever lengthens a character, so equal lengths mean a 1:1 mapping.
    if len(lowered) == len(folded):
        return lowered
    return "".join(_fold_char(char) for char in folded)


def search_form(raw: str) -> str:
    """Return the form tokens are cut from: normalised, then folded."""
    return fold(normalize_text(raw))
