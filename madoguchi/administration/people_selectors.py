"""Reads of the people pages: a workspace's members and invitations, and who may open them.

Admins and supervisors of a workspace see its people; anybody else, and a person of another
workspace, is a 404 (`NotFoundError`). Writes are for admins only (the services check).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.administration.models import Invitation
from madoguchi.core.errors import NotFoundError
from madoguchi.operations.profiles import languages_by_membership
from madoguchi.tenancy.access import LEAD_ROLES, Actor, require_workspace_lead
from madoguchi.tenancy.models import Engagement, Membership, Shop, ShopAssignment, Workspace

Role = Membership.Role


def token_hash(token: str) -> str:
    """The stored form of an invitation link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def roles_for(workspace: Workspace) -> list[Role]:
    """The roles a workspace gives: a client is a shop company's own view of its shops."""
    if workspace.kind == Workspace.Kind.MERCHANT:
        return [Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR, Role.CLIENT]
    return [Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR]


def worked_shops(*, workspace_id: int, on: dt.date | None = None) -> QuerySet[Shop]:
    """Return the shops the workspace works: its own and those of its active engagements.

    Archived shops are left out: nobody is assigned to a shop that receives nothing new.
    """
    day = on or timezone.localdate()
    engaged = Engagement.objects.filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=day), agency_id=workspace_id, starts_on__lte=day
    ).values_list("shop_id", flat=True)
    return (
        Shop.objects.filter(Q(workspace_id=workspace_id) | Q(id__in=engaged))
        .filter(archived_at__isnull=True)
        .order_by("name", "id")
    )


def people_workspaces(actor: Actor) -> list[Workspace]:
    """Return the workspaces whose people the actor may see (admin or supervisor), by name."""
    ids = [ws for ws, role in actor.workspace_roles.items() if role in LEAD_ROLES]
    return list(Workspace.objects.filter(id__in=ids).order_by("name", "id")) if ids else []


def access_people_workspace(*, actor: Actor, workspace_id: int | None) -> Workspace:
    """Return the workspace whose people page the actor opens: the one asked for, or the first.

    Not a lead of it: NotFoundError (the page does not exist for them).
    """
    if workspace_id is None:
        leads = people_workspaces(actor)
        if not leads:
            raise NotFoundError("Workspace not found")
        return leads[0]
    if actor.workspace_roles.get(workspace_id) not in LEAD_ROLES:
        raise NotFoundError("Workspace not found")
    return require_workspace_lead(actor, workspace_id)


def access_person(*, actor: Actor, membership_id: int) -> Membership:
    """Return a membership of a workspace the actor leads, with its user and workspace."""
    membership = (
        Membership.objects.filter(pk=membership_id).select_related("user", "workspace").first()
    )
    if membership is None or actor.workspace_roles.get(membership.workspace_id) not in LEAD_ROLES:
        raise NotFoundError("Person not found")
    return membership


def access_invitation(*, actor: Actor, invitation_id: int) -> Invitation:
    """Return an invitation of a workspace the actor leads."""
    invitation = Invitation.objects.filter(pk=invitation_id).select_related("workspace").first()
    if invitation is None or actor.workspace_roles.get(invitation.workspace_id) not in LEAD_ROLES:
        raise NotFoundError("Invitation not found")
    return invitation


def invitation_for_token(token: str) -> Invitation | None:
    """Return the invitation the link's token names (whatever its state), or None."""
    if not token or len(token) > 200:
        return None
    return (
        Invitation.objects.filter(token_hash=token_hash(token))
        .select_related("workspace", "invited_by")
        .first()
    )


def invitation_is_usable(invitation: Invitation, *, now: dt.datetime | None = None) -> bool:
    """Whether the invitation can still be accepted: open and not expired."""
    return invitation.is_open and invitation.expires_at > (now or timezone.now())


def _two_factor_user_ids(user_ids: Iterable[int]) -> set[int] | None:
    """The users with a confirmed authenticator device; None when 2FA is not installed."""
    if not apps.is_installed("django_otp.plugins.otp_totp"):
        return None
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return set(
        TOTPDevice.objects.filter(user_id__in=list(user_ids), confirmed=True).values_list(
            "user_id", flat=True
        )
    )


@dataclass(frozen=True)
class PersonRow:
    membership: Membership
    shops: list[Shop]
    languages: list[str]
    has_two_factor: bool | None  # None: two-factor sign-in is not installed

    @property
    def user(self) -> User:
        return self.membership.user


