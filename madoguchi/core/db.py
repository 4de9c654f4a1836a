"""Database helpers shared by the apps' selectors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Field, Model

# The settings of the innermost `custom_plans` block, while one is open.
_ACTIVE: ContextVar[dict[str, str] | None] = ContextVar("madoguchi_custom_plans", default=None)


@contextmanager
def custom_plans(**settings: str) -> Iterator[None]:
    """Plan the statements run inside the block for their actual parameters.

    PostgreSQL connections prepare the statements they run often (settings: server-side
    binding), and after five runs the server may keep one generic plan for all parameters.
    For queries whose best plan depends on the values (how many rows an IN list or a word
    matches, a LIMIT), that plan can be far slower. `settings` are further planner settings
    for the block (`enable_seqscan="off"`); all are set in one round trip, for the transaction
    the block opens, and a nested block asking for nothing new costs nothing. SQLite plans every
    statement anyway.
    """
    wanted = {"plan_cache_mode": "force_custom_plan", **settings}
    active = _ACTIVE.get()
    if connection.vendor != "postgresql" or (
        active is not None and wanted.items() <= active.items()
    ):
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        calls = ", ".join(["set_config(%s, %s, true)"] * len(wanted))
        cursor.execute(f"SELECT {calls}", [part for item in wanted.items() for part in item])
        token = _ACTIVE.set({**(active or {}), **wanted})
        try:
            yield
        finally:
            _ACTIVE.reset(token)


# Fields whose database value is the Python value itself when it has one of these types.
_NONE = type(None)
_TEXT = (str, _NONE)
_WHOLE = (int, _NONE)
_PLAIN_VALUES: dict[str, tuple[type, ...]] = {
    "BigIntegerField": _WHOLE,
    "BooleanField": (bool, _NONE),
    "CharField": _TEXT,
    "EmailField": _TEXT,
    "ForeignKey": _WHOLE,
    "IntegerField": _WHOLE,
    "OneToOneField": _WHOLE,
    "PositiveBigIntegerField": _WHOLE,
    "PositiveIntegerField": _WHOLE,
    "PositiveSmallIntegerField": _WHOLE,
    "SlugField": _TEXT,
    "SmallIntegerField": _WHOLE,
    "TextField": _TEXT,
}


class _Rows:
    """Turns objects into rows of database values for `fields` (see `_PLAIN_VALUES`).

    NULL needs no preparing either, except where `pre_save` fills it (`auto_now` when adding) or
    the field stores something else for it (files, JSON). A moment written many times (a mail's
    time in its ticket, message and events) is converted once.
    """

    def __init__(self, fields: Sequence[Field[Any, Any]], *, adding: bool) -> None:
        self.fields = fields
        self.adding = adding
        self.plain = [self._plain_types(field) for field in fields]
        self.moments: dict[tuple[int, dt.datetime], Any] = {}

    def _plain_types(self, field: Field[Any, Any]) -> tuple[type, ...]:
        kind = field.get_internal_type()
        if kind in _PLAIN_VALUES:
            return _PLAIN_VALUES[kind]
        fills_null = self.adding and bool(
            getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        )
        if fills_null or kind in ("FileField", "ImageField", "JSONField"):
            return ()
        return (_NONE,)

    def of(self, item: Model) -> list[Any]:
        values = []
        for index, field in enumerate(self.fields):
            value = getattr(item, field.attname)
            if type(value) in self.plain[index]:
                values.append(value)
                continue
            if self.adding:
                value = field.pre_save(item, True)
            if type(value) is dt.datetime:
                key = (index, value)
                if key not in self.moments:
                    self.moments[key] = field.get_db_prep_save(value, connection)
                values.append(self.moments[key])
                continue
            values.append(field.get_db_prep_save(value, connection))
        return values


def save_each(objects: Sequence[Model], field_names: Sequence[str]) -> None:
    """Write `field_names` of each object, each row its own values, with one prepared UPDATE.

    `bulk_update` builds one CASE expression per field and row; for a batch of rows with many
    fields, compiling that costs more than the database work. This runs one statement per row
    through `executemany` (SQLite reuses it; psycopg pipelines it). Rows of a shop-owned model
    are matched on their shop too. `auto_now` fields are not touched unless named.
    """
    if not objects:
        return
    model = type(objects[0])
    by_name = {field.name: field for field in model._meta.concrete_fields}
    fields = [by_name[name] for name in field_names]
    keys = [by_name[model._meta.pk.name], *([by_name["shop"]] if "shop" in by_name else [])]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
    matches = " AND ".join(f"{quote(str(key.column))} = %s" for key in keys)
    prepare = _Rows([*fields, *keys], adding=False)
    rows = [prepare.of(item) for item in objects]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {matches}",  # noqa: S608
            rows,
        )


def insert_all(objects: Sequence[Model]) -> None:
    """INSERT new rows of one model and set their primary keys, like `bulk_create`, cheaper.

    For the hot paths that insert many rows per request (a batch of mail): `bulk_create`
    prepares every value through several layers of field methods and builds a placeholder per
    value; here a value of a plain field (text, number, flag, foreign key) that is already a
    plain Python value goes in as it is, and every other value takes the field's own
    `pre_save` and `get_db_prep_save`, as `bulk_create` would. The objects must be new (no
    primary key) and of a model with an auto primary key; both engines return the new ids in
    the order given. No signals are sent (neither does `bulk_create`).
    """
    if not objects:
        return
    model = type(objects[0])
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [field for field in meta.concrete_fields if field is not pk]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    row_placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    max_params = connection.features.max_query_params or 65_535
    per_statement = max(1, max_params // len(fields))
    prepare = _Rows(fields, adding=True)
    for start in range(0, len(objects), per_statement):
        chunk = objects[start : start + per_statement]
        params: list[Any] = []
        for item in chunk:
            if item.pk is not None:
                raise ValueError("insert_all inserts new rows only")
            params.extend(prepare.of(item))
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
            f"VALUES {', '.join([row_placeholder] * len(chunk))} RETURNING {quote(str(pk.column))}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids = [row[0] for row in cursor.fetchall()]
        for item, new_id in zip(chunk, ids, strict=True):
            setattr(item, pk.attname, new_id)
            item._state.adding = False
            item._state.db = connection.alias


def planner_statistics_refresh(*, using: str = DEFAULT_DB_ALIAS) -> str:
    """Let SQLite refresh its planner statistics where they went stale; return the engine's name.

    Without statistics SQLite picks a worse index for the supervisor's inbox at scale (a
    temporary sort of every open ticket instead of an index walk). PostgreSQL's autovacuum
    analyzes by itself, so this does nothing there.

    In a transaction of its own (IMMEDIATE, through the write gate): `PRAGMA optimize` outside
    one reads first and then needs to write, and SQLite refuses that at once with "database is
    locked" when another connection wrote meanwhile, instead of waiting its busy timeout.
    """
    database = connections[using]
    if database.vendor == "sqlite":
        with transaction.atomic(using=using), database.cursor() as cursor:
            cursor.execute("PRAGMA analysis_limit=1000")
            cursor.execute("PRAGMA optimize=0x10002")
    return str(database.vendor)
