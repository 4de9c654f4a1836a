"""The alerts link of the operations menu, with the signed-in lead's unread count."""

from __future__ import annotations

from typing import Any

from django import template

from madoguchi.operations.alerts import UNREAD_CAP, unread_alert_count
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop

register = template.Library()


@register.inclusion_tag("operations/_alerts_link.html", takes_context=True)
def alerts_link(context: template.Context, shop: Shop) -> dict[str, Any]:
    """Offer the alerts page to the shop's leads with a badge of what they have not read."""
    request = context.get("request")
    actor: Actor | None = getattr(request, "actor", None)
    if actor is None or actor.user is None or not actor.is_lead_for(shop.id):
        return {"show": False}
    unread = unread_alert_count(shop_id=shop.id, user_id=actor.user.id)
    label = f"{UNREAD_CAP - 1}+" if unread >= UNREAD_CAP else str(unread)
    return {"show": True, "shop": shop, "unread": unread, "unread_label": label}