@dataclass(frozen=True)
class InvitationRow:
    invitation: Invitation
    is_expired: bool


def person_rows(workspace_id: int, memberships: list[Membership]) -> list[PersonRow]:
    """Return each membership with its assigned shops, languages and two-factor state.

    The memberships need `shop_assignments` prefetched with their shops (`people_page` does).
    """
    languages = languages_by_membership(
        workspace_id=workspace_id, membership_ids=[m.id for m in memberships]
    )
    two_factor = _two_factor_user_ids(m.user_id for m in memberships)
    return [
        PersonRow(
            membership=membership,
            shops=[assignment.shop for assignment in membership.shop_assignments.all()],
            languages=languages.get(membership.id, []),
            has_two_factor=None if two_factor is None else membership.user_id in two_factor,
        )
        for membership in memberships
    ]


@dataclass(frozen=True)
class PeoplePage:
    workspace: Workspace
    people: list[PersonRow]
    invitations: list[InvitationRow]


def _memberships(workspace_id: int) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(workspace_id=workspace_id)
        .select_related("user")
        .prefetch_related(
            Prefetch(
                "shop_assignments",
                queryset=ShopAssignment.objects.select_related("shop").order_by("shop__name"),
            )
        )
    )


def people_page(*, workspace: Workspace) -> PeoplePage:
    """The people page: active people first, then deactivated, by name; open invitations."""
    memberships = list(
        _memberships(workspace.id).order_by("-is_active", "user__display_name", "user__email")
    )
    now = timezone.now()
    invitations = [
        InvitationRow(invitation=invitation, is_expired=invitation.expires_at <= now)
        for invitation in Invitation.objects.filter(
            workspace=workspace, accepted_at__isnull=True, revoked_at__isnull=True
        )
        .select_related("invited_by")
        .order_by("-created_at", "-id")
    ]
    return PeoplePage(
        workspace=workspace, people=person_rows(workspace.id, memberships), invitations=invitations
    )


def person_row(*, membership: Membership) -> PersonRow:
    """One person of the person page."""
    loaded = _memberships(membership.workspace_id).get(pk=membership.pk)
    return person_rows(membership.workspace_id, [loaded])[0]


# --- the shop company's first admin, invited by its agency -----------------------------------


def has_active_admin(*, workspace_id: int) -> bool:
    """Whether the workspace has an active admin whose account is active."""
    return Membership.objects.filter(
        workspace_id=workspace_id, role=Role.ADMIN, is_active=True, user__is_active=True
    ).exists()


def owner_inviting_agency(*, actor: Actor, shop: Shop) -> Workspace | None:
    """The agency through which the actor may invite the shop company's first admin, or None.

    It is an agency the actor is admin of that works the shop today (an active engagement).
    """
    admin_of = [ws for ws, role in actor.workspace_roles.items() if role == Role.ADMIN]
    if not admin_of:
        return None
    day = timezone.localdate()
    engagement = (
        Engagement.objects.filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=day),
            starts_on__lte=day,
            shop=shop,
            agency_id__in=admin_of,
            agency__kind=Workspace.Kind.AGENCY,
        )
        .select_related("agency")
        .order_by("agency__name", "agency_id")
        .first()
    )
    return engagement.agency if engagement is not None else None


def open_owner_invitation(*, workspace_id: int) -> Invitation | None:
    """The company's open admin invitation (the owner's, while it has no admin), newest first."""
    return (
        Invitation.objects.filter(
            workspace_id=workspace_id,
            role=Role.ADMIN,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        )
        .order_by("-created_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class OwnerInvitationState:
    """The shop page's panel for an engaged agency's admin: may they invite the owner?"""

    agency: Workspace
    company: Workspace
    has_admin: bool
    invitation: Invitation | None
    is_expired: bool

    @property
    def may_invite(self) -> bool:
        return not self.has_admin


def owner_invitation_state(*, actor: Actor, shop: Shop) -> OwnerInvitationState | None:
    """The owner-invitation panel of the shop page, or None when the actor may not use it."""
    if shop.archived_at is not None:
        return None
    agency = owner_inviting_agency(actor=actor, shop=shop)
    if agency is None:
        return None
    has_admin = has_active_admin(workspace_id=shop.workspace_id)
    invitation = None if has_admin else open_owner_invitation(workspace_id=shop.workspace_id)
    return OwnerInvitationState(
        agency=agency,
        company=shop.workspace,
        has_admin=has_admin,
        invitation=invitation,
        is_expired=invitation is not None and invitation.expires_at <= timezone.now(),
    )
