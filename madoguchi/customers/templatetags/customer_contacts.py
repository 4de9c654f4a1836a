"""`{% contact_value identity %}`, `{% ship_to order as ship %}`: a customer's contacts and an
order's address as the viewer may see them (`customers.masking`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template

from madoguchi.customers.masking import (
    identity_masked,
    mask_address,
    mask_phone,
    mask_postal_code,
    sees_contacts,
)
from madoguchi.customers.models import ContactIdentity

register = template.Library()


@register.simple_tag(takes_context=True)
def contact_value(context: dict[str, Any], identity: ContactIdentity) -> str:
    """Return the contact as entered for staff who reply to customers, else masked (also when
    the template is rendered without a request: nobody to ask)."""
    request = context.get("request")
    actor = getattr(request, "actor", None)
    if actor is not None and sees_contacts(actor, identity.shop_id):
        return str(identity.display_value)
    return identity_masked(identity)


@dataclass(frozen=True)
class ShipTo:
    postal_code: str
    address: str
    phone: str


@register.simple_tag(takes_context=True)
def ship_to(context: dict[str, Any], order: Any) -> ShipTo:
    """Return an order's postal code, address (after the prefecture) and phone as the viewer
    may see them: whole for staff who reply to customers, else to the city."""
    request = context.get("request")
    actor = getattr(request, "actor", None)
    address = f"{order.shipping_address1} {order.shipping_address2}".strip()
    if actor is not None and sees_contacts(actor, order.shop_id):
        return ShipTo(order.shipping_postal_code, address, order.shipping_phone)
    return ShipTo(
        mask_postal_code(order.shipping_postal_code),
        mask_address(order.shipping_address1),
        mask_phone(order.shipping_phone),
    )


@register.simple_tag(takes_context=True)
def sees_contacts_of(context: dict[str, Any], shop_id: int) -> bool:
    """Whether the viewer sees the shop's customers' contacts whole (`masking.sees_contacts`)."""
    actor = getattr(context.get("request"), "actor", None)
    return actor is not None and sees_contacts(actor, shop_id)
