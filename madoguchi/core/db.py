"""Database helpers shared by the apps' selectors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def custom_plans() -> Iterator[None]:
    """Plan the statements run inside the block for their actual parameters.

    PostgreSQL connections prepare the statements they run often (settings: server-side
    binding), and after five runs the server may keep one generic plan for all parameters.
    For queries whose best plan depends on the values (how many rows an IN list or a word
    matches, a LIMIT), that plan can be far slower. SQLite plans every statement anyway.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield
