"""The privacy pages in the one menu, and the APPI panel on the customer page (leads only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from madoguchi.core import navigation

if TYPE_CHECKING:
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.access import Actor


def is_lead(actor: Actor, shop_id: int) -> bool:
    return actor.is_lead_for(shop_id)


def customer_privacy_context(actor: Actor, customer: Customer) -> Mapping[str, Any] | None:
    """The APPI panel's context: the export and erase links and past erasures (leads only)."""
    if not actor.is_lead_for(customer.shop_id):
        return None
    from madoguchi.privacy.selectors import customer_erasures

    return {
        "shop": customer.shop,
        "customer": customer,
        "erasures": list(customer_erasures(shop_id=customer.shop_id, customer_id=customer.pk)),
    }


def register() -> None:
    from madoguchi.customers.panels import CustomerPanel, register_customer_panel

    navigation.register_menu_entry(
        navigation.MenuEntry(
            section=navigation.SHOP_SETTINGS,
            label=_("Data retention"),
            url_name="privacy:retention",
            visible=is_lead,
            order=80,
        )
    )
    register_customer_panel(
        CustomerPanel(
            key="privacy",
            template="privacy/_customer_panel.html",
            context=customer_privacy_context,
            order=900,
        )
    )
