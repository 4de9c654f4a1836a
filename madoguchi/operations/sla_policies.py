"""Set up a shop's SLA policies and show which policy each kind of ticket gets.

A ticket gets the most specific active policy that matches its priority and channel (both set,
then one, then neither; `position` then age break ties): `selectors.choose_policy`, the same
function the clocks use. Leads change policies; every change is audited with the values before
and after and recomputes the SLA clocks of the shop's open tickets (a background task).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext, gettext_noop, ngettext

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.models import Channel, Ticket
from madoguchi.core.errors import NotFoundError, ValidationError
from madoguchi.operations.business_calendar import refresh_open_slas, require_settings_lead
from madoguchi.operations.models import SlaPolicy
from madoguchi.operations.selectors import choose_policy
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop

MAX_TARGET_MINUTES = 365 * 24 * 60
REFUSAL = gettext_noop("Only a supervisor or admin may change SLA policies.")
TARGET_FIELDS = ("first_response_minutes", "next_response_minutes", "resolution_minutes")


def duration_label(minutes: int | None) -> str:
    """Return minutes as "4 h 30 min" in the active language; "" for no target."""
    if minutes is None:
        return ""
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return gettext("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
    if hours:
        return ngettext("%(hours)s h", "%(hours)s h", hours) % {"hours": hours}
    return ngettext("%(minutes)s min", "%(minutes)s min", rest) % {"minutes": rest}


# Reads ------------------------------------------------------------------------------------------


def access_sla_policy(*, shop: Shop, policy_id: int) -> SlaPolicy:
    """Return the shop's policy with this id (404 for another shop's or a missing one)."""
    policy = SlaPolicy.objects.filter(shop_id=shop.id, pk=policy_id).first()
    if policy is None:
        raise NotFoundError("SLA policy not found")
    return policy


def specificity(policy: SlaPolicy) -> int:
    """How many of priority and channel the policy names (2 wins over 1 over 0)."""
    return int(bool(policy.priority)) + int(bool(policy.channel))


def shop_policies(*, shop_id: int) -> list[SlaPolicy]:
    """Return the shop's policies in the order they are tried: active first, the most
    specific first, then by position and age."""
    policies = list(SlaPolicy.objects.filter(shop_id=shop_id))
    return sorted(
        policies,
        key=lambda policy: (not policy.is_active, -specificity(policy), policy.position, policy.id),
    )


@dataclass(frozen=True)
class MatrixCell:
    channel: str
    policy: SlaPolicy | None


@dataclass(frozen=True)
class MatrixRow:
    priority: str
    priority_label: str
    cells: list[MatrixCell]


def policy_matrix(policies: list[SlaPolicy]) -> list[MatrixRow]:
    """Return, for every priority and channel, the active policy a new ticket would get."""
    active = [policy for policy in policies if policy.is_active]
    return [
        MatrixRow(
            priority=str(priority),
            priority_label=str(label),
            cells=[
                MatrixCell(
                    channel=str(channel),
                    policy=choose_policy(active, priority=str(priority), channel=str(channel)),
                )
                for channel in Channel.values
            ],
        )
        for priority, label in Ticket.Priority.choices
    ]


# Writes -----------------------------------------------------------------------------------------


def _policy_changes(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "priority": policy.priority,
        "channel": policy.channel,
        "first_response_minutes": policy.first_response_minutes,
        "next_response_minutes": policy.next_response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "in_business_hours": policy.in_business_hours,
        "warn_minutes_before": policy.warn_minutes_before,
        "escalate_on_breach": policy.escalate_on_breach,
        "is_active": policy.is_active,
        "position": policy.position,
    }


@transaction.atomic
def sla_policy_save(
    *,
    actor: Actor,
    shop: Shop,
    policy: SlaPolicy | None = None,
    name: str,
    priority: str = "",
    channel: str = "",
    first_response_minutes: int | None = None,
    next_response_minutes: int | None = None,
    resolution_minutes: int | None = None,
    in_business_hours: bool = True,
    warn_minutes_before: int = 30,
    escalate_on_breach: bool = True,
    is_active: bool = True,
    position: int = 0,
    refresh_open_tickets: bool = True,
) -> SlaPolicy:
    """Create (`policy` None) or change one of the shop's SLA policies.

    Blank priority or channel matches any. At least one target is needed; targets and the
    warning are in minutes. The clocks of the shop's open tickets are recomputed after commit.
    """
    require_settings_lead(actor, shop, REFUSAL)
    if policy is not None and policy.shop_id != shop.id:
        raise NotFoundError("SLA policy not found")
    name = " ".join(name.split())
    if not name:
        raise ValidationError(gettext_noop("A policy needs a name."), field="name")
    if len(name) > 100:
        raise ValidationError(gettext_noop("The name is too long."), field="name")
    if priority and priority not in Ticket.Priority.values:
        raise ValidationError(gettext_noop("Unknown priority."), field="priority")
    if channel and channel not in Channel.values:
        raise ValidationError(gettext_noop("Unknown channel."), field="channel")
    targets = (first_response_minutes, next_response_minutes, resolution_minutes)
    if all(target is None for target in targets):
        raise ValidationError(gettext_noop("Set at least one target."))
    if any(target is not None and not 0 < target <= MAX_TARGET_MINUTES for target in targets):
        raise ValidationError(gettext_noop("A target is between one minute and a year."))
    if not 0 <= warn_minutes_before <= MAX_TARGET_MINUTES:
        raise ValidationError(
            gettext_noop("The warning is between 0 minutes and a year."),
            field="warn_minutes_before",
        )
    if not 0 <= position <= 999:
        raise ValidationError(gettext_noop("The position is between 0 and 999."), field="position")
    same_name = SlaPolicy.objects.filter(shop_id=shop.id, name=name)
    if policy is not None:
        same_name = same_name.exclude(pk=policy.pk)
    if same_name.exists():
        raise ValidationError(gettext_noop("A policy of this name exists."), field="name")
    before = _policy_changes(policy) if policy is not None else None
    if policy is None:
        policy = SlaPolicy(shop=shop)
    policy.name = name
    policy.priority = priority
    policy.channel = channel
    policy.first_response_minutes = first_response_minutes
    policy.next_response_minutes = next_response_minutes
    policy.resolution_minutes = resolution_minutes
    policy.in_business_hours = in_business_hours
    policy.warn_minutes_before = warn_minutes_before
    policy.escalate_on_breach = escalate_on_breach
    policy.is_active = is_active
    policy.position = position
    after = _policy_changes(policy)
    if before == after:
        return policy
    policy.save()
    changes: dict[str, Any] = {"new": after}
    if before is not None:
        changed = [key for key in after if before[key] != after[key]]
        changes = {
            "old": {key: before[key] for key in changed},
            "new": {key: after[key] for key in changed},
        }
    record(
        actor=actor.user,
        action=actions.SLA_POLICY_SAVED,
        target=policy,
        shop=shop,
        changes=changes,
    )
    refresh_open_slas(shop, refresh_open_tickets=refresh_open_tickets)
    return policy


@transaction.atomic
def sla_policy_delete(*, actor: Actor, shop: Shop, policy: SlaPolicy) -> None:
    """Delete a policy; tickets fall back to the next matching one (reports keep its figures
    under "deleted policy": deactivating keeps its name)."""
    require_settings_lead(actor, shop, REFUSAL)
    if policy.shop_id != shop.id:
        raise NotFoundError("SLA policy not found")
    changes = {"old": _policy_changes(policy)}
    target_id = policy.pk
    policy.delete()
    policy.pk = target_id  # the audit entry names the removed row
    record(
        actor=actor.user,
        action=actions.SLA_POLICY_DELETED,
        target=policy,
        shop=shop,
        changes=changes,
    )
    refresh_open_slas(shop, refresh_open_tickets=True)
