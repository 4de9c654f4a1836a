"""A shop's connections to its EC platforms (Shopify, EC-CUBE): set up, rotated, retired.

Supervisors and admins manage them. Shopify signs webhooks with the app's secret, which the
admin pastes from Shopify; for EC-CUBE we generate the secret and show it once, right after it
was made. Rotating the token gives the connection a new webhook URL (the old one answers 404);
rotating the secret makes deliveries signed with the old one fail verification. A connection
that received deliveries cannot be deleted (they keep it): it is deactivated instead.

The audit never holds a secret: a changed secret is written as "changed".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Max, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.commerce.models import CommerceConnection, WebhookDelivery
from madoguchi.commerce.models.integrations import new_token, new_webhook_secret
from madoguchi.core.channel_status import ChannelState
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.core.secrets import keep_secret
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop

Platform = CommerceConnection.Platform
CHANGED = "changed"
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_MIN_SECRET_LENGTH = 16


def _require_lead(actor: Actor, shop: Shop) -> None:
    require_staff(actor=actor, shop_id=shop.id)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError("Only a supervisor or admin may manage cart connections.")


def _domain(platform: str, raw: str) -> str:
    """The store's host name, without scheme, path or upper case."""
    domain = raw.strip().lower()
    domain = re.sub(r"^https?://", "", domain).split("/", 1)[0].strip()
    if not _HOST.match(domain):
        raise ValidationError("Enter the store's domain, for example tea.myshopify.com.")
    if platform == Platform.SHOPIFY and not domain.endswith(".myshopify.com"):
        raise ValidationError(
            "Enter the store's myshopify.com domain, for example tea.myshopify.com."
        )
    return domain


def _pasted_secret(raw: str) -> str:
    secret = raw.strip()
    if len(secret) < _MIN_SECRET_LENGTH or any(character.isspace() for character in secret):
        raise ValidationError("Paste the webhook signing secret from Shopify as it is shown there.")
    return secret


def _check_unique(shop: Shop, platform: str, domain: str, exclude_id: int | None = None) -> None:
    taken = CommerceConnection.objects.filter(shop=shop, platform=platform, store_domain=domain)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise ValidationError("The shop already has a connection to this store.")


# Reads ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionRow:
    """A connection as its page lists it, with its last delivery and last error."""

    connection: CommerceConnection
    last_received_at: dt.datetime | None
    last_error: str
    last_error_at: dt.datetime | None
    delivery_count: int


def _with_activity(connections: QuerySet[CommerceConnection]) -> list[ConnectionRow]:
    latest_error = (
        WebhookDelivery.objects.filter(connection=OuterRef("pk"))
        .exclude(error="")
        .order_by("-received_at", "-id")
    )
    rows = (
        connections.annotate(
            last_received_at=Max("deliveries__received_at"),
            delivery_count=Count("deliveries"),
            last_error=Subquery(latest_error.values("error")[:1]),
            last_error_at=Subquery(latest_error.values("received_at")[:1]),
        )
        .select_related("shop")
        .order_by("-is_active", "platform", "store_domain", "id")
    )
    return [
        ConnectionRow(
            connection=row,
            last_received_at=row.last_received_at,
            last_error=row.last_error or "",
            last_error_at=row.last_error_at,
            delivery_count=row.delivery_count,
        )
        for row in rows
    ]


def commerce_connections(*, shop: Shop) -> list[ConnectionRow]:
    """The shop's connections, active first, each with its last delivery and last error."""
    return _with_activity(CommerceConnection.objects.filter(shop=shop))


def access_commerce_connection(
    *, actor: Actor, shop: Shop, connection_id: int
) -> CommerceConnection:
    """The shop's connection with this id, for its supervisors and admins; 404 for others
    who cannot see the shop, 403 for staff who may not manage connections."""
    _require_lead(actor, shop)
    found = (
        CommerceConnection.objects.filter(shop=shop, pk=connection_id)
        .select_related("shop")
        .first()
    )
    if found is None:
        raise NotFoundError("Connection not found")
    return found


def connection_row(*, connection: CommerceConnection) -> ConnectionRow:
    """One connection with its activity (the connection's page)."""
    rows = _with_activity(CommerceConnection.objects.filter(pk=connection.pk))
    return rows[0]


def has_deliveries(*, connection: CommerceConnection) -> bool:
    return WebhookDelivery.objects.filter(connection=connection).exists()


def commerce_channel_state(shop: Shop, platform: str) -> ChannelState:
    """The overview's state of the shop's connections to one platform (two queries)."""
    connections = list(
        CommerceConnection.objects.filter(shop=shop, platform=platform, is_active=True)
        .annotate(last_received_at=Max("deliveries__received_at"))
        .order_by("store_domain", "id")
    )
    if not connections:
        return ChannelState(is_connected=False, summary=gettext("No connection yet."))
    failed = (
        WebhookDelivery.objects.filter(connection__in=connections)
        .exclude(error="")
        .order_by("-received_at", "-id")
        .values_list("error", "received_at")
        .first()
    )
    received = [row.last_received_at for row in connections if row.last_received_at]
    return ChannelState(
        is_connected=True,
        summary=", ".join(connection.store_domain for connection in connections),
        last_received_at=max(received) if received else None,
        last_error=failed[0] if failed else "",
        last_error_at=failed[1] if failed else None,
    )


