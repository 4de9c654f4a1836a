"""The prologue of the operations pages: who asks, and for which shop they may see it.

A shop the actor cannot see is a 404 (`access_shop`); a visible shop whose page needs staff or
a lead is a 403.
"""

from __future__ import annotations

from django.http import HttpRequest

from madoguchi.core.errors import PermissionDeniedError
from madoguchi.tenancy.access import Actor, access_shop, require_staff
from madoguchi.tenancy.models import Shop


def request_actor(request: HttpRequest) -> Actor:
    """The actor the middleware attached to the request."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def staff_shop(request: HttpRequest, shop_slug: str) -> tuple[Actor, Shop]:
    """The actor and the shop, for the shop's support staff only."""
    actor = request_actor(request)
    shop = access_shop(actor=actor, slug=shop_slug)
    require_staff(actor=actor, shop_id=shop.id)
    return actor, shop


def lead_shop(request: HttpRequest, shop_slug: str, refusal: str) -> tuple[Actor, Shop]:
    """The actor and the shop, for the shop's supervisors and admins; others get `refusal`."""
    actor, shop = staff_shop(request, shop_slug)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(refusal)
    return actor, shop
