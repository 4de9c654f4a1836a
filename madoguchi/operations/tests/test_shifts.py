"""Planning shifts (validation, overlaps, midnight), on-duty status and the 24/365 promise."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.testing import factories
from madoguchi.operations.models import OperatorProfile, RoutingSettings, Shift
from madoguchi.operations.schedule import coverage_week, week_schedule
from madoguchi.operations.shifts import (
    coverage_promise_set,
    operator_duty_set,
    schedulable_memberships,
    shift_delete,
    shift_save,
)
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Engagement, Membership
from madoguchi.tenancy.scoping import in_shop, shop_scope, unscoped

TOKYO = ZoneInfo("Asia/Tokyo")


# The world's agency is engaged from the first of the month the suite runs in (the factory's
# default), which moves past the fixed dates below as the real date does: it is engaged here
# since a fixed day before all of them (and before any real today, so access is unchanged).
ENGAGED_SINCE = dt.date(2026, 11, 1)


@pytest.fixture
def world(world):
    with unscoped("test setup"):
        Engagement.objects.filter(agency=world.agency).update(starts_on=ENGAGED_SINCE)
    return world


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


def scope_of(actor):
    return shop_scope(actor.shop_ids, workspace_ids=tuple(actor.workspace_ids))


def plan(actor, shop, membership, starts_at, ends_at, *, shift=None, label=""):
    """Save a new shift (or change `shift`) as `actor` plans it on `shop`'s page."""
    return shift_save(
        actor=actor,
        shop=shop,
        shift=shift,
        membership=membership,
        starts_at=starts_at,
        ends_at=ends_at,
        label=label,
    )


@pytest.fixture
def planner(world):
    return actor_for_user(world.supervisor)


@pytest.fixture
def operator_membership(world):
    return Membership.objects.get(user=world.operator_tea)


def test_night_shift_crosses_midnight_and_is_audited(world, planner, operator_membership):
    with scope_of(planner):
        shift = plan(
            planner,
            world.tea,
            operator_membership,
            at(2026, 11, 30, 22),
            at(2026, 12, 1, 7),
            label="夜勤",
        )
        stored = Shift.objects.get(pk=shift.pk)
        schedule = week_schedule(shop=world.tea, monday=dt.date(2026, 11, 30), editor_id=None)
    assert (stored.workspace_id, stored.label) == (world.agency.id, "夜勤")
    assert stored.ends_at - stored.starts_at == dt.timedelta(hours=9)
    row = next(row for row in schedule.rows if row.membership.id == operator_membership.id)
    monday, tuesday = row.days[0], row.days[1]
    assert [(p.starts, p.ends, p.from_previous_day, p.into_next_day) for p in monday] == [
        (dt.time(22), dt.time(0), False, True)
    ]
    assert [(p.starts, p.ends, p.from_previous_day, p.into_next_day) for p in tuesday] == [
        (dt.time(0), dt.time(7), True, False)
    ]
    assert all(day == [] for day in row.days[2:])
    entry = AuditEntry.objects.get(action="shift.saved")
    assert (entry.actor_id, entry.shop_id, entry.target_id) == (
        world.supervisor.id,
        world.tea.id,
        str(shift.pk),
    )
    assert entry.changes["new"]["starts_at"] == "2026-11-30T13:00:00+00:00"


def test_a_week_lists_the_people_of_an_engagement_that_starts_within_it(
    world, planner, operator_membership
):
    """Engaged from Wednesday 2 Dec: the agency's people are in that week's schedule and their
    Thursday shift counts for coverage, though on Monday they did not work the shop yet."""
    with unscoped("test setup"):
        Engagement.objects.filter(agency=world.agency, shop=world.tea).update(
            starts_on=dt.date(2026, 12, 2)
        )
        Shift.objects.create(
            workspace=world.agency,
            membership=operator_membership,
            starts_at=at(2026, 12, 3, 9),
            ends_at=at(2026, 12, 3, 18),
        )
    with scope_of(planner):
        before = week_schedule(shop=world.tea, monday=dt.date(2026, 11, 23), editor_id=None)
        schedule = week_schedule(shop=world.tea, monday=dt.date(2026, 11, 30), editor_id=None)
    with in_shop(world.tea.id):
        coverage = coverage_week(shop=world.tea, monday=dt.date(2026, 11, 30))
    assert operator_membership.id not in [row.membership.id for row in before.rows]
    row = next(row for row in schedule.rows if row.membership.id == operator_membership.id)
    assert [[(p.starts, p.ends) for p in day] for day in row.days] == [
        [],
        [],
        [],
        [(dt.time(9), dt.time(18))],
        [],
        [],
        [],
    ]
    thursday = coverage.days[3]
    assert [hour.on_shift for hour in thursday.hours[8:19]] == [0] + [1] * 9 + [0]


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "message"),
    [
        (at(2026, 12, 1, 9), at(2026, 12, 1, 9), "A shift must end after it starts."),
        (at(2026, 12, 1, 18), at(2026, 12, 1, 9), "A shift must end after it starts."),
        (at(2026, 12, 1, 9), at(2026, 12, 2, 9, 1), "A shift lasts at most 24 hours."),
    ],
)
def test_invalid_periods_are_refused(
    world, planner, operator_membership, starts_at, ends_at, message
):
    with scope_of(planner), pytest.raises(ValidationError) as error:
        plan(planner, world.tea, operator_membership, starts_at, ends_at)
    assert error.value.message == message
    with unscoped("test assertion"):
        assert Shift.objects.count() == 0
    assert not AuditEntry.objects.filter(action="shift.saved").exists()


