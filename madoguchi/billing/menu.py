"""The billing pages in the one menu: the agency's billing (admins and supervisors), a shop's
usage and invoices (its client and the agency's leads), and the cost simulator (everyone)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from madoguchi.core import navigation
from madoguchi.tenancy.models import Membership, Workspace

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor

LEADS = (Membership.Role.ADMIN, Membership.Role.SUPERVISOR)


def agency_lead_workspace_ids(actor: Actor) -> list[int]:
    """The agencies in which the actor is an admin or supervisor (billing is theirs)."""
    candidates = [ws for ws, role in actor.workspace_roles.items() if role in LEADS]
    if not candidates:
        return []
    agencies = Workspace.objects.filter(id__in=candidates, kind=Workspace.Kind.AGENCY)
    return sorted(agencies.values_list("id", flat=True))


def sees_agency_billing(actor: Actor) -> bool:
    """Leads of an agency working a client's shop (no query: the menu is built from grants)."""
    return any(grant.via_engagement and grant.role in LEADS for grant in actor.grants.values())


def sees_shop_billing(actor: Actor, shop_id: int) -> bool:
    """The shop's client, and the agency's leads working the shop."""
    role = actor.role_for(shop_id)
    return role == Membership.Role.CLIENT or (
        role in LEADS and actor.grants[shop_id].via_engagement
    )


def sees_simulator(actor: Actor) -> bool:
    return actor.is_authenticated


def register() -> None:
    navigation.register_menu_entry(
        navigation.MenuEntry(
            section=navigation.WORKSPACE,
            label=_("Billing"),
            url_name="billing:home",
            workspace_visible=sees_agency_billing,
            per_shop=False,
            order=60,
        )
    )
    navigation.register_menu_entry(
        navigation.MenuEntry(
            section=navigation.REPORTS,
            label=_("Usage and invoices"),
            url_name="billing:shop",
            visible=sees_shop_billing,
            order=80,
        )
    )
    navigation.register_menu_entry(
        navigation.MenuEntry(
            section=navigation.WORKSPACE,
            label=_("Cost simulator"),
            url_name="billing:simulator",
            workspace_visible=sees_simulator,
            per_shop=False,
            order=61,
        )
    )
