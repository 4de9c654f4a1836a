"""Who sees which shop: roles, engagements, assignments, memberships."""

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.core.errors import NotFoundError, PermissionDeniedError
from madoguchi.core.testing import factories
from madoguchi.tenancy.access import (
    ANONYMOUS,
    access_shop,
    access_shop_by_id,
    actor_for_user,
    actors_for_users,
    require_staff,
    shop_staff,
    visible_shops,
)
from madoguchi.tenancy.models import Engagement, Membership, Workspace

Role = Membership.Role
pytestmark = pytest.mark.django_db


def _ids(*shops):
    return tuple(sorted(shop.id for shop in shops))


def _own_shop(agency):
    """A shop the agency owns itself (its own store), besides the client shops it works."""
    return factories.ShopFactory(
        workspace=agency, name="窓口ストア", slug="own", ticket_prefix="OWN"
    )


def test_admin_and_supervisor_see_engaged_and_owned_shops(world):
    own = _own_shop(world.agency)
    other = factories.ShopFactory()  # not engaged by the agency

    for user in (world.admin, world.supervisor):
        actor = actor_for_user(user)
        assert actor.shop_ids == _ids(world.tea, world.ceramics, own)
        assert other.id not in actor.grants
        assert actor.grants[world.tea.id].via_engagement is True
        assert actor.grants[own.id].via_engagement is False
        assert actor.is_staff_for(world.tea.id) is True
        assert actor.is_lead_for(world.tea.id) is True
        assert actor.workspace_ids == frozenset({world.agency.id})
    assert actor_for_user(world.admin).role_for(world.tea.id) == Role.ADMIN
    assert actor_for_user(world.supervisor).role_for(world.tea.id) == Role.SUPERVISOR


def test_operator_sees_only_assigned_shops_its_workspace_reaches(world):
    actor = actor_for_user(world.operator_tea)
    assert actor.shop_ids == (world.tea.id,)
    assert actor.role_for(world.tea.id) == Role.OPERATOR
    assert actor.is_staff_for(world.tea.id) is True
    assert actor.is_lead_for(world.tea.id) is False
    assert actor.role_for(world.ceramics.id) is None

    # An assignment to a shop the agency does not work gives nothing.
    stranger_shop = factories.ShopFactory()
    membership = Membership.objects.get(user=world.operator_tea)
    factories.ShopAssignmentFactory(membership=membership, shop=stranger_shop)
    assert actor_for_user(world.operator_tea).shop_ids == (world.tea.id,)

    # An operator with no assignment sees nothing.
    unassigned = factories.MembershipFactory(workspace=world.agency, role=Role.OPERATOR).user
    assert actor_for_user(unassigned).shop_ids == ()


def test_client_sees_only_its_own_workspace_shops(world):
    actor = actor_for_user(world.client_tea)
    assert actor.shop_ids == (world.tea.id,)
    assert actor.role_for(world.tea.id) == Role.CLIENT
    assert actor.is_staff_for(world.tea.id) is False
    assert actor.sees_internal_notes(world.tea.id) is False
    assert actor_for_user(world.client_ceramics).shop_ids == (world.ceramics.id,)


def test_ended_and_future_engagements_give_no_access(world):
    today = timezone.localdate()
    Engagement.objects.filter(shop=world.tea).update(
        starts_on=today - dt.timedelta(days=30), ends_on=today - dt.timedelta(days=1)
    )
    Engagement.objects.filter(shop=world.ceramics).update(starts_on=today + dt.timedelta(days=1))

    assert actor_for_user(world.admin).shop_ids == ()
    assert actor_for_user(world.operator_tea).shop_ids == ()
    # The day an engagement ends is still a working day; the day it starts too.
    assert actor_for_user(world.admin, on=today - dt.timedelta(days=1)).shop_ids == (world.tea.id,)
    assert actor_for_user(world.admin, on=today + dt.timedelta(days=1)).shop_ids == (
        world.ceramics.id,
    )


def test_inactive_membership_or_user_sees_nothing(world):
    Membership.objects.filter(user=world.supervisor).update(is_active=False)
    actor = actor_for_user(world.supervisor)
    assert actor.is_authenticated is True
    assert actor.shop_ids == ()

    world.admin.is_active = False
    world.admin.save()
    assert actor_for_user(world.admin) is ANONYMOUS
    assert actor_for_user(None) is ANONYMOUS
    assert ANONYMOUS.shop_ids == ()
    assert ANONYMOUS.is_authenticated is False


def test_strongest_role_wins_across_memberships(world):
    # The tea shop's owner is also an operator of the agency assigned to ceramics and tea.
    user = world.client_tea
    membership = factories.MembershipFactory(user=user, workspace=world.agency, role=Role.OPERATOR)
    factories.ShopAssignmentFactory(membership=membership, shop=world.tea)
    factories.ShopAssignmentFactory(membership=membership, shop=world.ceramics)

    actor = actor_for_user(user)
    assert actor.shop_ids == _ids(world.tea, world.ceramics)
    assert actor.role_for(world.tea.id) == Role.OPERATOR
    assert actor.grants[world.tea.id].via_engagement is True
    assert actor.role_for(world.ceramics.id) == Role.OPERATOR
    assert actor.workspace_ids == frozenset({world.agency.id, world.tea.workspace_id})

    # An in-house admin membership of the tea company outranks the agency operator role.
    Membership.objects.filter(user=user, workspace=world.tea.workspace).update(role=Role.ADMIN)
    actor = actor_for_user(user)
    assert actor.role_for(world.tea.id) == Role.ADMIN
    assert actor.grants[world.tea.id].via_engagement is False
    assert actor.role_for(world.ceramics.id) == Role.OPERATOR


