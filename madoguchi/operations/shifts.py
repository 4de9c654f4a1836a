"""Writes of the shift schedule: plan shifts, set one's on-duty status, the 24/365 promise.

Shifts and operator profiles are workspace rows, not part of a shop's event log, so these
services audit (`audit.record`, with the shop the change was made from) and emit no events.
Who may plan a person's shifts: an active admin or supervisor of the workspace that employs
the person (an agency plans its operators, a shop company its in-house staff).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.operations.models import OperatorProfile, RoutingSettings, Shift
from madoguchi.operations.routing_settings import routing_flag_set
from madoguchi.operations.schedule import lead_workspace_ids, shop_staff_memberships
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Membership, Shop

MAX_SHIFT = dt.timedelta(hours=24)


def access_shift(*, actor: Actor, shop: Shop, shift_id: int) -> Shift:
    """Return the shift of one of the shop's people, visible in the actor's workspaces (or 404)."""
    shift = (
        Shift.objects.filter(
            pk=shift_id,
            workspace_id__in=actor.workspace_ids,
            membership__in=shop_staff_memberships(shop=shop),
        )
        .select_related("membership__user")
        .first()
    )
    if shift is None:
        raise NotFoundError("Shift not found")
    return shift


def schedulable_memberships(*, actor: Actor, shop: Shop) -> list[Membership]:
    """Return the shop's people whose shifts the actor may plan."""
    if actor.user is None:
        return []
    leads = lead_workspace_ids(user_id=actor.user.id)
    return [m for m in shop_staff_memberships(shop=shop) if m.workspace_id in leads]


def _require_planner(actor: Actor, membership: Membership) -> None:
    if actor.user is None or membership.workspace_id not in lead_workspace_ids(
        user_id=actor.user.id
    ):
        raise PermissionDeniedError(
            "Only an admin or supervisor of the person's workspace may plan their shifts."
        )


def _shift_changes(shift: Shift) -> dict[str, object]:
    return {
        "membership_id": shift.membership_id,
        "label": shift.label,
        "starts_at": shift.starts_at.astimezone(dt.UTC).isoformat(),
        "ends_at": shift.ends_at.astimezone(dt.UTC).isoformat(),
    }


@transaction.atomic
def shift_save(
    *,
    actor: Actor,
    shop: Shop,
    shift: Shift | None,
    membership: Membership,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    label: str = "",
) -> Shift:
    """Create a shift (`shift` None) or change one; refuse overlaps with the person's shifts.

    A shift may cross midnight (a night shift 22:00-07:00 is one row) and lasts at most 24 hours.
    """
    if not shop_staff_memberships(shop=shop).filter(pk=membership.pk).exists():
        raise ValidationError("This person does not work for this shop.", field="membership")
    _require_planner(actor, membership)
    if shift is not None:
        _require_planner(actor, shift.membership)
    if ends_at <= starts_at:
        raise ValidationError("A shift must end after it starts.", field="ends_at")
    if ends_at - starts_at > MAX_SHIFT:
        raise ValidationError("A shift lasts at most 24 hours.", field="ends_at")
    # Serialise plans for one person so two supervisors cannot book overlapping shifts at once.
    Membership.objects.select_for_update().filter(pk=membership.pk).first()
    others = Shift.objects.filter(
        membership=membership, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if shift is not None:
        others = others.exclude(pk=shift.pk)
    clash = others.order_by("starts_at").first()
    if clash is not None:
        zone = timezone.get_current_timezone()
        raise ValidationError(
            "This overlaps the same person's shift %(starts_at)s – %(ends_at)s.",
            extra={
                "starts_at": f"{clash.starts_at.astimezone(zone):%Y-%m-%d %H:%M}",
                "ends_at": f"{clash.ends_at.astimezone(zone):%Y-%m-%d %H:%M}",
            },
        )
    before = _shift_changes(shift) if shift is not None else None
    if shift is None:
        shift = Shift(workspace_id=membership.workspace_id)
    shift.workspace_id = membership.workspace_id
    shift.membership = membership
    shift.label = label.strip()
    shift.starts_at = starts_at
    shift.ends_at = ends_at
    shift.save()
    changes: dict[str, object] = {"new": _shift_changes(shift)}
    if before is not None:
        changes["old"] = before
    record(
        actor=actor.user,
        action=actions.SHIFT_SAVED,
        target=shift,
        shop=shop,
        changes=changes,
    )
    return shift


@transaction.atomic
def shift_delete(*, actor: Actor, shop: Shop, shift: Shift) -> None:
    """Remove a planned shift."""
    _require_planner(actor, shift.membership)
    changes = {"old": _shift_changes(shift)}
    target_id = shift.pk
    shift.delete()
    shift.pk = target_id  # the audit entry names the removed row
    record(actor=actor.user, action=actions.SHIFT_DELETED, target=shift, shop=shop, changes=changes)


@transaction.atomic
def operator_duty_set(*, actor: Actor, shop: Shop, duty: str) -> OperatorProfile:
    """Set the actor's own status (available, away, offline) for the membership serving `shop`."""
    if duty not in OperatorProfile.Duty.values:
        raise ValidationError("Unknown status.")
    if actor.user is None:
        raise PermissionDeniedError("Only support staff may do this.")
    membership = (
        shop_staff_memberships(shop=shop)
        .filter(user_id=actor.user.id, workspace_id__in=actor.workspace_ids)
        .first()
    )
    if membership is None:
        raise PermissionDeniedError("Only support staff may do this.")
    profile, _created = OperatorProfile.objects.select_for_update().get_or_create(
        membership=membership, defaults={"workspace_id": membership.workspace_id}
    )
    old = profile.duty
    profile.duty = duty
    profile.duty_changed_at = timezone.now()
    profile.save(update_fields=["duty", "duty_changed_at"])
    record(
        actor=actor.user,
        action=actions.OPERATOR_DUTY_CHANGED,
        target=profile,
        shop=shop,
        changes={"old": old, "new": duty},
    )
    return profile


@transaction.atomic
def coverage_promise_set(*, actor: Actor, shop: Shop, promises_24_7: bool) -> RoutingSettings:
    """Record whether the shop's contract promises someone on duty 24/365 (leads only)."""
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError("Only a supervisor or admin may change the coverage promise.")
    return routing_flag_set(
        actor=actor,
        shop=shop,
        field="promises_24_7",
        value=promises_24_7,
        action=actions.COVERAGE_PROMISE_CHANGED,
    )
