import pytest
from django.db import connection
from django.utils import timezone

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


@pytest.mark.django_db
def test_insert_all_stores_what_bulk_create_would_and_sets_ids_in_order(world):
    from django.utils.translation import gettext_lazy

    from madoguchi.audit.models import AuditEntry
    from madoguchi.core.db import insert_all
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.scoping import in_shop

    when = timezone.now()
    label = gettext_lazy("System")
    entries = [
        AuditEntry(
            occurred_at=when,
            actor=world.admin,
            actor_label=label,  # not a plain str: the field converts it
            action="customer.created",
            shop=world.tea,
            target_type="customers.customer",
            target_id=str(number),
            changes={"名前": ["山田", "髙橋①"], "count": number},
            ip_address="192.0.2.1",
        )
        for number in range(3)
    ]
    insert_all(entries)
    assert [entry.pk for entry in entries] == sorted(entry.pk for entry in entries)
    assert all(not entry._state.adding for entry in entries)
    stored = AuditEntry.objects.get(pk=entries[2].pk)
    assert (stored.actor_id, stored.actor_label, stored.shop_id, stored.target_id) == (
        world.admin.id,
        str(label),
        world.tea.id,
        "2",
    )
    assert stored.changes == {"名前": ["山田", "髙橋①"], "count": 2}
    assert stored.occurred_at == when
    assert stored.ip_address == "192.0.2.1"

    customers = [Customer(shop=world.tea, name=f"顧客{number}") for number in range(2)]
    insert_all(customers)
    with in_shop(world.tea.id):
        stored_customer = Customer.objects.get(pk=customers[1].pk)
    assert stored_customer.name == "顧客1"
    assert stored_customer.created_at is not None  # auto_now_add ran
    assert stored_customer.updated_at is not None


@pytest.mark.django_db
def test_insert_all_splits_what_one_statement_cannot_carry(world, django_assert_max_num_queries):
    from madoguchi.audit.models import AuditEntry
    from madoguchi.core.db import insert_all

    count = 1_200
    entries = [
        AuditEntry(occurred_at=timezone.now(), action="customer.created", target_id=str(n))
        for n in range(count)
    ]
    insert_all(entries)
    ids = [entry.pk for entry in entries]
    assert len(set(ids)) == count and ids == sorted(ids)
    stored = dict(AuditEntry.objects.filter(pk__in=ids).values_list("pk", "target_id"))
    assert [stored[pk] for pk in ids] == [str(n) for n in range(count)]


@pytest.mark.django_db
def test_insert_all_refuses_rows_that_exist(world):
    from madoguchi.audit.models import AuditEntry
    from madoguchi.core.db import insert_all

    entry = AuditEntry.objects.create(occurred_at=timezone.now(), action="customer.created")
    with pytest.raises(ValueError, match="new rows only"):
        insert_all([entry])
