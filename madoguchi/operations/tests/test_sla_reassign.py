"""Reassignment at an SLA breach: another eligible operator takes the ticket, once per breach."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Ticket
from madoguchi.conversations.services import InboundMessage, receive_inbound, ticket_update
from madoguchi.core.testing import factories
from madoguchi.customers.services import IdentityInput
from madoguchi.events.models import Event
from madoguchi.operations.models import RoutingSettings, SlaPolicy
from madoguchi.operations.services import sla_check_breaches, sla_process_new_events
from madoguchi.operations.tests.staffing import tea_operator
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

TOKYO = ZoneInfo("Asia/Tokyo")
CREATED = dt.datetime(2026, 11, 25, 10, 0, tzinfo=TOKYO)
FIRST_RESPONSE_DUE = CREATED + dt.timedelta(minutes=60)


def _operator(world, *, languages=("ja",), on_duty=True):
    """An operator of the tea shop, on a shift around the breach; available when on duty."""
    return tea_operator(world, languages=languages, available=on_duty, on_shift_at=CREATED)


@pytest.fixture
def policy(world):
    with in_shop(world.tea.id):
        return SlaPolicy.objects.create(
            shop=world.tea,
            name="標準",
            first_response_minutes=60,
            resolution_minutes=90,
            in_business_hours=False,
        )


def _routing(world, **fields):
    with in_shop(world.tea.id):
        return RoutingSettings.objects.create(shop=world.tea, **fields)


def _assigned_ticket(world, assignee, n=1) -> Ticket:
    """A customer's mail at 10:00, assigned by a supervisor to `assignee`, SLAs measured."""
    with in_shop(world.tea.id):
        ticket = receive_inbound(
            InboundMessage(
                shop_id=world.tea.id,
                channel="email",
                external_id=f"breach-{n}@example.jp",
                body_text="注文した商品がまだ届きません",
                subject="配送の遅れ",
                identities=[IdentityInput(kind="email", value=f"k{n}@example.jp")],
                received_at=CREATED,
            )
        ).ticket
        if assignee is not None:
            ticket = ticket_update(
                actor=actor_for_user(world.supervisor), ticket=ticket, assignee=assignee
            )
    sla_process_new_events()
    return ticket


def _system_assignments(world, ticket):
    with in_shop(world.tea.id):
        return list(
            Event.objects.filter(ticket=ticket, type="ticket.assigned", actor_kind="system")
        )


def _escalations(world, ticket):
    with in_shop(world.tea.id):
        return [
            event.payload
            for event in Event.objects.filter(ticket=ticket, type="sla.escalated").order_by("id")
        ]


def test_breach_reassigns_to_another_eligible_operator_once(world, policy):
    current = _operator(world)  # eligible too, and first in round-robin order: must be skipped
    other = _operator(world)
    _operator(world, on_duty=False)
    _operator(world, languages=("en",))
    _routing(world, mode=RoutingSettings.Mode.ROUND_ROBIN, reassign_on_breach=True)
    ticket = _assigned_ticket(world, current)

    assert sla_check_breaches(now=FIRST_RESPONSE_DUE + dt.timedelta(minutes=1)) == 1
    with in_shop(world.tea.id):
        assert Ticket.objects.get(pk=ticket.pk).assignee == other
        (assignment,) = _system_assignments(world, ticket)
        assert assignment.payload == {
            "old_user_id": current.id,
            "new_user_id": other.id,
            "rule": "round_robin",
            "reason": "sla-breach",
        }
        audit = AuditEntry.objects.filter(action="ticket.assigned", actor__isnull=True).get()
        assert audit.actor_label == "sla-breach:round_robin"
        assert audit.changes == {"assignee": [current.id, other.id]}
        assert RoutingSettings.objects.get(shop=world.tea).last_assigned_user == other
    (escalation,) = _escalations(world, ticket)
    assert escalation["reassignment"] == "reassigned"
    assert (escalation["previous_assignee_id"], escalation["assignee_id"]) == (current.id, other.id)
    assert escalation["supervisor_ids"] == sorted([world.admin.id, world.supervisor.id])

    # The sweep runs again (and again): the same breach reassigns nobody a second time.
    assert sla_check_breaches(now=FIRST_RESPONSE_DUE + dt.timedelta(minutes=2)) == 0
    assert sla_check_breaches(now=FIRST_RESPONSE_DUE + dt.timedelta(minutes=3)) == 0
    assert len(_system_assignments(world, ticket)) == 1
    with in_shop(world.tea.id):
        assert Ticket.objects.get(pk=ticket.pk).assignee == other


