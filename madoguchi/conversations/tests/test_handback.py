"""Handing a person's open tickets back to the queue (deactivation, shops taken away)."""

from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.handback import tickets_hand_back
from madoguchi.conversations.models import Ticket
from madoguchi.core.testing import factories
from madoguchi.events.models import Event
from madoguchi.tenancy.scoping import unscoped


def assigned(world, shop, status="open"):
    return factories.TicketFactory(shop=shop, assignee=world.operator_tea, status=status)


def assignees():
    with unscoped("test assertion"):
        return dict(Ticket.objects.values_list("subject", "assignee_id"))


def test_only_unsolved_tickets_of_the_given_shops_go_back(world):
    with unscoped("test setup"):
        open_tea = assigned(world, world.tea)
        pending_tea = assigned(world, world.tea, status="pending")
        solved_tea = assigned(world, world.tea, status="solved")
        closed_tea = assigned(world, world.tea, status="closed")
        ceramics = assigned(world, world.ceramics)
        someone_else = factories.TicketFactory(shop=world.tea, assignee=world.supervisor)

    count = tickets_hand_back(
        actor_user=world.admin, user=world.operator_tea, shop_ids={world.tea.id}
    )

    assert count == 2
    now = assignees()
    assert now[open_tea.subject] is None
    assert now[pending_tea.subject] is None
    assert now[solved_tea.subject] == world.operator_tea.id
    assert now[closed_tea.subject] == world.operator_tea.id
    assert now[ceramics.subject] == world.operator_tea.id
    assert now[someone_else.subject] == world.supervisor.id
    with unscoped("test assertion"):
        events = list(
            Event.objects.filter(type="ticket.assigned")
            .order_by("id")
            .values_list("ticket_id", "actor_kind", "actor_user_id", "payload")
        )
    payload = {"old_user_id": world.operator_tea.id, "new_user_id": None, "reason": "handed-back"}
    assert events == [
        (open_tea.id, "operator", world.admin.id, payload),
        (pending_tea.id, "operator", world.admin.id, payload),
    ]
    entries = AuditEntry.objects.filter(action="ticket.assigned").order_by("id")
    assert [(e.target_id, e.actor_id, e.shop_id, e.changes) for e in entries] == [
        (
            str(open_tea.id),
            world.admin.id,
            world.tea.id,
            {"assignee": [world.operator_tea.id, None]},
        ),
        (
            str(pending_tea.id),
            world.admin.id,
            world.tea.id,
            {"assignee": [world.operator_tea.id, None]},
        ),
    ]


def test_without_an_actor_the_system_hands_back(world):
    with unscoped("test setup"):
        ticket = assigned(world, world.ceramics)
    assert (
        tickets_hand_back(actor_user=None, user=world.operator_tea, shop_ids=[world.ceramics.id])
        == 1
    )
    with unscoped("test assertion"):
        event = Event.objects.get(type="ticket.assigned", ticket=ticket)
    assert (event.actor_kind, event.actor_user_id) == ("system", None)
    entry = AuditEntry.objects.get(action="ticket.assigned")
    assert (entry.actor_id, entry.actor_label) == (None, "handed-back")


def test_no_shops_changes_nothing(world):
    with unscoped("test setup"):
        assigned(world, world.tea)
    assert tickets_hand_back(actor_user=world.admin, user=world.operator_tea, shop_ids=()) == 0
    with unscoped("test assertion"):
        assert not Event.objects.filter(type="ticket.assigned").exists()
    assert list(assignees().values()).count(world.operator_tea.id) == 1