# Writes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionSaved:
    """A created or rotated connection, with the secret we generated (shown once) or ""."""

    connection: CommerceConnection
    generated_secret: str


@transaction.atomic
def commerce_connection_create(
    *, actor: Actor, shop: Shop, platform: str, store_domain: str, webhook_secret: str = ""
) -> ConnectionSaved:
    """Connect a store: Shopify takes the pasted secret, EC-CUBE gets one generated."""
    _require_lead(actor, shop)
    if platform not in Platform.values:
        raise ValidationError("Choose Shopify or EC-CUBE.")
    domain = _domain(platform, store_domain)
    _check_unique(shop, platform, domain)
    generated = ""
    if platform == Platform.SHOPIFY:
        secret = _pasted_secret(webhook_secret)
    elif webhook_secret.strip():
        raise ValidationError("For EC-CUBE leave the secret empty: one is generated.")
    else:
        secret = generated = new_webhook_secret()
    connection = CommerceConnection.objects.create(
        shop=shop, platform=platform, store_domain=domain, webhook_secret=secret
    )
    record(
        actor=actor.user,
        action=actions.COMMERCE_CONNECTION_CREATED,
        target=connection,
        shop=shop,
        changes={"platform": platform, "store_domain": domain, "webhook_secret": CHANGED},
    )
    return ConnectionSaved(connection=connection, generated_secret=generated)


@transaction.atomic
def commerce_connection_update(
    *,
    actor: Actor,
    connection: CommerceConnection,
    store_domain: str,
    is_active: bool,
    webhook_secret: str = "",
) -> CommerceConnection:
    """Change the store's domain, (de)activate, or paste Shopify's new secret (empty keeps it)."""
    shop = connection.shop
    _require_lead(actor, shop)
    domain = _domain(connection.platform, store_domain)
    _check_unique(shop, connection.platform, domain, exclude_id=connection.pk)
    changes: dict[str, object] = {}
    if domain != connection.store_domain:
        changes["store_domain"] = [connection.store_domain, domain]
        connection.store_domain = domain
    if is_active != connection.is_active:
        changes["is_active"] = [connection.is_active, is_active]
        connection.is_active = is_active
    secret = keep_secret(webhook_secret.strip(), connection.webhook_secret)
    if secret != connection.webhook_secret:
        if connection.platform != Platform.SHOPIFY:
            raise ValidationError("EC-CUBE's secret is generated here: renew it instead.")
        connection.webhook_secret = _pasted_secret(secret)
        changes["webhook_secret"] = CHANGED
    if changes:
        connection.save(update_fields=["store_domain", "is_active", "webhook_secret"])
        record(
            actor=actor.user,
            action=actions.COMMERCE_CONNECTION_CHANGED,
            target=connection,
            shop=shop,
            changes=changes,
        )
    return connection


@transaction.atomic
def commerce_connection_rotate(
    *, actor: Actor, connection: CommerceConnection, token: bool, secret: bool
) -> ConnectionSaved:
    """Give the connection a new webhook URL and/or (EC-CUBE) a new generated secret."""
    shop = connection.shop
    _require_lead(actor, shop)
    if not (token or secret):
        raise ValidationError("Choose what to renew: the webhook URL, the secret, or both.")
    if secret and connection.platform == Platform.SHOPIFY:
        raise ValidationError("Shopify's secret comes from Shopify: paste the new one instead.")
    changes: dict[str, object] = {}
    generated = ""
    if token:
        connection.token = new_token()
        changes["token"] = CHANGED
    if secret:
        connection.webhook_secret = generated = new_webhook_secret()
        changes["webhook_secret"] = CHANGED
    connection.save(update_fields=["token", "webhook_secret"])
    record(
        actor=actor.user,
        action=actions.COMMERCE_CONNECTION_ROTATED,
        target=connection,
        shop=shop,
        changes=changes,
    )
    return ConnectionSaved(connection=connection, generated_secret=generated)


@transaction.atomic
def commerce_connection_delete(*, actor: Actor, connection: CommerceConnection) -> None:
    """Delete a connection that never received anything; others are deactivated instead."""
    shop = connection.shop
    _require_lead(actor, shop)
    if has_deliveries(connection=connection):
        raise ValidationError("This connection has received deliveries: deactivate it instead.")
    record(
        actor=actor.user,
        action=actions.COMMERCE_CONNECTION_DELETED,
        target=connection,
        shop=shop,
        changes={"platform": connection.platform, "store_domain": connection.store_domain},
    )
    connection.delete()
