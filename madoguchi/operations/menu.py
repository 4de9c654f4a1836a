"""The operations pages in the one menu (`core.navigation`), each shown to exactly the people
its view lets in: staff pages to the shop's staff, the leads' pages to its admins and
supervisors, the SLA attainment report to its leads and its client (owner)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from madoguchi.core import navigation
from madoguchi.core.navigation import MenuCount, MenuEntry
from madoguchi.tenancy.access import Actor


def is_staff(actor: Actor, shop_id: int) -> bool:
    return actor.is_staff_for(shop_id)


def is_lead(actor: Actor, shop_id: int) -> bool:
    return actor.is_lead_for(shop_id)


def reads_attainment(actor: Actor, shop_id: int) -> bool:
    from madoguchi.operations.report_views import may_read_attainment

    return may_read_attainment(actor, shop_id)


def approvals_waiting(actor: Actor, shop_id: int) -> int:
    """Count the trainees' replies waiting in the shop (0 for anyone but its leads)."""
    if not actor.is_lead_for(shop_id):
        return 0
    from madoguchi.operations.reply_selectors import approval_queue

    return approval_queue(shop_id=shop_id).count()


def unread_alerts(actor: Actor, shop_id: int) -> int:
    """Count the shop's alerts the lead has not read (0 for anyone but its leads)."""
    if actor.user is None or not actor.is_lead_for(shop_id):
        return 0
    from madoguchi.operations.alerts import unread_alert_count

    return unread_alert_count(shop_id=shop_id, user_id=actor.user.id)


ENTRIES = (
    MenuEntry(
        section=navigation.OPERATIONS,
        label=_("Reply templates"),
        url_name="operations:templates",
        visible=is_staff,
        order=10,
    ),
    MenuEntry(
        section=navigation.OPERATIONS,
        label=_("After-hours reply"),
        url_name="operations:after_hours",
        visible=is_staff,
        order=20,
    ),
    MenuEntry(
        section=navigation.OPERATIONS,
        label=_("Replies to approve"),
        url_name="operations:approvals",
        visible=is_lead,
        order=30,
    ),
    MenuEntry(
        section=navigation.OPERATIONS,
        label=_("Alerts"),
        url_name="operations:alerts",
        visible=is_lead,
        order=40,
    ),
    MenuEntry(
        section=navigation.OPERATIONS,
        label=_("Shifts"),
        url_name="operations:shifts",
        visible=is_staff,
        order=50,
    ),
    MenuEntry(
        section=navigation.OPERATIONS,
        label=_("Coverage"),
        url_name="operations:coverage",
        visible=is_staff,
        order=60,
    ),
    MenuEntry(
        section=navigation.SHOP_SETTINGS,
        label=_("Business calendar"),
        url_name="operations:calendar",
        visible=is_staff,
        order=40,
    ),
    MenuEntry(
        section=navigation.SHOP_SETTINGS,
        label=_("SLA policies"),
        url_name="operations:sla_policies",
        visible=is_staff,
        order=50,
    ),
    MenuEntry(
        section=navigation.SHOP_SETTINGS,
        label=_("Routing"),
        url_name="operations:routing",
        visible=is_staff,
        order=60,
    ),
    MenuEntry(
        section=navigation.REPORTS,
        label=_("SLA attainment"),
        url_name="operations:attainment",
        visible=reads_attainment,
        order=20,
    ),
)

COUNTS = (
    MenuCount(
        name="approvals",
        label=_("Replies to approve"),
        url_name="operations:approvals",
        count=approvals_waiting,
    ),
    MenuCount(
        name="alerts", label=_("Unread alerts"), url_name="operations:alerts", count=unread_alerts
    ),
)


def register() -> None:
    for entry in ENTRIES:
        navigation.register_menu_entry(entry)
    for count in COUNTS:
        navigation.register_menu_count(count)
