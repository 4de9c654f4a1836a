"""The engine-specific half of search: writing tokens and finding candidate documents.

Both engines read the same tokens. Candidates come newest first (document id descending, which
is activity order, see `SearchDocument`), `count` at a time below a cursor id, so that the
selector can check phrases on each page and ask for more.

Every token is stored qualified by the document's shop and kind (`12t返品`, see
`document_tokens`), so both indexes hold one posting list per shop, kind and token: a one-shop
search reads only that shop's postings, and an actor of several shops asks for any of their
shops' forms of each token.

SQLite: FTS5 walks its doclists in rowid order, so `ORDER BY rowid DESC LIMIT n` stops after n
hits however common the words are.

PostgreSQL: a GIN index answers "which rows match" but not in any order, and the planner,
guessing selectivity, picks between a GIN bitmap (fast for rare words, slow to sort for common
ones) and a backward id walk with a filter (the reverse). The query is therefore shaped by hand:
first a backward walk over the newest `RECENT_WINDOW` documents in scope, stopped as soon as a
page matched (common words end here); then a longer walk, only when the density the first walk
saw promises a page there; otherwise every GIN match, materialised and sorted (a GIN bitmap is
built whole before its first row, so capping it saves nothing). The match step may only use the
GIN index (see `gin_where`), with custom plans and without JIT or parallel workers
(`candidates`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from madoguchi.core.db import custom_plans
from madoguchi.search.query import ParsedQuery

# The walk reads at most max(RECENT_WINDOW, WINDOW_PER_ROW * rows wanted) documents: words in
# at least 1 of WINDOW_PER_ROW documents are answered by the walk, rarer ones by the GIN index.
RECENT_WINDOW = 500
WINDOW_PER_ROW = 20
TABLE = "search_searchdocument"
COLUMNS = (
    "d.id, d.shop_id, d.kind, d.object_id, d.is_internal, d.number, d.title, d.status, "
    "d.channel, d.activity_at, d.content"
)


# Every stored token is qualified by its document's shop and kind: `12t返品` is the bigram 返品 in
# a ticket of shop 12, `12cやま` in a customer, `12o1001` in an order. The index itself then
# skips other shops (a common word costs what it costs in one shop, not in all of them) and
# other kinds. Unambiguous: the shop id is all digits and the kind letter ends it.
KIND_LETTERS = {"ticket": "t", "customer": "c", "order": "o"}


def qualified(shop_id: int, kind: str, token: str) -> str:
    return f"{shop_id}{KIND_LETTERS[kind]}{token}"


def document_tokens(*, shop_id: int, kind: str, tokens: Sequence[str]) -> list[str]:
    """Return the tokens stored for a document: its text's tokens, qualified by shop and kind."""
    prefix = qualified(shop_id, kind, "")
    return [prefix + token for token in tokens]


def index_insert(entries: Sequence[tuple[int, Sequence[str]]]) -> None:
    """Add (document id, tokens) pairs to the engine's index."""
    if not entries:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.executemany(
                "INSERT INTO search_fts (rowid, tokens) VALUES (%s, %s)",
                [(doc_id, " ".join(tokens)) for doc_id, tokens in entries],
            )
        elif connection.vendor == "postgresql":
            cursor.executemany(
                f"UPDATE {TABLE} SET search_vector = array_to_tsvector(%s::text[]) WHERE id = %s",  # noqa: S608
                [(list(dict.fromkeys(tokens)), doc_id) for doc_id, tokens in entries],
            )


def index_delete(entries: Sequence[tuple[int, Sequence[str]]]) -> None:
    """Remove (document id, tokens) pairs from the index before their rows are deleted.

    The FTS5 table is contentless, so a delete must name the tokens that were inserted; they
    are recomputed from the stored content. PostgreSQL's vector goes with its row.
    """
    if not entries or connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO search_fts (search_fts, rowid, tokens) VALUES ('delete', %s, %s)",
            [(doc_id, " ".join(tokens)) for doc_id, tokens in entries],
        )


