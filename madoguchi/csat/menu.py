"""The CSAT settings page in the one menu: the shop's staff read it, its leads change it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.core import navigation
from madoguchi.core.navigation import MenuEntry
from madoguchi.tenancy.access import Actor


def is_staff(actor: Actor, shop_id: int) -> bool:
    return actor.is_staff_for(shop_id)


ENTRIES = (
    MenuEntry(
        section=navigation.SHOP_SETTINGS,
        label=_("CSAT survey"),
        url_name="csat:settings",
        visible=is_staff,
        order=70,
    ),
)


def register() -> None:
    for entry in ENTRIES:
        navigation.register_menu_entry(entry)