def test_two_targets_missed_in_one_sweep_reassign_the_ticket_once(world, policy):
    current = _operator(world)
    other = _operator(world)
    third = _operator(world)
    _routing(world, mode=RoutingSettings.Mode.ROUND_ROBIN, reassign_on_breach=True)
    ticket = _assigned_ticket(world, current)

    # The sweep was late: first response (11:00) and resolution (11:30) both passed.
    assert sla_check_breaches(now=CREATED + dt.timedelta(minutes=100)) == 2
    (assignment,) = _system_assignments(world, ticket)
    assert assignment.payload["new_user_id"] == other.id
    with in_shop(world.tea.id):
        assert Ticket.objects.get(pk=ticket.pk).assignee == other
    assert [(e["reassignment"], e["assignee_id"]) for e in _escalations(world, ticket)] == [
        ("reassigned", other.id),
        ("reassigned", other.id),
    ]
    assert third.id not in {e["assignee_id"] for e in _escalations(world, ticket)}


def test_nobody_else_eligible_keeps_the_assignee_and_the_escalation_says_so(world, policy):
    current = _operator(world)
    _operator(world, on_duty=False)
    _operator(world, languages=("en",))
    full = _operator(world)
    _routing(
        world,
        mode=RoutingSettings.Mode.LEAST_LOAD,
        max_open_per_operator=1,
        reassign_on_breach=True,
    )
    ticket = _assigned_ticket(world, current, n=1)
    _assigned_ticket(world, full, n=2)  # `full` reached the limit of one open ticket

    assert sla_check_breaches(now=FIRST_RESPONSE_DUE + dt.timedelta(minutes=1)) == 2
    with in_shop(world.tea.id):
        assert Ticket.objects.get(pk=ticket.pk).assignee == current
    assert _system_assignments(world, ticket) == []
    (escalation,) = _escalations(world, ticket)
    assert escalation["reassignment"] == "nobody_eligible"
    assert (escalation["previous_assignee_id"], escalation["assignee_id"]) == (
        current.id,
        current.id,
    )


def test_unassigned_breached_ticket_is_routed_even_with_manual_routing(world, policy):
    busy = _operator(world)
    idle = _operator(world)
    with unscoped("test setup"):  # busy works an open ticket without SLA measures
        factories.TicketFactory(shop=world.tea, assignee=busy, status="open")
    _routing(world, mode=RoutingSettings.Mode.MANUAL, reassign_on_breach=True)
    ticket = _assigned_ticket(world, None, n=2)

    # Manual routing: the least-loaded operator takes the breached ticket (busy has one).
    sla_check_breaches(now=FIRST_RESPONSE_DUE + dt.timedelta(minutes=1))
    with in_shop(world.tea.id):
        assert Ticket.objects.get(pk=ticket.pk).assignee == idle
    (assignment,) = _system_assignments(world, ticket)
    assert assignment.payload["old_user_id"] is None
    assert assignment.payload["rule"] == "least_load"