def index_clear() -> None:
    """Empty the whole index (before a full rebuild)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")


@dataclass(frozen=True)
class Scope:
    """Which documents of one kind a search may return; shop ids come from the actor."""

    kind: str
    staff_shop_ids: tuple[int, ...]
    client_shop_ids: tuple[int, ...]
    status: str = ""
    channel: str = ""
    active_from: dt.datetime | None = None
    active_before: dt.datetime | None = None

    @property
    def shop_ids(self) -> tuple[int, ...]:
        return tuple(sorted({*self.staff_shop_ids, *self.client_shop_ids}))


@dataclass(frozen=True)
class Candidate:
    id: int
    shop_id: int
    kind: str
    object_id: int
    is_internal: bool
    number: int | None
    title: str
    status: str
    channel: str
    activity_at: dt.datetime
    content: str


def _in_list(column: str, values: Sequence[int], params: list[Any]) -> str:
    params.extend(values)
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def _scope_sql(
    scope: Scope, before_id: int | None, params: list[Any], *, unindexed: bool = False
) -> str:
    """Return the WHERE conditions on document columns; the shop filter is always present.

    `unindexed` writes the indexed columns as expressions no b-tree index answers (shop_id + 0),
    so that with sequential scans off the GIN index is the only way left to the rows.
    """
    shop, kind, doc_id = (
        ("(d.shop_id + 0)", "(d.kind || '')", "(d.id + 0)")
        if unindexed
        else ("d.shop_id", "d.kind", "d.id")
    )
    visible = []
    if scope.staff_shop_ids:
        visible.append(_in_list(shop, scope.staff_shop_ids, params))
    if scope.client_shop_ids:
        clients = _in_list(shop, scope.client_shop_ids, params)
        visible.append(f"({clients} AND NOT d.is_internal)")
    conditions = [f"({' OR '.join(visible)})", f"{kind} = %s"]
    params.append(scope.kind)
    if scope.status:
        conditions.append("d.status = %s")
        params.append(scope.status)
    if scope.channel:
        conditions.append("d.channel = %s")
        params.append(scope.channel)
    # A raw parameter is not converted as a DateTimeField's is: SQLite would compare the stored
    # UTC text with the aware value's own local text ("...+09:00"), off by the UTC offset.
    if scope.active_from is not None:
        conditions.append("d.activity_at >= %s")
        params.append(connection.ops.adapt_datetimefield_value(scope.active_from))
    if scope.active_before is not None:
        conditions.append("d.activity_at < %s")
        params.append(connection.ops.adapt_datetimefield_value(scope.active_before))
    if before_id is not None:
        conditions.append(f"{doc_id} < %s")
        params.append(before_id)
    return " AND ".join(conditions)


def _any_shop(scope: Scope, token: str, quote: Callable[[str], str], operator: str) -> str:
    forms = [quote(qualified(shop_id, scope.kind, token)) for shop_id in scope.shop_ids]
    return forms[0] if len(forms) == 1 else "(" + f" {operator} ".join(forms) + ")"


def _fts5_quote(token: str) -> str:
    # Tokens hold only letters, digits and CJK characters (see tokens.py), never a quote.
    return f'"{token}"'


def fts5_expression(query: ParsedQuery, scope: Scope) -> str:
    """Return the FTS5 MATCH expression: every required token (in any of the scope's shops),
    minus the excluded terms."""

    def all_of(tokens: Sequence[str]) -> str:
        groups = [_any_shop(scope, token, _fts5_quote, "OR") for token in dict.fromkeys(tokens)]
        return "(" + " AND ".join(groups) + ")"

    expression = all_of([token for term in query.required for token in term.tokens])
    for term in query.excluded:
        expression = f"({expression}) NOT {all_of(term.tokens)}"
    return expression


def _tsquery_lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery_expression(query: ParsedQuery, scope: Scope) -> str:
    """Return the tsquery text: every required lexeme (in any of the scope's shops), minus the
    excluded groups."""

    def all_of(tokens: Sequence[str]) -> str:
        groups = [_any_shop(scope, token, _tsquery_lexeme, "|") for token in dict.fromkeys(tokens)]
        return " & ".join(groups)

    parts = [all_of([token for term in query.required for token in term.tokens])]
    parts.extend(f"!({all_of(term.tokens)})" for term in query.excluded)
    return " & ".join(parts)


# The SQL below interpolates only module constants and conditions built of "%s" placeholders
# (`_scope_sql`); every value travels as a parameter.


def _aware(value: dt.datetime | str) -> dt.datetime:
    """The stored UTC moment as an aware datetime.

    A raw cursor skips the DateTimeField's conversion: SQLite hands back the stored UTC text as
    a naive datetime (or the text itself), which pages would then show as if it were local
    time; PostgreSQL answers an aware value already.
    """
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        raise ValueError(f"not a stored datetime: {value!r}")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, dt.UTC)


def _rows(sql: str, params: Sequence[Any]) -> list[Candidate]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    candidates = [Candidate(*row) for row in rows]
    return [replace(found, activity_at=_aware(found.activity_at)) for found in candidates]


def candidates(
    query: ParsedQuery, scope: Scope, *, before_id: int | None, count: int
) -> list[Candidate]:
    """Return up to `count` documents in scope holding the query's tokens, newest first."""
    if query.is_empty or not scope.shop_ids:
        return []
    if connection.vendor == "sqlite":
        return _sqlite_candidates(query, scope, before_id=before_id, count=count)
    with match_settings():
        return _postgres_candidates(query, scope, before_id=before_id, count=count)


def match_settings() -> AbstractContextManager[None]:
    """The PostgreSQL planner settings of the match steps, for one transaction; a search opens
    it once around all its kinds and pages (each `candidates` call would otherwise pay a
    transaction and a settings round trip).

    - Custom plans: a generic plan cannot know how common the tsquery's words are; a plan fit
      for a rare word then reads a common one for seconds.
    - Only GIN answers the match steps (see `gin_where`); no parallel workers and no JIT: the
      planner prices an OR of the scope's shops' lexemes as a read of a large part of the
      table and starts both, 80-120 ms of overhead for what the index answers in under a
      millisecond.
    """
    return custom_plans(enable_seqscan="off", jit="off", max_parallel_workers_per_gather="0")


def _sqlite_candidates(
    query: ParsedQuery, scope: Scope, *, before_id: int | None, count: int
) -> list[Candidate]:
    params: list[Any] = [fts5_expression(query, scope)]
    where = _scope_sql(scope, before_id, params)
    params.append(count)
    sql = (
        f"SELECT {COLUMNS} FROM search_fts f JOIN {TABLE} d ON d.id = f.rowid "  # noqa: S608
        f"WHERE search_fts MATCH %s AND {where} ORDER BY f.rowid DESC LIMIT %s"
    )
    return _rows(sql, params)


def _postgres_candidates(
    query: ParsedQuery, scope: Scope, *, before_id: int | None, count: int
) -> list[Candidate]:
    tsquery = tsquery_expression(query, scope)
    params: list[Any] = []
    where = _scope_sql(scope, before_id, params)
    # The GIN steps: only the GIN index may answer them. Its posting lists are already one
    # shop's and one kind's (qualified tokens); a planner estimating a word as common would
    # rather walk the table or the shop index with a filter, which reads everything in scope
    # when the word is rare or absent (seconds, e.g. a ticket word asked of customers).
    gin_where = _scope_sql(scope, before_id, [], unindexed=True)
    recent_sql = (
        f"SELECT {COLUMNS} FROM (SELECT * FROM {TABLE} d WHERE {where} "  # noqa: S608
        "ORDER BY d.id DESC LIMIT %s) d "
        "WHERE d.search_vector @@ %s::tsquery ORDER BY d.id DESC LIMIT %s"
    )
    # 0. Common words: the newest RECENT_WINDOW documents in scope hold a page. The GIN match
    # of a common word over many shops is a bitmap of hundreds of thousands of rows.
    found = _rows(recent_sql, [*params, RECENT_WINDOW, tsquery, count])
    if len(found) >= count:
        return found
    # 1. Fairly common words: a longer backward walk, only when the density step 0 saw
    # promises to fill the page there (a walk that does not fill it is wasted).
    window = max(RECENT_WINDOW, count * WINDOW_PER_ROW)
    if len(found) * window >= count * RECENT_WINDOW:
        found = _rows(recent_sql, [*params, window, tsquery, count])
        if len(found) >= count or not _scope_has_more_than(where, params, window):
            return found
    # 2. Rarer words: every match through the GIN index (a bitmap is built whole, so a capped
    # read costs the same), sorted, the newest `count` rows read.
    hits_sql = (
        f"WITH hits AS MATERIALIZED (SELECT d.id FROM {TABLE} d "  # noqa: S608
        f"WHERE d.search_vector @@ %s::tsquery AND {gin_where}) "
        f"SELECT {COLUMNS} FROM {TABLE} d "
        "WHERE d.id IN (SELECT id FROM hits ORDER BY id DESC LIMIT %s) ORDER BY d.id DESC"
    )
    # Top ids first, then only those rows: a join with every hit lets the planner merge-join
    # along the whole primary key.
    return _rows(hits_sql, [tsquery, *params, count])


def _scope_has_more_than(where: str, params: Sequence[Any], count: int) -> bool:
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} d WHERE {where} LIMIT %s) limited"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, count + 1])
        row = cursor.fetchone()
    return bool(row and row[0] > count)