def test_overlap_with_the_same_person_is_refused_but_touching_and_others_are_fine(
    world, planner, operator_membership
):
    ceramics_membership = Membership.objects.get(user=world.operator_ceramics)
    # The supervisor plans the ceramics operator from the ceramics shop.
    with scope_of(planner):
        night = plan(
            planner, world.tea, operator_membership, at(2026, 11, 30, 22), at(2026, 12, 1, 7)
        )
        with pytest.raises(ValidationError) as error:
            plan(planner, world.tea, operator_membership, at(2026, 12, 1, 6), at(2026, 12, 1, 15))
        assert (
            error.value.message
            == "This overlaps the same person's shift %(starts_at)s – %(ends_at)s."
        )
        assert error.value.extra == {"starts_at": "2026-11-30 22:00", "ends_at": "2026-12-01 07:00"}
        # Back to back is no overlap; another person at the same time is none either.
        plan(planner, world.tea, operator_membership, at(2026, 12, 1, 7), at(2026, 12, 1, 15))
        plan(planner, world.ceramics, ceramics_membership, at(2026, 11, 30, 22), at(2026, 12, 1, 7))
        # Moving a shift over itself is no overlap with itself.
        moved = plan(
            planner,
            world.tea,
            operator_membership,
            at(2026, 11, 30, 23),
            at(2026, 12, 1, 7),
            shift=night,
        )
        assert Shift.objects.count() == 3
    assert moved.pk == night.pk
    assert moved.starts_at == at(2026, 11, 30, 23)


def test_only_leads_of_the_persons_workspace_plan_shifts(world, operator_membership):
    operator = actor_for_user(world.operator_tea)
    client = actor_for_user(world.client_tea)
    with scope_of(operator), pytest.raises(PermissionDeniedError):
        plan(operator, world.tea, operator_membership, at(2026, 12, 1, 9), at(2026, 12, 1, 18))
    # An admin of the shop's own company leads the shop, but the agency employs the operator.
    with unscoped("test setup"):
        owner_admin = factories.MembershipFactory(
            workspace=world.tea.workspace, role=Membership.Role.ADMIN
        ).user
    owner = actor_for_user(owner_admin)
    assert owner.is_lead_for(world.tea.id)
    with scope_of(owner), pytest.raises(PermissionDeniedError):
        plan(owner, world.tea, operator_membership, at(2026, 12, 1, 9), at(2026, 12, 1, 18))
    with scope_of(owner):
        assert [m.user_id for m in schedulable_memberships(actor=owner, shop=world.tea)] == [
            owner_admin.id
        ]
    assert schedulable_memberships(actor=client, shop=world.tea) == []
    with unscoped("test assertion"):
        assert Shift.objects.count() == 0
    assert not AuditEntry.objects.filter(action="shift.saved").exists()


def test_a_person_of_another_shop_cannot_be_planned_from_this_shop(world, planner):
    ceramics_membership = Membership.objects.get(user=world.operator_ceramics)
    with scope_of(planner), pytest.raises(ValidationError) as error:
        plan(planner, world.tea, ceramics_membership, at(2026, 12, 1, 9), at(2026, 12, 1, 18))
    assert error.value.message == "This person does not work for this shop."


def test_delete_is_audited_and_refused_to_operators(world, planner, operator_membership):
    with scope_of(planner):
        shift = plan(
            planner, world.tea, operator_membership, at(2026, 12, 1, 9), at(2026, 12, 1, 18)
        )
    operator = actor_for_user(world.operator_tea)
    with scope_of(operator), pytest.raises(PermissionDeniedError):
        shift_delete(actor=operator, shop=world.tea, shift=shift)
    with scope_of(planner):
        assert Shift.objects.filter(pk=shift.pk).exists()
        shift_id = shift.pk
        shift_delete(actor=planner, shop=world.tea, shift=shift)
        assert not Shift.objects.filter(pk=shift_id).exists()
    entry = AuditEntry.objects.get(action="shift.deleted")
    assert (entry.target_id, entry.changes["old"]["label"]) == (str(shift_id), "")


def test_operator_sets_their_own_duty(world, operator_membership):
    operator = actor_for_user(world.operator_tea)
    with scope_of(operator):
        profile = operator_duty_set(actor=operator, shop=world.tea, duty="available")
        assert profile.membership_id == operator_membership.id
        assert OperatorProfile.objects.get(pk=profile.pk).duty == "available"
        operator_duty_set(actor=operator, shop=world.tea, duty="away")
        assert OperatorProfile.objects.get(pk=profile.pk).duty == "away"
        with pytest.raises(ValidationError):
            operator_duty_set(actor=operator, shop=world.tea, duty="asleep")
    assert [
        entry.changes
        for entry in AuditEntry.objects.filter(action="operator.duty_changed").order_by("id")
    ] == [{"old": "offline", "new": "available"}, {"old": "available", "new": "away"}]
    client = actor_for_user(world.client_tea)
    with scope_of(client), pytest.raises(PermissionDeniedError):
        operator_duty_set(actor=client, shop=world.tea, duty="available")


def test_coverage_promise_is_set_by_leads_only(world, planner):
    operator = actor_for_user(world.operator_tea)
    with scope_of(operator), pytest.raises(PermissionDeniedError):
        coverage_promise_set(actor=operator, shop=world.tea, promises_24_7=True)
    with scope_of(planner):
        assert not RoutingSettings.objects.filter(shop=world.tea).exists()
        coverage_promise_set(actor=planner, shop=world.tea, promises_24_7=True)
        assert RoutingSettings.objects.get(shop=world.tea).promises_24_7 is True
        # Setting it to what it is already changes nothing and is not audited again.
        coverage_promise_set(actor=planner, shop=world.tea, promises_24_7=True)
    assert AuditEntry.objects.get(action="coverage.promise_changed").changes == {
        "old": False,
        "new": True,
    }
