"""Writes of a shop's routing settings row shared by the pages that switch one of its flags."""

from __future__ import annotations

from madoguchi.audit.services import record
from madoguchi.operations.models import RoutingSettings
from madoguchi.tenancy.access import Actor
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
