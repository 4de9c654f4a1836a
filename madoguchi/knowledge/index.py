"""The articles' full-text index: the search app's tokens, one index per engine.

Articles are cut exactly as tickets are (`search.normalize.search_form`, `search.tokens`: NFKC
width folding, katakana as hiragana, lower case, CJK bigrams plus unigrams), so a customer's
query in the help center and an operator's in the inbox match the same way. Only published
articles are indexed. Every stored token is qualified by the article's shop, language and
audience (`12jp返品`: shop 12, Japanese, public), so one shop's public Japanese articles are one
posting list per token whatever else the table holds.

SQLite: an FTS5 table `knowledge_fts(title, body)` with rowid = article id. PostgreSQL: a
`search_vector` column of `knowledge_article` with a GIN index; the title's tokens are also
stored marked (`12jp^返品`), so "in the title" is a plain lexeme match (a weight-restricted
tsquery makes PostgreSQL recheck every hit's vector: 41 ms instead of 10 ms for a common word).

A search answers the articles whose title holds the query first, then those with it anywhere,
each newest first: both are walks of the index in id order that stop after a page (FTS5 reads
its doclists in rowid order), so a word in half of 10,000 articles costs what a rare one does.
Ranking every match (bm25, ts_rank) cost 20-30 ms for such words (`make bench`, help_search).
Related articles, an OR of many words, are ranked (bm25, ts_rank over at most `RANK_CAP`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection

from madoguchi.core.db import custom_plans
from madoguchi.search.normalize import search_form
from madoguchi.search.query import ParsedQuery
from madoguchi.search.tokens import index_tokens

TABLE = "knowledge_article"
# Ranking reads every match on SQLite (bm25 in C is cheap); PostgreSQL ranks at most this many.
RANK_CAP = 2000
LANGUAGE_LETTERS = {"ja": "j", "en": "e"}
AUDIENCE_LETTERS = {"public": "p", "internal": "i"}
TITLE_MARK = "^"  # never in a token (search.tokens: letters, digits, CJK)


@dataclass(frozen=True)
class IndexScope:
    """Which articles of one shop a search reads."""

    shop_id: int
    languages: tuple[str, ...]
    audiences: tuple[str, ...]

    def prefixes(self) -> list[str]:
        return [
            f"{self.shop_id}{LANGUAGE_LETTERS[language]}{AUDIENCE_LETTERS[audience]}"
            for language in self.languages
            for audience in self.audiences
        ]


def article_prefix(*, shop_id: int, language: str, visibility: str) -> str:
    return f"{shop_id}{LANGUAGE_LETTERS[language]}{AUDIENCE_LETTERS[visibility]}"


def text_tokens(text: str) -> list[str]:
    """Return the distinct index tokens of `text` (raw text, normalised here)."""
    return index_tokens(search_form(text))


def index_put(
    *, article_id: int, shop_id: int, language: str, visibility: str, title: str, body: str
) -> None:
    """Write (or rewrite) one article's tokens."""
    prefix = article_prefix(shop_id=shop_id, language=language, visibility=visibility)
    title_tokens = [prefix + token for token in text_tokens(title)]
    body_tokens = [prefix + token for token in text_tokens(body)]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DELETE FROM knowledge_fts WHERE rowid = %s", [article_id])
            cursor.execute(
                "INSERT INTO knowledge_fts (rowid, title, body) VALUES (%s, %s, %s)",
                [article_id, " ".join(title_tokens), " ".join(body_tokens)],
            )
        elif connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {TABLE} SET search_vector = "  # noqa: S608
                "setweight(array_to_tsvector(%s::text[]), 'A') || "
                "setweight(array_to_tsvector(%s::text[]), 'B') WHERE id = %s",
                [_marked(title_tokens), body_tokens, article_id],
            )


def index_put_many(rows: Sequence[tuple[int, int, str, str, str, str]]) -> None:
    """Write many articles' tokens at once: (id, shop id, language, visibility, title, body)."""
    if not rows:
        return
    prepared = []
    for article_id, shop_id, language, visibility, title, body in rows:
        prefix = article_prefix(shop_id=shop_id, language=language, visibility=visibility)
        prepared.append(
            (
                article_id,
                [prefix + token for token in text_tokens(title)],
                [prefix + token for token in text_tokens(body)],
            )
        )
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.executemany(
                "DELETE FROM knowledge_fts WHERE rowid = %s", [(row[0],) for row in prepared]
            )
            cursor.executemany(
                "INSERT INTO knowledge_fts (rowid, title, body) VALUES (%s, %s, %s)",
                [(row[0], " ".join(row[1]), " ".join(row[2])) for row in prepared],
            )
        elif connection.vendor == "postgresql":
            cursor.executemany(
                f"UPDATE {TABLE} SET search_vector = "  # noqa: S608
                "setweight(array_to_tsvector(%s::text[]), 'A') || "
                "setweight(array_to_tsvector(%s::text[]), 'B') WHERE id = %s",
                [(_marked(row[1]), row[2], row[0]) for row in prepared],
            )


def _marked(title_tokens: list[str]) -> list[str]:
    """The title's tokens, plain and marked as the title's (PostgreSQL)."""
    marked = []
    for token in title_tokens:
        digits = len(token) - len(token.lstrip("0123456789"))
        # After the shop id, language and audience letters: 12jp返品 -> 12jp^返品.
        marked.append(token[: digits + 2] + TITLE_MARK + token[digits + 2 :])
    return [*title_tokens, *marked]


