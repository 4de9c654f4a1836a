"""The audit log: registered actions only, append-only rows."""

import pytest

from madoguchi.audit import actions
from madoguchi.audit.models import AuditEntry
from madoguchi.audit.services import record

pytestmark = pytest.mark.django_db


def test_record_with_target_takes_its_shop(world):
    entry = record(
        actor=world.operator_tea,
        action=actions.TICKET_UPDATED,
        target=world.tea_ticket,
        changes={"priority": ["normal", "high"]},
        ip_address="192.0.2.10",
    )
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.action == "ticket.updated"
    assert stored.actor_id == world.operator_tea.id
    assert stored.actor_label == world.operator_tea.email
    assert stored.shop_id == world.tea.id
    assert stored.target_type == "conversations.ticket"
    assert stored.target_id == str(world.tea_ticket.id)
    assert stored.changes == {"priority": ["normal", "high"]}
    assert stored.ip_address == "192.0.2.10"


def test_record_without_actor_or_target(world):
    entry = record(actor=None, action=actions.USER_LOGIN_FAILED, actor_label="nobody@example.jp")
    assert (entry.actor_id, entry.actor_label, entry.shop_id) == (None, "nobody@example.jp", None)
    assert (entry.target_type, entry.target_id, entry.changes) == ("", "", {})


def test_explicit_shop_wins(world):
    entry = record(actor=world.admin, action=actions.CUSTOMER_VIEWED, shop=world.ceramics)
    assert entry.shop_id == world.ceramics.id


def test_unknown_action_raises(world):
    with pytest.raises(ValueError, match="Unknown audit action"):
        record(actor=world.admin, action="ticket.vanished")
    assert AuditEntry.objects.count() == 0


def test_audit_entries_are_append_only(world):
    entry = record(actor=world.admin, action=actions.USER_LOGGED_IN)
    entry.action = actions.USER_LOGGED_OUT
    with pytest.raises(TypeError, match="append-only"):
        entry.save()
    with pytest.raises(TypeError, match="append-only"):
        entry.delete()
    with pytest.raises(TypeError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).update(action=actions.USER_LOGGED_OUT)
    with pytest.raises(TypeError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(TypeError, match="append-only"):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "user.logged_in"
