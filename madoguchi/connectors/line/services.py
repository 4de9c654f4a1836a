"""Operator-facing writes of the LINE channel: connecting a shop's official account, changing it.

The channel secret and access token are secrets: they are stored encrypted, never shown again,
and the audit says only that they "changed".
"""

from __future__ import annotations

from django.db import transaction

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.connectors.line.models import LineChannel
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.secrets import keep_secret
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop


@transaction.atomic
def line_channel_create(
    *, actor: Actor, shop: Shop, name: str, channel_id: str, channel_secret: str, access_token: str
) -> LineChannel:
    """Connect a LINE channel to the shop (supervisors and admins). The API base URLs keep
    their defaults: they are not operator input (no requests to arbitrary hosts)."""
    require_staff(actor=actor, shop_id=shop.id)
    if not actor.is_lead_for(shop.id):
        raise ValidationError("Only a supervisor or admin may connect a LINE channel.")
    values = {
        "name": " ".join(name.split())[:100],
        "channel_id": channel_id.strip()[:64],
        "channel_secret": channel_secret.strip()[:128],
        "access_token": access_token.strip()[:2000],
    }
    if not all(values.values()):
        raise ValidationError("Fill in the name, channel ID, channel secret and access token.")
    if not values["channel_id"].isdigit():
        raise ValidationError("The channel ID is a number.")
    channel = LineChannel.objects.create(shop=shop, **values)
    record(
        actor=actor.user,
        action=actions.LINE_CHANNEL_CREATED,
        target=channel,
        shop=shop,
        changes={"name": values["name"], "channel_id": values["channel_id"]},
    )
    return channel


CHANGED = "changed"


@transaction.atomic
def line_channel_update(
    *,
    actor: Actor,
    channel: LineChannel,
    name: str,
    channel_id: str,
    is_active: bool,
    channel_secret: str = "",
    access_token: str = "",
) -> LineChannel:
    """Change a channel (supervisors and admins); an empty secret or token keeps the stored one."""
    require_staff(actor=actor, shop_id=channel.shop_id)
    if not actor.is_lead_for(channel.shop_id):
        raise PermissionDeniedError("Only a supervisor or admin may change a LINE channel.")
    values: dict[str, object] = {
        "name": " ".join(name.split())[:100],
        "channel_id": channel_id.strip()[:64],
        "is_active": is_active,
    }
    if not values["name"] or not values["channel_id"]:
        raise ValidationError("Fill in the name and the channel ID.")
    if not str(values["channel_id"]).isdigit():
        raise ValidationError("The channel ID is a number.")
    changes: dict[str, object] = {
        field: [getattr(channel, field), value]
        for field, value in values.items()
        if getattr(channel, field) != value
    }
    for field, value in values.items():
        setattr(channel, field, value)
    secrets = {
        "channel_secret": keep_secret(channel_secret.strip()[:128], channel.channel_secret),
        "access_token": keep_secret(access_token.strip()[:2000], channel.access_token),
    }
    for field, value in secrets.items():
        if value != getattr(channel, field):
            changes[field] = CHANGED
            setattr(channel, field, value)
    if changes:
        channel.save()
        record(
            actor=actor.user,
            action=actions.LINE_CHANNEL_CHANGED,
            target=channel,
            shop=channel.shop,
            changes=changes,
        )
    return channel
