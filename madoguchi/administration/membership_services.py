"""Writes of the person pages: role, trainee flag, shop assignments, languages, deactivation.

Only an admin of the workspace changes its people (`require_workspace_admin`); a workspace
always keeps one active admin. Taking shops from a person, or deactivating them, hands their
open tickets in those shops back to the queue; deactivating also ends their sessions and closes
their websockets. Invitations are in `people_services`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from madoguchi.accounts.models import User
from madoguchi.accounts.sessions import user_sessions_end
from madoguchi.administration.people_selectors import (
    worked_shops,
)
from madoguchi.administration.people_services import role_checked, shop_ids_checked
from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.handback import tickets_hand_back
from madoguchi.core.errors import (
    ValidationError,
)
from madoguchi.operations.profiles import operator_languages_set
from madoguchi.tenancy.access import STAFF_ROLES, Actor, actor_for_user, require_workspace_admin
from madoguchi.tenancy.models import Membership, ShopAssignment

Role = Membership.Role


@dataclass(frozen=True)
class PersonSaved:
    membership: Membership
    tickets_handed_back: int


def _staff_shop_ids(user: User) -> set[int]:
    """The shops whose tickets the user may work now (through any membership)."""
    user.refresh_from_db(fields=["is_active"])
    actor = actor_for_user(user)
    return {shop_id for shop_id, grant in actor.grants.items() if grant.role in STAFF_ROLES}


def _guard_last_admin(membership: Membership) -> None:
    """Refuse a change that would leave the workspace without an active admin."""
    active_users = User.objects.filter(is_active=True).values("id")
    # Locking every admin row serialises two admins demoting or deactivating each other.
    admin_ids = set(
        Membership.objects.select_for_update()
        .filter(
            workspace_id=membership.workspace_id,
            role=Role.ADMIN,
            is_active=True,
            user_id__in=active_users,
        )
        .values_list("id", flat=True)
    )
    if not admin_ids - {membership.pk}:
        raise ValidationError(
            "The workspace needs an active admin: make someone else an admin first."
        )


def _locked_membership(membership: Membership) -> Membership:
    locked: Membership = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "workspace")
        .get(pk=membership.pk)
    )
    return locked


def _assignments_set(membership: Membership, shop_ids: set[int]) -> list[list[int]] | None:
    """Assign exactly `shop_ids` among the shops the workspace works; return [before, after].

    Assignments to shops the workspace no longer works (an ended engagement) are kept: they
    grant nothing, and come back into force if the engagement is renewed.
    """
    worked = set(worked_shops(workspace_id=membership.workspace_id).values_list("id", flat=True))
    current = set(membership.shop_assignments.values_list("shop_id", flat=True))
    added = shop_ids - current
    removed = (current & worked) - shop_ids
    if not added and not removed:
        return None
    ShopAssignment.objects.filter(membership=membership, shop_id__in=removed).delete()
    ShopAssignment.objects.bulk_create(
        [ShopAssignment(membership=membership, shop_id=shop_id) for shop_id in sorted(added)]
    )
    return [sorted(current), sorted((current - removed) | added)]


@transaction.atomic
def membership_update(
    *,
    actor: Actor,
    membership: Membership,
    role: str,
    is_trainee: bool,
    shop_ids: Collection[int],
    languages: Sequence[str],
) -> PersonSaved:
    """Change a person's role, trainee flag, assigned shops and languages (admins only).

    Tickets of shops the person no longer works after the change go back to the queue.
    """
    require_workspace_admin(actor, membership.workspace_id)
    membership = _locked_membership(membership)
    chosen_role = role_checked(membership.workspace, role)
    shops = shop_ids_checked(membership.workspace_id, shop_ids)
    if membership.role == Role.ADMIN and chosen_role != Role.ADMIN and membership.is_active:
        _guard_last_admin(membership)
    user = membership.user
    staff_before = _staff_shop_ids(user)
    trainee = is_trainee and chosen_role == Role.OPERATOR
    changes: dict[str, Any] = {}
    if membership.role != chosen_role:
        changes["role"] = [membership.role, str(chosen_role)]
        membership.role = chosen_role
    if membership.is_trainee != trainee:
        changes["is_trainee"] = [membership.is_trainee, trainee]
        membership.is_trainee = trainee
    if changes:
        membership.save(update_fields=["role", "is_trainee"])
    assignment_change = _assignments_set(membership, shops)
    if assignment_change is not None:
        changes["shop_ids"] = assignment_change
    if changes:
        record(
            actor=actor.user, action=actions.MEMBERSHIP_CHANGED, target=membership, changes=changes
        )
    operator_languages_set(actor=actor.user, membership=membership, languages=languages)
    handed_back = tickets_hand_back(
        actor_user=actor.user, user=user, shop_ids=staff_before - _staff_shop_ids(user)
    )
    return PersonSaved(membership, handed_back)


@transaction.atomic
def membership_deactivate(*, actor: Actor, membership: Membership) -> PersonSaved:
    """Deactivate a person in the workspace (admins only); never the last active admin.

    Their open tickets in the shops they no longer work go back to the queue; without another
    active membership their account is deactivated too. After the commit every session of
    theirs ends and their websockets close.
    """
    require_workspace_admin(actor, membership.workspace_id)
    membership = _locked_membership(membership)
    if not membership.is_active:
        raise ValidationError("This person is already deactivated.")
    if membership.role == Role.ADMIN:
        _guard_last_admin(membership)
    user = membership.user
    staff_before = _staff_shop_ids(user)
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    changes: dict[str, Any] = {"is_active": [True, False]}
    others = Membership.objects.filter(user=user, is_active=True).exclude(pk=membership.pk)
    if user.is_active and not others.exists():
        user.is_active = False
        user.save(update_fields=["is_active"])
        changes["user_is_active"] = [True, False]
    handed_back = tickets_hand_back(
        actor_user=actor.user, user=user, shop_ids=staff_before - _staff_shop_ids(user)
    )
    changes["tickets_handed_back"] = handed_back
    record(
        actor=actor.user, action=actions.MEMBERSHIP_DEACTIVATED, target=membership, changes=changes
    )
    transaction.on_commit(lambda: user_sessions_end(user=user, keep_session_key=None))
    return PersonSaved(membership, handed_back)


@transaction.atomic
def membership_reactivate(*, actor: Actor, membership: Membership) -> Membership:
    """Make a deactivated person active again (their account too); they sign in anew."""
    require_workspace_admin(actor, membership.workspace_id)
    membership = _locked_membership(membership)
    if membership.is_active:
        raise ValidationError("This person is already active.")
    membership.is_active = True
    membership.save(update_fields=["is_active"])
    changes: dict[str, Any] = {"is_active": [False, True]}
    user = membership.user
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        changes["user_is_active"] = [False, True]
    record(
        actor=actor.user, action=actions.MEMBERSHIP_REACTIVATED, target=membership, changes=changes
    )
    return membership
