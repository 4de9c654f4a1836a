"""Writes of the shop page that reach past tenancy: the shop's settings.

Tenancy owns the shop row but may not import operations; this module, above both, saves the
shop's settings and then lets operations follow a new time zone (the SLA clocks of the open
tickets are recomputed, as after a calendar change). The shop's time zone is the only one: the
business calendar, the shifts and the coverage all read `Shop.time_zone`.
"""

from __future__ import annotations

from django.db import transaction

from madoguchi.operations.business_calendar import recompute_analytics, refresh_open_slas
from madoguchi.tenancy import services
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop


@transaction.atomic
def shop_settings_save(
    *,
    actor: Actor,
    shop: Shop,
    name: str,
    ticket_prefix: str,
    time_zone: str,
    default_language: str,
) -> Shop:
    """Change the shop's name, prefix, time zone and language (admins; audited by tenancy).

    The time zone is the one the business calendar, the shifts and the coverage count in: when
    it changes, the open tickets' SLA clocks are recomputed after the commit.
    """
    zone_before = shop.time_zone
    saved = services.shop_update(
        actor=actor,
        shop=shop,
        name=name,
        ticket_prefix=ticket_prefix,
        time_zone=time_zone,
        default_language=default_language,
    )
    if saved.time_zone != zone_before:
        refresh_open_slas(saved, refresh_open_tickets=True)
        recompute_analytics(saved)
    return saved
