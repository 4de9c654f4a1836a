"""Sections of the customer page that other apps provide (the customer's orders, ...).

The customers app sits below them: an upper app registers a `CustomerPanel` in its `ready()`
and the customer page shows it, so this app imports none of them (the inbound hooks and the
search document sources work the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.access import Actor


@dataclass(frozen=True)
class CustomerPanel:
    """A section of the customer page: its template and what that template is given.

    `context(actor, customer)` returns the template's context, or None when this actor does
    not see the panel (its own access rule, e.g. staff only). It runs in the request's scope.
    """

    key: str
    template: str
    context: Callable[[Actor, Customer], Mapping[str, Any] | None]
    order: int = 100


@dataclass(frozen=True)
class ShownPanel:
    key: str
    template: str
    context: Mapping[str, Any]


_panels: dict[str, CustomerPanel] = {}


def register_customer_panel(panel: CustomerPanel) -> None:
    """Show `panel` on every customer page (registering a key again replaces it)."""
    _panels[panel.key] = panel


def customer_panels(*, actor: Actor, customer: Customer) -> list[ShownPanel]:
    """Return the panels this actor sees for the customer, in their order."""
    shown = []
    for panel in sorted(_panels.values(), key=lambda panel: (panel.order, panel.key)):
        context = panel.context(actor, customer)
        if context is not None:
            shown.append(ShownPanel(panel.key, panel.template, context))
    return shown
