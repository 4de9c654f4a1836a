import pytest
from django.db import connection

from madoguchi.core.db import custom_plans


def _plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.sqlite
@pytest.mark.django_db(transaction=True)
def test_custom_plans_change_nothing_on_sqlite():
    with custom_plans():  # SQLite plans every statement: no transaction, no settings
        assert not connection.in_atomic_block


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_custom_plans_only_inside_the_block():
    assert _plan_cache_mode() == "auto"
    with custom_plans():
        assert _plan_cache_mode() == "force_custom_plan"
    assert _plan_cache_mode() == "auto"


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_custom_plans_sets_further_settings_once_for_nested_blocks(django_assert_num_queries):
    with custom_plans(enable_seqscan="off"):
        with django_assert_num_queries(0), custom_plans():  # nothing new: no round trip
            pass
        with custom_plans(enable_seqscan="off"), connection.cursor() as cursor:
            cursor.execute("SHOW enable_seqscan")
            assert cursor.fetchone() == ("off",)
        assert _plan_cache_mode() == "force_custom_plan"
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone() == ("on",)
