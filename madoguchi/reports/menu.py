"""The monthly reports in the one menu: the shop's reports to its leads and client users (the
client's portal), the report settings to its leads."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.core import navigation
from madoguchi.core.navigation import MenuEntry
from madoguchi.tenancy.access import Actor


def reads_reports(actor: Actor, shop_id: int) -> bool:
    from madoguchi.reports.selectors import may_read_reports

    return may_read_reports(actor, shop_id)


def manages_reports(actor: Actor, shop_id: int) -> bool:
    from madoguchi.reports.selectors import may_manage_reports

    return may_manage_reports(actor, shop_id)


ENTRIES = (
    MenuEntry(
        section=navigation.REPORTS,
        label=_("Monthly reports"),
        url_name="reports:shop_reports",
        visible=reads_reports,
        order=20,
    ),
    MenuEntry(
        section=navigation.SHOP_SETTINGS,
        label=_("Monthly reports"),
        url_name="reports:settings",
        visible=manages_reports,
        order=91,
    ),
)


def register() -> None:
    for entry in ENTRIES:
        navigation.register_menu_entry(entry)
