"""The channels overview of a shop: every channel it can be reached on, and how each is doing.

The connectors fill `core.channel_status` in their `ready()`; this page asks each one for the
shop's state (one or a few queries each). Staff of the shop see it; supervisors and admins get
the links to change each channel, other staff a link to read the pages open to them. A shop the
actor cannot see is a 404, a client of the shop gets a 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from madoguchi.core.channel_status import ChannelKind, ChannelState, registered_channels
from madoguchi.tenancy.access import Actor, access_shop, require_staff
from madoguchi.tenancy.models import Shop


@dataclass(frozen=True)
class ChannelRow:
    kind: ChannelKind
    state: ChannelState
    settings_url: str
    can_edit: bool


def channel_rows(*, actor: Actor, shop: Shop) -> list[ChannelRow]:
    """Each registered channel with the shop's state and the settings link the actor may use."""
    is_lead = actor.is_lead_for(shop.id)
    rows = []
    for kind in registered_channels():
        url = ""
        if is_lead or not kind.is_lead_only:
            try:
                url = reverse(kind.settings_url_name, args=[shop.slug])
            except NoReverseMatch:
                url = ""
        rows.append(
            ChannelRow(kind=kind, state=kind.status(shop), settings_url=url, can_edit=is_lead)
        )
    return rows


@login_required
@require_GET
def channels(request: HttpRequest, shop_slug: str) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=shop_slug)
    require_staff(actor=actor, shop_id=shop.id)
    context = {
        "shop": shop,
        "rows": channel_rows(actor=actor, shop=shop),
        "is_lead": actor.is_lead_for(shop.id),
    }
    return render(request, "administration/channels/overview.html", context)
