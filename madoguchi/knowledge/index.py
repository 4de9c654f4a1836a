"""The articles' full-text index: the search app's tokens, one index per engine.

Articles are cut exactly as tickets are (`search.normalize.search_form`, `search.tokens`: NFKC
width folding, katakana as hiragana, lower case, CJK bigrams plus unigrams), so a customer's
query in the help center and an operator's in the inbox match the same way. Only published
articles are indexed. Every stored token is qualified by the article's shop, language and
audience (`12jp返品`: shop 12, Japanese, public), so one shop's public Japanese articles are one
posting list per token whatever else the table holds.

SQLite: an FTS5 table `knowledge_fts(title, body)` with rowid = article id. PostgreSQL: a
narrow posting table `knowledge_posting(token, article_id)` (primary key on both) for the
search, and a `search_vector` column of `knowledge_article` with a GIN index for the ranked OR
searches; the title's tokens are also stored marked (`12jp^返品`), so "in the title" is a plain
token match.

A search answers the articles whose title holds the query first, then those with it anywhere,
each newest first: both are walks of the index in id order that stop after a page (FTS5 reads
its doclists in rowid order; PostgreSQL walks the rarest token's postings backwards through the
b-tree and probes the others'), so a word in half of 10,000 articles costs what a rare one does.
The GIN index could not: its bitmap visited every matching article row before the top-N sort
(10 ms for a word in 6,800 articles; the posting walk 0.05 ms, EXPLAIN ANALYZE).
Ranking every match (bm25, ts_rank) cost 20-30 ms for such words (`make bench`, help_search).
Related articles, an OR of many words, are ranked (bm25, ts_rank over at most `RANK_CAP`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from madoguchi.search.normalize import search_form
from madoguchi.search.query import ParsedQuery
from madoguchi.search.tokens import index_tokens

TABLE = "knowledge_article"
# PostgreSQL: (token, article id), primary key on both; walked backwards in id order per token.
POSTINGS = "knowledge_posting"
# A token's postings counted to choose the rarest as the walk's driver stop at this many.
COUNT_CAP = 2000
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
            _postings_put(cursor, [(article_id, _marked(title_tokens), body_tokens)])


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
            _postings_put(cursor, [(row[0], _marked(row[1]), row[2]) for row in prepared])


def _postings_put(cursor: Any, rows: Sequence[tuple[int, list[str], list[str]]]) -> None:
    """PostgreSQL: replace the posting rows of articles: (id, marked title tokens, body tokens)."""
    cursor.execute(
        f"DELETE FROM {POSTINGS} WHERE article_id = ANY(%s)",  # noqa: S608
        [[row[0] for row in rows]],
    )
    tokens: list[str] = []
    ids: list[int] = []
    for article_id, title_tokens, body_tokens in rows:
        distinct = set(title_tokens) | set(body_tokens)
        tokens.extend(distinct)
        ids.extend([article_id] * len(distinct))
    cursor.execute(
        f"INSERT INTO {POSTINGS} (token, article_id) "  # noqa: S608
        "SELECT * FROM unnest(%s::text[], %s::bigint[])",
        [tokens, ids],
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
            cursor.execute(
                f"DELETE FROM {POSTINGS} WHERE article_id = %s",  # noqa: S608
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


def _newest_ids(expression: str, *, limit: int) -> list[int]:
    """SQLite: the newest `limit` rows of an FTS5 match (a walk of its doclists)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rowid FROM knowledge_fts WHERE knowledge_fts MATCH %s "
            "ORDER BY rowid DESC LIMIT %s",
            [expression, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def matching_ids(query: ParsedQuery, scope: IndexScope, *, limit: int) -> list[int]:
    """Return up to `limit` ids of indexed articles in scope holding every required token:
    those with them in the title first, then the others, each newest first."""
    if query.is_empty or not scope.languages or not scope.audiences:
        return []
    engine = connection.vendor
    if engine == "postgresql":
        return _postgres_matching_ids(query, scope, limit=limit)
    in_title = _newest_ids(_expression(query, scope, engine=engine, title_only=True), limit=limit)
    if len(in_title) == limit:
        return in_title
    anywhere = _newest_ids(_expression(query, scope, engine=engine), limit=limit)
    seen = set(in_title)
    return [*in_title, *(found for found in anywhere if found not in seen)][:limit]


# PostgreSQL: walk the driver's postings (the rarest required token, in each scope prefix)
# newest first, probe the other tokens' postings by (token, article id) for each, and stop
# after a page: index-only, however common the words. The probes are scalar subqueries and the
# walk is fenced (OFFSET 0): as semi-joins the planner hashed every posting of every token
# and sorted (17 ms instead of 1 ms for a four-bigram phrase, EXPLAIN ANALYZE).
_PROBE = (
    f"(SELECT 1 FROM {POSTINGS} p "  # noqa: S608
    "WHERE p.token = ANY(%s) AND p.article_id = d.article_id LIMIT 1)"
)


def _walk(
    groups: Sequence[list[str]], excluded: Sequence[Sequence[list[str]]], *, part: int, limit: int
) -> tuple[str, list[Any]]:
    """Return one walk's statement and parameters: `groups` are the required tokens' forms,
    rarest first (every group must match), `excluded` the excluded terms' token forms."""
    driver, *others = groups
    branches = " UNION ALL ".join(
        [f"SELECT article_id FROM {POSTINGS} WHERE token = %s"] * len(driver)  # noqa: S608
    )
    params: list[Any] = [*driver]
    conditions = []
    for forms in others:
        conditions.append(f"{_PROBE} IS NOT NULL")
        params.append(forms)
    for term in excluded:
        conditions.append("NOT (" + " AND ".join([f"{_PROBE} IS NOT NULL"] * len(term)) + ")")
        params.extend(term)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    params.append(limit)
    return (
        f"(SELECT {part} AS part, article_id FROM (SELECT article_id FROM ({branches}) AS u "  # noqa: S608
        f"ORDER BY article_id DESC OFFSET 0) AS d{where} LIMIT %s)",
        params,
    )


def _posting_counts(cursor: Any, forms: list[str]) -> dict[str, int]:
    """Return how many articles hold each form, counting at most `COUNT_CAP` each."""
    cursor.execute(
        "SELECT f.token, (SELECT count(*) FROM ("  # noqa: S608
        f"SELECT 1 FROM {POSTINGS} p WHERE p.token = f.token LIMIT %s) AS c) "
        "FROM unnest(%s::text[]) AS f(token)",
        [COUNT_CAP, forms],
    )
    return dict(cursor.fetchall())


def _postgres_matching_ids(query: ParsedQuery, scope: IndexScope, *, limit: int) -> list[int]:
    prefixes = scope.prefixes()
    required = list(dict.fromkeys(token for term in query.required for token in term.tokens))
    anywhere = [[prefix + token for prefix in prefixes] for token in required]
    in_title = [[prefix + TITLE_MARK + token for prefix in prefixes] for token in required]
    excluded = [
        [[prefix + token for prefix in prefixes] for token in dict.fromkeys(term.tokens)]
        for term in query.excluded
    ]
    with connection.cursor() as cursor:
        walks = [(0, in_title), (1, anywhere)]
        if len(required) > 1:
            counts = _posting_counts(
                cursor, [form for group in in_title + anywhere for form in group]
            )

            def count(group: list[str]) -> int:
                return sum(counts.get(form, 0) for form in group)

            # The rarest token drives; a token no article holds ends the walk before it starts.
            walks = [
                (part, sorted(groups, key=count))
                for part, groups in walks
                if all(count(group) for group in groups)
            ]
        if not walks:
            return []
        statements = [_walk(groups, excluded, part=part, limit=limit) for part, groups in walks]
        cursor.execute(
            " UNION ALL ".join(sql for sql, _ in statements),
            [param for _, params in statements for param in params],
        )
        rows = sorted(cursor.fetchall(), key=lambda row: row[0])  # stable: each walk's order
    return list(dict.fromkeys(row[1] for row in rows))[:limit]


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
