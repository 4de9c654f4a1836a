"""The analytics pages in the one menu, each shown to exactly the people its view lets in:
the dashboards to the shops' leads and client users, the settings to the shop's leads."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.core import navigation
from madoguchi.core.navigation import MenuEntry
from madoguchi.tenancy.access import Actor


def reads_shop(actor: Actor, shop_id: int) -> bool:
    from madoguchi.analytics.views import may_read_analytics

    return may_read_analytics(actor, shop_id)


def reads_any(actor: Actor) -> bool:
    from madoguchi.analytics.views import may_read_any_analytics

    return may_read_any_analytics(actor)


def is_lead(actor: Actor, shop_id: int) -> bool:
    return actor.is_lead_for(shop_id)


ENTRIES = (
    MenuEntry(
        section=navigation.REPORTS,
        label=_("Analytics: this shop"),
        url_name="analytics:shop_dashboard",
        visible=reads_shop,
        order=10,
    ),
    MenuEntry(
        section=navigation.REPORTS,
        label=_("Analytics: all my shops"),
        url_name="analytics:dashboard",
        workspace_visible=reads_any,
        per_shop=False,
        order=15,
    ),
    MenuEntry(
        section=navigation.SHOP_SETTINGS,
        label=_("Analytics"),
        url_name="analytics:settings",
        visible=is_lead,
        order=90,
    ),
)


def register() -> None:
    for entry in ENTRIES:
        navigation.register_menu_entry(entry)