def test_an_assignment_made_meanwhile_stands(world, policy, monkeypatch):
    from madoguchi.operations import services

    current = _operator(world)
    eligible_one = _operator(world)
    chosen_by_hand = _operator(world, on_duty=False)
    _routing(world, mode=RoutingSettings.Mode.ROUND_ROBIN, reassign_on_breach=True)
    ticket = _assigned_ticket(world, current)
    real_route = services.ticket_route

    def supervisor_assigns_first(**kwargs):
        # A supervisor assigns the ticket while the sweep is choosing an operator.
        ticket_update(
            actor=actor_for_user(world.supervisor),
            ticket=Ticket.objects.get(pk=kwargs["ticket_id"]),
            assignee=chosen_by_hand,
        )
        return real_route(**kwargs)

    monkeypatch.setattr(services, "ticket_route", supervisor_assigns_first)
    sla_check_breaches(now=FIRST_RESPONSE_DUE + dt.timedelta(minutes=1))
    with in_shop(world.tea.id):
        assert Ticket.objects.get(pk=ticket.pk).assignee == chosen_by_hand
        assert RoutingSettings.objects.get(shop=world.tea).last_assigned_user is None
    assert _system_assignments(world, ticket) == []
    (escalation,) = _escalations(world, ticket)
    assert escalation["reassignment"] == "assigned_meanwhile"
    assert escalation["assignee_id"] == chosen_by_hand.id != eligible_one.id


@pytest.mark.parametrize("routing", [None, {"mode": "round_robin", "reassign_on_breach": False}])
def test_setting_off_reassigns_nothing(world, policy, routing):
    current = _operator(world)
    _operator(world)
    if routing is not None:
        _routing(world, **routing)
    ticket = _assigned_ticket(world, current)

    assert sla_check_breaches(now=FIRST_RESPONSE_DUE + dt.timedelta(minutes=1)) == 1
    with in_shop(world.tea.id):
        assert Ticket.objects.get(pk=ticket.pk).assignee == current
    assert _system_assignments(world, ticket) == []
    (escalation,) = _escalations(world, ticket)
    assert (escalation["reassignment"], escalation["assignee_id"]) == ("off", current.id)


@pytest.mark.parametrize("change", ["escalation_off", "policy_deleted"])
def test_a_breach_the_policy_does_not_escalate_reassigns_nothing(world, policy, change):
    current = _operator(world)
    _operator(world)
    _routing(world, mode=RoutingSettings.Mode.ROUND_ROBIN, reassign_on_breach=True)
    ticket = _assigned_ticket(world, current)
    with in_shop(world.tea.id):
        if change == "escalation_off":
            SlaPolicy.objects.filter(pk=policy.pk).update(escalate_on_breach=False)
        else:
            policy.delete()  # its measures stay, without a policy

    assert sla_check_breaches(now=FIRST_RESPONSE_DUE + dt.timedelta(minutes=1)) == 1
    with in_shop(world.tea.id):
        assert Ticket.objects.get(pk=ticket.pk).assignee == current
        assert RoutingSettings.objects.get(shop=world.tea).last_assigned_user is None
        (breach,) = Event.objects.filter(ticket=ticket, type="sla.breached")
        assert breach.payload["metric"] == "first_response"
        assert breach.payload["policy_id"] == (policy.pk if change == "escalation_off" else None)
    assert _system_assignments(world, ticket) == []
    assert _escalations(world, ticket) == []


def test_solved_ticket_answered_late_is_not_reassigned(world, policy):
    current = _operator(world)
    _operator(world)
    _routing(world, mode=RoutingSettings.Mode.ROUND_ROBIN, reassign_on_breach=True)
    ticket = _assigned_ticket(world, current)
    with in_shop(world.tea.id):
        ticket_update(actor=actor_for_user(current), ticket=ticket, status="solved")

    sla_check_breaches(now=FIRST_RESPONSE_DUE + dt.timedelta(minutes=1))
    with in_shop(world.tea.id):
        assert Ticket.objects.get(pk=ticket.pk).assignee == current
    assert _system_assignments(world, ticket) == []
    assert _escalations(world, ticket)[0]["reassignment"] == "finished"
