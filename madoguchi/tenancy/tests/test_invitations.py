"""Engagement invitations: a shop company's signed, single-use code that an agency accepts."""

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.core.testing import factories
from madoguchi.tenancy import invitations
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Engagement, EngagementInvitation, Membership

Role = Membership.Role
Mode = Engagement.Mode


def actor(user):
    return actor_for_user(user)


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


@pytest.fixture
def tea_owner_admin(world):
    """An admin of the tea shop's own company (山田園)."""
    return factories.MembershipFactory(workspace=world.tea.workspace, role=Role.ADMIN).user


@pytest.fixture
def other_agency(db):
    agency = factories.WorkspaceFactory(name="北海サポート", slug="hokkai", kind="agency")
    admin = factories.MembershipFactory(workspace=agency, role=Role.ADMIN).user
    return agency, admin


def test_invitation_accepted_by_another_agency_creates_the_engagement(
    world, tea_owner_admin, other_agency
):
    agency, agency_admin = other_agency
    invitation, code = invitations.engagement_invite(
        actor=actor(tea_owner_admin), shop=world.tea, mode=Mode.EMBEDDED
    )
    [invited] = entries("engagement.invited")
    assert invited.shop == world.tea
    assert invited.changes["mode"] == [None, "embedded"]

    engagement = invitations.engagement_invitation_accept(
        actor=actor(agency_admin), code=code, agency=agency
    )
    assert (engagement.agency, engagement.shop, engagement.mode) == (agency, world.tea, "embedded")
    assert engagement.starts_on == timezone.localdate()
    invitation.refresh_from_db()
    assert invitation.engagement == engagement
    assert invitation.accepted_at is not None
    assert actor(agency_admin).role_for(world.tea.id) == Role.ADMIN
    [created] = entries("engagement.created")
    assert created.actor == agency_admin
    assert created.changes["agency"] == [None, "北海サポート"]


def test_an_accepted_invitation_cannot_be_reused_by_another_agency(
    world, tea_owner_admin, other_agency
):
    agency, agency_admin = other_agency
    _, code = invitations.engagement_invite(
        actor=actor(tea_owner_admin), shop=world.tea, mode=Mode.OUTSOURCED
    )
    invitations.engagement_invitation_accept(actor=actor(agency_admin), code=code, agency=agency)
    third = factories.WorkspaceFactory(kind="agency")
    third_admin = factories.MembershipFactory(workspace=third, role=Role.ADMIN).user
    with pytest.raises(ValidationError) as refused:
        invitations.engagement_invitation_accept(actor=actor(third_admin), code=code, agency=third)
    assert refused.value.message == "This invitation was already accepted."
    assert not Engagement.objects.filter(agency=third).exists()


def test_forged_expired_and_cancelled_codes_are_refused(
    world, tea_owner_admin, other_agency, monkeypatch
):
    agency, agency_admin = other_agency
    owner = actor(tea_owner_admin)
    invitation, code = invitations.engagement_invite(
        actor=owner, shop=world.tea, mode=Mode.OUTSOURCED
    )

    def accept(some_code):
        with pytest.raises(ValidationError) as refused:
            invitations.engagement_invitation_accept(
                actor=actor(agency_admin), code=some_code, agency=agency
            )
        return refused.value.message

    forged = code[:-2] + ("AA" if not code.endswith("AA") else "BB")
    assert accept(forged) == "This invitation code is not valid."
    assert accept("eyJpbnZpdGF0aW9uIjoxfQ:1tAAAA:bogus") == "This invitation code is not valid."
    # The signature has a lifetime ...
    monkeypatch.setattr(invitations, "INVITATION_LIFETIME", dt.timedelta(seconds=-1))
    assert accept(code) == "This invitation code has expired."
    monkeypatch.undo()
    # ... and so has the row.
    EngagementInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert accept(code) == "This invitation code has expired."

    other, other_code = invitations.engagement_invite(
        actor=owner, shop=world.tea, mode=Mode.OUTSOURCED
    )
    invitations.engagement_invitation_cancel(actor=owner, invitation=other)
    assert accept(other_code) == "This invitation was cancelled."
    assert not Engagement.objects.filter(agency=agency).exists()
    [cancelled] = entries("engagement.invitation_cancelled")
    assert cancelled.changes["cancelled_at"][0] is None


def test_only_the_shop_company_admin_invites(world, tea_owner_admin):
    # The agency's admin works the shop but does not own it.
    with pytest.raises(NotFoundError):
        invitations.engagement_invite(
            actor=actor(world.admin), shop=world.tea, mode=Mode.OUTSOURCED
        )
    client_actor = actor(world.client_tea)
    with pytest.raises(PermissionDeniedError):
        invitations.engagement_invite(actor=client_actor, shop=world.tea, mode=Mode.OUTSOURCED)


def test_a_shop_company_cannot_accept_and_an_engaged_agency_cannot_overlap(world, tea_owner_admin):
    _, code = invitations.engagement_invite(
        actor=actor(tea_owner_admin), shop=world.tea, mode=Mode.OUTSOURCED
    )
    with pytest.raises(ValidationError) as refused:
        invitations.engagement_invitation_accept(
            actor=actor(tea_owner_admin), code=code, agency=world.tea.workspace
        )
    assert refused.value.message == "Only a support agency can accept an invitation."
    with pytest.raises(ValidationError) as refused:
        invitations.engagement_invitation_accept(
            actor=actor(world.admin), code=code, agency=world.agency
        )
    assert refused.value.message == "This agency already works this shop in that period."
    assert Engagement.objects.filter(shop=world.tea).count() == 1
