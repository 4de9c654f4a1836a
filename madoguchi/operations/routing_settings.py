"""Writes of a shop's routing settings: the routing page, and the one-flag switches of the
coverage page (24/365 promise) and the alerts page (reassign at a breach)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.models import Channel
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.operations.models import RoutingSettings
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop


def routing_flag_set(
    *, actor: Actor, shop: Shop, field: str, value: bool, action: str
) -> RoutingSettings:
    """Set one on/off field of the shop's routing settings, audited as `action` when it changes.

    Runs inside the caller's transaction (the row is locked); the caller checks who may.
    """
    settings, _created = RoutingSettings.objects.select_for_update().get_or_create(shop=shop)
    old = getattr(settings, field)
    if old != value:
        setattr(settings, field, value)
        settings.save(update_fields=[field])
        record(
            actor=actor.user,
            action=action,
            target=settings,
            shop=shop,
            changes={"old": old, "new": value},
        )
    return settings


REFUSAL = gettext_noop("Only a supervisor or admin may change routing.")


def routing_settings_for(*, shop_id: int) -> RoutingSettings:
    """Return the shop's routing settings (unsaved defaults when none are stored: manual)."""
    return RoutingSettings.objects.filter(shop_id=shop_id).first() or RoutingSettings(
        shop_id=shop_id
    )


def _routing_changes(settings: RoutingSettings) -> dict[str, Any]:
    return {
        "mode": settings.mode,
        "channel_modes": dict(sorted(settings.channel_modes.items())),
        "requires_language_skill": settings.requires_language_skill,
        "requires_on_duty": settings.requires_on_duty,
        "max_open_per_operator": settings.max_open_per_operator,
        "reassign_on_breach": settings.reassign_on_breach,
    }


@transaction.atomic
def routing_settings_save(
    *,
    actor: Actor,
    shop: Shop,
    mode: str,
    channel_modes: Mapping[str, str],
    requires_language_skill: bool,
    requires_on_duty: bool,
    max_open_per_operator: int | None,
    reassign_on_breach: bool,
) -> RoutingSettings:
    """Set how the shop's new tickets find an operator (its leads only; audited).

    `channel_modes` routes some channels differently from `mode` (a channel left out follows
    `mode`). The 24/365 promise is set on the coverage page, not here.
    """
    require_staff(actor=actor, shop_id=shop.id)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(REFUSAL)
    modes = RoutingSettings.Mode.values
    if mode not in modes or any(value not in modes for value in channel_modes.values()):
        raise ValidationError(gettext_noop("Unknown routing mode."))
    if any(channel not in Channel.values for channel in channel_modes):
        raise ValidationError(gettext_noop("Unknown channel."))
    if max_open_per_operator is not None and not 1 <= max_open_per_operator <= 999:
        raise ValidationError(
            gettext_noop("The limit is between 1 and 999 open tickets."),
            field="max_open_per_operator",
        )
    settings, _created = RoutingSettings.objects.select_for_update().get_or_create(shop=shop)
    before = _routing_changes(settings)
    settings.mode = mode
    # A channel set to the shop's own mode needs no override.
    settings.channel_modes = {
        channel: value for channel, value in sorted(channel_modes.items()) if value != mode
    }
    settings.requires_language_skill = requires_language_skill
    settings.requires_on_duty = requires_on_duty
    settings.max_open_per_operator = max_open_per_operator
    settings.reassign_on_breach = reassign_on_breach
    after = _routing_changes(settings)
    if before == after:
        return settings
    settings.save()
    changed = [key for key in after if before[key] != after[key]]
    record(
        actor=actor.user,
        action=actions.ROUTING_CHANGED,
        target=settings,
        shop=shop,
        changes={
            "old": {key: before[key] for key in changed},
            "new": {key: after[key] for key in changed},
        },
    )
    return settings
