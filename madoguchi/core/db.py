"""Database helpers shared by the apps' selectors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, transaction

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
