"""Parse the search box: several words mean AND, "quoted phrase" is exact, -word excludes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from madoguchi.search.normalize import fold, normalize_text
from madoguchi.search.tokens import needs_verification, query_tokens

MAX_TERMS = 10
MAX_QUERY_CHARS = 200

# After NFKC, ＂ is ". Curly quotes and 「」 are accepted as phrase quotes as well.
_TERM = re.compile(r'(?P<negated>-?)(?:["“”「](?P<phrase>[^"“”」]*)["“”」]?|(?P<word>\S+))')


@dataclass(frozen=True)
class Term:
    """One part of a query: its text in search form, and the index tokens it needs."""

    text: str
    tokens: tuple[str, ...]
    is_phrase: bool

    @property
    def needs_verification(self) -> bool:
        """Whether a document holding all tokens may still lack the text itself."""
        return (self.is_phrase and len(self.tokens) > 1) or needs_verification(self.text)


@dataclass(frozen=True)
class ParsedQuery:
    required: tuple[Term, ...]
    excluded: tuple[Term, ...]

    @property
    def is_empty(self) -> bool:
        return not self.required

    @property
    def needs_verification(self) -> bool:
        return any(term.needs_verification for term in self.required)


def parse_query(raw: str) -> ParsedQuery:
    """Return the required and excluded terms of `raw`; terms without tokens are dropped.

    An exclusion alone finds nothing: a query needs at least one required term.
    """
    text = normalize_text(raw[:MAX_QUERY_CHARS])
    required: list[Term] = []
    excluded: list[Term] = []
    for match in _TERM.finditer(text):
        phrase = match.group("phrase")
        is_phrase = phrase is not None
        body = fold((phrase if is_phrase else match.group("word")).strip())
        tokens = tuple(query_tokens(body))
        if not tokens:
            continue
        term = Term(text=body, tokens=tokens, is_phrase=is_phrase)
        target = excluded if match.group("negated") else required
        if term not in target and len(required) + len(excluded) < MAX_TERMS:
            target.append(term)
    return ParsedQuery(required=tuple(required), excluded=tuple(excluded))
