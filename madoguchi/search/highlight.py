"""Mark the matched parts of stored text: escape everything, then wrap matches in <mark>."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from madoguchi.search.normalize import fold, normalize_text, normalize_with_sources
from madoguchi.search.query import Term

SNIPPET_BEFORE = 30
SNIPPET_AFTER = 90
_DIGITS_ONLY = re.compile(r"\d+")


def _pattern(term: Term) -> re.Pattern[str]:
    text = term.text
    if _DIGITS_ONLY.fullmatch(text) or re.fullmatch(r"\d+(?:[- ]\d+)+", text):
        # A number typed without hyphens also marks its hyphenated form, and the reverse.
        digits = re.sub(r"\D", "", text)
        return re.compile(r"[- ]?".join(re.escape(digit) for digit in digits))
    return re.compile(re.escape(text))


def match_spans(text: str, terms: Sequence[Term]) -> list[tuple[int, int]]:
    """Return the merged (start, end) spans of `text` (normalised) where any term occurs."""
    folded = fold(text)
    spans = sorted(
        match.span()
        for term in terms
        for match in _pattern(term).finditer(folded)
        if match.end() > match.start()
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def contains_all(text: str, terms: Sequence[Term]) -> bool:
    """Whether every term occurs in `text` (normalised) as it was typed, in order for phrases."""
    folded = fold(text)
    return all(_pattern(term).search(folded) for term in terms)


def _render(text: str, spans: Sequence[tuple[int, int]], start: int, end: int) -> str:
    parts: list[str] = []
    position = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_start >= span_end:
            continue
        parts.append(escape(text[position:span_start]))
        parts.append(f"<mark>{escape(text[span_start:span_end])}</mark>")
        position = span_end
    parts.append(escape(text[position:end]))
    return "".join(parts)


def highlight(text: str, terms: Sequence[Term]) -> SafeString:
    """Return the whole of `text` escaped, with every match marked."""
    return mark_safe(_render(text, match_spans(text, terms), 0, len(text)))  # noqa: S308 - escaped


def highlight_original(raw: str, terms: Sequence[Term]) -> SafeString:
    """Return the whole of `raw` as it was written, escaped, with every match marked.

    Matches are found in the normalised form (as the search found them) and marked on the
    characters of `raw` they come from; where the positions cannot be traced back, the
    normalised form is shown instead.
    """
    traced = normalize_with_sources(raw)
    if traced is None:
        return highlight(normalize_text(raw), terms)
    text, sources = traced
    spans: list[tuple[int, int]] = []
    for start, end in match_spans(text, terms):
        span = (sources[start][0], sources[end - 1][1])
        if spans and span[0] <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(span[1], spans[-1][1]))
        else:
            spans.append(span)
    return mark_safe(_render(raw, spans, 0, len(raw)))  # noqa: S308 - escaped


def snippet(text: str, terms: Sequence[Term]) -> SafeString:
    """Return an escaped excerpt of `text` around its first match, matches marked."""
    spans = match_spans(text, terms)
    first = spans[0][0] if spans else 0
    start = max(0, first - SNIPPET_BEFORE)
    end = min(len(text), first + SNIPPET_AFTER)
    html = _render(text, spans, start, end)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return mark_safe(f"{prefix}{html}{suffix}")  # noqa: S308 - every part is escaped