def test_trainee_flag_is_carried(world):
    Membership.objects.filter(user=world.operator_tea).update(is_trainee=True)
    assert actor_for_user(world.operator_tea).grants[world.tea.id].is_trainee is True


def test_client_can_reply_only_while_no_agency_works_the_shop(world):
    actor = actor_for_user(world.client_tea)
    assert actor.can_reply(world.tea.id) is False
    assert actor.can_reply(world.ceramics.id) is False  # not its shop

    Engagement.objects.filter(shop=world.tea).update(
        ends_on=timezone.localdate() - dt.timedelta(days=1),
        starts_on=timezone.localdate() - dt.timedelta(days=10),
    )
    assert actor.can_reply(world.tea.id) is True
    assert actor_for_user(world.operator_tea).can_reply(world.tea.id) is False  # lost access

    assert actor_for_user(world.operator_ceramics).can_reply(world.ceramics.id) is True
    assert ANONYMOUS.can_reply(world.tea.id) is False


def test_access_shop_by_slug_and_id(world):
    actor = actor_for_user(world.operator_tea)
    assert access_shop(actor=actor, slug="tea") == world.tea
    assert access_shop_by_id(actor=actor, shop_id=world.tea.id) == world.tea
    with pytest.raises(NotFoundError):
        access_shop(actor=actor, slug="ceramics")
    with pytest.raises(NotFoundError):
        access_shop(actor=actor, slug="no-such-shop")
    with pytest.raises(NotFoundError):
        access_shop_by_id(actor=actor, shop_id=world.ceramics.id)
    # By name in code point order: 山 (U+5C71) before 青 (U+9752).
    assert visible_shops(actor_for_user(world.admin)) == [world.tea, world.ceramics]


def test_require_staff(world):
    require_staff(actor=actor_for_user(world.operator_tea), shop_id=world.tea.id)
    with pytest.raises(PermissionDeniedError):
        require_staff(actor=actor_for_user(world.client_tea), shop_id=world.tea.id)
    with pytest.raises(PermissionDeniedError):
        require_staff(actor=actor_for_user(world.operator_tea), shop_id=world.ceramics.id)


def test_actors_for_many_people_are_each_ones_actor_in_one_query(world, django_assert_num_queries):
    trainee = factories.MembershipFactory(
        workspace=world.agency, role=Role.OPERATOR, is_trainee=True
    )
    factories.ShopAssignmentFactory(membership=trainee, shop=world.ceramics)
    inactive = factories.MembershipFactory(workspace=world.agency, role=Role.SUPERVISOR).user
    inactive.is_active = False
    inactive.save()
    nobody = factories.UserFactory()  # no membership at all
    people = [
        world.admin,
        world.supervisor,
        world.operator_tea,
        world.operator_ceramics,
        world.client_tea,
        world.client_ceramics,
        trainee.user,
        inactive,
        nobody,
    ]
    with django_assert_num_queries(1):
        actors = actors_for_users(people)
    assert set(actors) == {person.pk for person in people}
    for person in people:
        one = actor_for_user(person)
        many = actors[person.pk]
        assert (many.user, many.grants, many.workspace_roles) == (
            one.user,
            one.grants,
            one.workspace_roles,
        ), person
    assert actors[inactive.pk] is ANONYMOUS
    assert actors[nobody.pk].shop_ids == ()
    assert actors[trainee.user.pk].is_trainee_for(world.ceramics.id)
    assert actors[world.operator_tea.pk].shop_ids == (world.tea.id,)


def test_shop_staff_lists_people_who_work_the_shop(world):
    # In-house staff of the tea company count too; its client role does not.
    in_house = factories.MembershipFactory(workspace=world.tea.workspace, role=Role.OPERATOR).user
    factories.ShopAssignmentFactory(
        membership=Membership.objects.get(user=in_house), shop=world.tea
    )
    inactive = factories.MembershipFactory(workspace=world.agency, role=Role.SUPERVISOR).user
    inactive.is_active = False
    inactive.save()
    left = factories.MembershipFactory(
        workspace=world.agency, role=Role.SUPERVISOR, is_active=False
    ).user

    staff = shop_staff(shop_id=world.tea.id)
    expected = sorted(
        [world.admin, world.supervisor, world.operator_tea, in_house],
        key=lambda user: (user.display_name, user.id),
    )
    assert staff == expected
    assert inactive not in staff and left not in staff
    assert set(shop_staff(shop_id=world.tea.id, leads=True)) == {world.admin, world.supervisor}

    ceramics_staff = shop_staff(shop_id=world.ceramics.id)
    assert set(ceramics_staff) == {world.admin, world.supervisor, world.operator_ceramics}

    # Without an engagement only the shop company's own staff remain.
    Engagement.objects.filter(shop=world.tea).delete()
    assert shop_staff(shop_id=world.tea.id) == [in_house]


def test_agency_workspace_kind_is_irrelevant_to_access(world):
    # Access follows engagements, not the workspace kind label.
    assert world.agency.kind == Workspace.Kind.AGENCY
    merchant = factories.WorkspaceFactory(kind=Workspace.Kind.MERCHANT)
    factories.EngagementFactory(agency=merchant, shop=world.tea)
    boss = factories.MembershipFactory(workspace=merchant, role=Role.ADMIN).user
    assert actor_for_user(boss).shop_ids == (world.tea.id,)
