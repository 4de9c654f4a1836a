"""Cut search text into index and query tokens (CJK bigrams plus unigrams, Latin words).

As Lucene's CJK analyzer does, a run of kanji and kana becomes its overlapping two-character
bigrams, so every substring of two or more characters is found by requiring its bigrams; the
index also holds every single character, so one-character queries work. Latin letters and digits
form words. Digit groups joined by hyphens or spaces (090-1234-5678, 1234 5678 9012) are also
indexed as one digits-only token, so a phone or tracking number typed without hyphens matches.

The input is always `normalize.search_form(...)` output, for documents and queries alike.
"""

from __future__ import annotations

import re

# Kana (after folding, mostly hiragana), the long-vowel and iteration marks, 〆 and 〇, CJK
# ideographs (base, extension A, compatibility, supplementary planes) and Hangul syllables.
CJK_CHARS = (
    "\u3005-\u3007\u303b\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7a3\U00020000-\U0003134f"
)
_PIECES = re.compile(f"(?P<cjk>[{CJK_CHARS}]+)|(?P<word>[0-9a-z\u00df-\u024f]+)")
_DIGIT_GROUPS = re.compile(r"(?<![0-9a-z])\d+(?:[- ]\d+)+(?![0-9a-z])")
_SEPARATORS = re.compile(r"[- ]")
CJK_RUN = re.compile(f"[{CJK_CHARS}]+")


def _cjk_tokens(run: str, *, for_query: bool) -> list[str]:
    if len(run) == 1:
        return [run]
    bigrams = list(map(str.__add__, run, run[1:]))
    if for_query:
        return bigrams
    return [*run, *bigrams]


def tokenize(text: str, *, for_query: bool = False) -> list[str]:
    """Return the tokens of `text` (in `search_form`), in order, duplicates kept.

    For the index every character of a CJK run is a token and so is every bigram; for a query
    a run of two or more characters needs only its bigrams, and a hyphenated digit number only
    its digits-only form (the index holds both forms of a hyphenated number).
    """
    tokens: list[str] = []
    joined_spans: list[tuple[int, int]] = []
    for match in _DIGIT_GROUPS.finditer(text):
        tokens.append(_SEPARATORS.sub("", match.group()))
        joined_spans.append(match.span())
    for match in _PIECES.finditer(text):
        if match.group("cjk"):
            tokens.extend(_cjk_tokens(match.group("cjk"), for_query=for_query))
            continue
        if for_query and any(start <= match.start() < end for start, end in joined_spans):
            continue
        tokens.append(match.group("word"))
    return tokens


def index_tokens(text: str) -> list[str]:
    """Return the distinct index tokens of `text`, in first-seen order."""
    return list(dict.fromkeys(tokenize(text)))


def query_tokens(text: str) -> list[str]:
    """Return the distinct tokens a query term needs, in first-seen order."""
    return list(dict.fromkeys(tokenize(text, for_query=True)))


def needs_verification(term: str) -> bool:
    """Whether matching the tokens of `term` can be looser than a substring match.

    One bigram, one character or one word match exactly; a longer CJK run or a term mixing
    scripts (iphoneけーす) only guarantees its tokens occur somewhere, not side by side.
    """
    if _DIGIT_GROUPS.fullmatch(term):
        return False
    pieces = list(_PIECES.finditer(term))
    if len(pieces) != 1:
        return len(pieces) > 1
    cjk = pieces[0].group("cjk")
    return bool(cjk) and len(cjk) > 2
