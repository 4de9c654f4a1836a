import pytest
from django.db import connection

from madoguchi.core.db import custom_plans


def _plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.django_db(transaction=True)
def test_custom_plans_only_inside_the_block():
    if connection.vendor != "postgresql":
        with custom_plans():  # SQLite plans every statement: nothing to change
            assert not connection.in_atomic_block
        return
    assert _plan_cache_mode() == "auto"
    with custom_plans():
        assert _plan_cache_mode() == "force_custom_plan"
    assert _plan_cache_mode() == "auto"
