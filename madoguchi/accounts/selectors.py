"""Reads of the accounts app: where a user stands in signing in, their second factor, the
workspaces whose security they may see."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.core.errors import NotFoundError
from madoguchi.tenancy.access import LEAD_ROLES, STAFF_ROLES
from madoguchi.tenancy.models import Membership, Workspace

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.tenancy.access import Actor


class Step(StrEnum):
    """What a signed-in user must do before any other page opens."""

    VERIFY = "verify"  # enter the code of their authenticator (or a recovery code)
    SET_UP = "set_up"  # set up an authenticator: a workspace of theirs requires it


def _memberships_requiring_two_factor(user: Any) -> QuerySet[Membership]:
    """The user's active staff memberships that require a second factor: every admin's
    (`MADOGUCHI["TWO_FACTOR_FOR_ADMINS"]`, on unless turned off for the test suite), and every
    staff member's in workspaces that require it."""
    required = Q(workspace__requires_two_factor=True)
    if settings.MADOGUCHI.get("TWO_FACTOR_FOR_ADMINS", True):
        required |= Q(role=Membership.Role.ADMIN)
    return Membership.objects.filter(
        required,
        user=user,
        is_active=True,
        role__in=[str(role) for role in STAFF_ROLES],
    )


def is_verified(user: Any) -> bool:
    """Whether this request's session passed the second step (set by django_otp's middleware)."""
    check = getattr(user, "is_verified", None)
    return bool(check()) if check is not None else False


def sign_in_step(user: User, *, is_verified: bool) -> Step | None:
    """Return the step the user must take first, or None when signed in completely (one query)."""
    if is_verified:
        return None
    from madoguchi.accounts.models import User

    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            has_device=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            must_set_up=Exists(_memberships_requiring_two_factor(OuterRef("pk"))),
        )
        .values_list("has_device", "must_set_up")
        .first()
    )
    if row is None:
        return None
    has_device, must_set_up = row
    if has_device:
        return Step.VERIFY
    return Step.SET_UP if must_set_up else None


def two_factor_required(user: User) -> bool:
    """Whether a workspace the user is staff of requires a second factor."""
    return _memberships_requiring_two_factor(user).exists()


def confirmed_device(user: User) -> TOTPDevice | None:
    """The user's authenticator, once confirmed with a code."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def recovery_codes_left(user: User) -> int:
    return int(StaticToken.objects.filter(device__user=user, device__confirmed=True).count())


@dataclass(frozen=True)
class WorkspaceSecurity:
    """A workspace whose security settings the user may see; only its admins change them."""

    workspace: Workspace
    can_edit: bool
    staff_count: int
    staff_with_two_factor: int


def _led_workspace_roles(actor: Actor) -> dict[int, Membership.Role]:
    return {
        workspace_id: role
        for workspace_id, role in actor.workspace_roles.items()
        if role in LEAD_ROLES
    }


def leads_a_workspace(actor: Actor) -> bool:
    """Whether the actor is admin or supervisor of some workspace (the menu asks; no query)."""
    return bool(_led_workspace_roles(actor))


def _security(workspace: Workspace, role: Membership.Role) -> WorkspaceSecurity:
    staff = Membership.objects.filter(
        workspace=workspace,
        is_active=True,
        user__is_active=True,
        role__in=[str(role) for role in STAFF_ROLES],
    )
    return WorkspaceSecurity(
        workspace=workspace,
        can_edit=role == Membership.Role.ADMIN,
        staff_count=staff.count(),
        staff_with_two_factor=staff.filter(
            Exists(TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True))
        ).count(),
    )


def workspace_securities(actor: Actor) -> list[WorkspaceSecurity]:
    """The workspaces the actor is admin or supervisor of, with their staff's 2FA coverage."""
    roles = _led_workspace_roles(actor)
    workspaces = Workspace.objects.filter(id__in=roles).order_by("name", "id")
    return [_security(workspace, roles[workspace.id]) for workspace in workspaces]


def access_workspace_security(*, actor: Actor, slug: str) -> WorkspaceSecurity:
    """The workspace named by `slug` if the actor leads it; otherwise raise NotFoundError."""
    roles = _led_workspace_roles(actor)
    workspace = Workspace.objects.filter(slug=slug, id__in=roles).first()
    if workspace is None:
        raise NotFoundError("Workspace not found")
    return _security(workspace, roles[workspace.id])