def index_remove(*, article_id: int) -> None:
    """Take one article out of the index (a draft, an archived article)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DELETE FROM knowledge_fts WHERE rowid = %s", [article_id])
        elif connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {TABLE} SET search_vector = ''::tsvector WHERE id = %s",  # noqa: S608
                [article_id],
            )


def _fts5_any(forms: Iterable[str]) -> str:
    # Tokens hold only letters, digits and CJK characters (search.tokens), never a quote.
    quoted = [f'"{form}"' for form in forms]
    return quoted[0] if len(quoted) == 1 else "(" + " OR ".join(quoted) + ")"


def _ts_any(forms: Iterable[str]) -> str:
    quoted = ["'" + form.replace("\\", "\\\\").replace("'", "''") + "'" for form in forms]
    return quoted[0] if len(quoted) == 1 else "(" + " | ".join(quoted) + ")"


def _expression(
    query: ParsedQuery, scope: IndexScope, *, engine: str, title_only: bool = False
) -> str:
    """Return the engine's match expression; `title_only` asks the required tokens of the
    title (an FTS5 column filter, or the marked title lexemes) and excludes on the whole
    article."""
    prefixes = scope.prefixes()
    conjunction = " AND " if engine == "sqlite" else " & "

    def any_of(forms: Iterable[str]) -> str:
        return _fts5_any(forms) if engine == "sqlite" else _ts_any(forms)

    def all_of(tokens: Iterable[str], *, in_title: bool = False) -> str:
        mark = TITLE_MARK if in_title and engine != "sqlite" else ""
        groups = [
            any_of(prefix + mark + token for prefix in prefixes) for token in dict.fromkeys(tokens)
        ]
        return "(" + conjunction.join(groups) + ")"

    required = [token for term in query.required for token in term.tokens]
    expression = all_of(required, in_title=title_only)
    if title_only and engine == "sqlite":
        expression = f"(title : {expression})"
    for term in query.excluded:
        if engine == "sqlite":
            expression = f"({expression}) NOT {all_of(term.tokens)}"
        else:
            expression = f"{expression} & !{all_of(term.tokens)}"
    return expression


def _any_expression(tokens: Sequence[str], scope: IndexScope, *, engine: str) -> str:
    forms = [prefix + token for token in tokens for prefix in scope.prefixes()]
    return (_fts5_any if engine == "sqlite" else _ts_any)(forms)


# Only the module's table name is interpolated; every value is a parameter.
_POSTGRES_RANKED = (
    "WITH hits AS MATERIALIZED ("  # noqa: S608
    f"SELECT id, search_vector FROM {TABLE} "
    "WHERE search_vector @@ %s::tsquery AND id != %s LIMIT %s) "
    "SELECT id FROM hits ORDER BY ts_rank(search_vector, %s::tsquery) DESC, id DESC LIMIT %s"
)


def _ranked_ids(expression: str, *, limit: int, exclude_id: int | None = None) -> list[int]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT rowid FROM knowledge_fts WHERE knowledge_fts MATCH %s "
                "AND rowid != %s ORDER BY bm25(knowledge_fts, 4.0, 1.0), rowid DESC LIMIT %s",
                [expression, exclude_id or 0, limit],
            )
        else:
            cursor.execute(
                _POSTGRES_RANKED,
                [expression, exclude_id or 0, RANK_CAP, expression, limit],
            )
        return [row[0] for row in cursor.fetchall()]


# PostgreSQL: every match through the GIN index (a backward walk of the primary key with the
# match as a filter reads the other shops' and the unpublished rows too: 75-175 ms at 10,000
# articles), then the newest `limit`. Sequential scans are off for the statement (a planner
# guessing a common word would rather read the table).
_POSTGRES_NEWEST = (
    f"WITH hits AS MATERIALIZED (SELECT id FROM {TABLE} "  # noqa: S608
    "WHERE search_vector @@ %s::tsquery) SELECT id FROM hits ORDER BY id DESC LIMIT %s"
)


def _newest_ids(expression: str, *, limit: int) -> list[int]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT rowid FROM knowledge_fts WHERE knowledge_fts MATCH %s "
                "ORDER BY rowid DESC LIMIT %s",
                [expression, limit],
            )
        else:
            with custom_plans(enable_seqscan="off", jit="off"):
                cursor.execute(_POSTGRES_NEWEST, [expression, limit])
        return [row[0] for row in cursor.fetchall()]


def matching_ids(query: ParsedQuery, scope: IndexScope, *, limit: int) -> list[int]:
    """Return up to `limit` ids of indexed articles in scope holding every required token:
    those with them in the title first, then the others, each newest first."""
    if query.is_empty or not scope.languages or not scope.audiences:
        return []
    engine = connection.vendor
    in_title = _newest_ids(_expression(query, scope, engine=engine, title_only=True), limit=limit)
    if len(in_title) == limit:
        return in_title
    anywhere = _newest_ids(_expression(query, scope, engine=engine), limit=limit)
    seen = set(in_title)
    return [*in_title, *(found for found in anywhere if found not in seen)][:limit]


def similar_ids(text: str, scope: IndexScope, *, limit: int, exclude_id: int | None) -> list[int]:
    """Return up to `limit` ids of indexed articles in scope sharing any bigram or word of
    `text`, most similar first (related articles, FAQ candidates already answered)."""
    tokens = [token for token in text_tokens(text) if len(token) > 1][:40]
    return ids_with_any(tokens, scope, limit=limit, exclude_id=exclude_id)


def ids_with_any(
    tokens: Sequence[str], scope: IndexScope, *, limit: int, exclude_id: int | None = None
) -> list[int]:
    """Return up to `limit` ids of indexed articles in scope holding any of `tokens` (index
    tokens), ranked by bm25 / ts_rank."""
    if not tokens:
        return []
    expression = _any_expression(list(dict.fromkeys(tokens))[:40], scope, engine=connection.vendor)
    return _ranked_ids(expression, limit=limit, exclude_id=exclude_id)
