"""Sections of the ticket page's side panel that other apps provide (CSAT, FAQ suggestions, ...).

The conversations app sits below them: an upper app registers a `TicketPanel` in its `ready()`
and the ticket page shows it in the side panel, so this app imports none of them (as the
customer page's panels, `customers.panels`, work).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

if TYPE_CHECKING:
    from madoguchi.conversations.models import Ticket
    from madoguchi.tenancy.access import Actor


@dataclass(frozen=True)
class TicketPanel:
    """A section of the ticket page's side panel: its template and what that template is given.

    `context(actor, ticket)` returns the template's context, or None when this actor does not
    see the panel (its own access rule, e.g. staff only). It runs in the request's scope, on
    every render of the ticket page and its htmx fragment, so it keeps to a query or two.
    """

    key: str
    template: str
    context: Callable[[Actor, Ticket], Mapping[str, Any] | None]
    order: int = 100


_panels: dict[str, TicketPanel] = {}


def register_ticket_panel(panel: TicketPanel) -> None:
    """Show `panel` on every ticket page (registering a key again replaces it)."""
    _panels[panel.key] = panel


def ticket_panels_html(*, request: HttpRequest, actor: Actor, ticket: Ticket) -> SafeString:
    """Render the panels this actor sees for the ticket, in their order."""
    shown = []
    for panel in sorted(_panels.values(), key=lambda panel: (panel.order, panel.key)):
        context = panel.context(actor, ticket)
        if context is not None:
            shown.append(
                (
                    panel.key,
                    render_to_string(
                        panel.template, {"ticket": ticket, **context}, request=request
                    ),
                )
            )
    return format_html_join(
        "\n", '<div class="panel__section" data-panel="{}">{}</div>', iter(shown)
    )
