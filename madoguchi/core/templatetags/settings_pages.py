"""Shop settings pages: one rule for who changes them, shown the same way on every page.

A shop's settings (business calendar, SLA policies, routing, channels) are changed by its
supervisors and admins; their services refuse everyone else. The pages used to offer the form
and its 保存 to every staff member, so a trainee or an operator typed, saved and got a refusal.
`settings_actions` asks the services' question (`Actor.is_lead_for`) while rendering: the leads
get the save button, everyone else a read-only notice and no button.

    {% load settings_pages %}
    {% may_change_settings shop as can_edit %}
    <form method="post"><fieldset {% if not can_edit %}disabled{% endif %}>...
      {% settings_actions shop %}
    </fieldset></form>
    {% read_only_notice shop %}   {# on a page that shows no form to those who cannot save #}
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext

from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop

register = template.Library()


def may_change_shop_settings(actor: Actor | None, shop_id: int) -> bool:
    """Whether the actor may save the shop's settings (its supervisors and admins)."""
    return actor is not None and actor.is_lead_for(shop_id)


def _actor(context: template.Context) -> Actor | None:
    request = context.get("request")
    return getattr(request, "actor", None)


@register.simple_tag(takes_context=True)
def may_change_settings(context: template.Context, shop: Shop) -> bool:
    """Return whether the signed-in user may save this shop's settings."""
    return may_change_shop_settings(_actor(context), shop.id)


@register.inclusion_tag("core/_settings_actions.html", takes_context=True)
def settings_actions(context: template.Context, shop: Shop, label: str = "") -> dict[str, Any]:
    """Render the form's save button for those who may save, else the read-only notice."""
    return {
        "can_edit": may_change_shop_settings(_actor(context), shop.id),
        "label": label or gettext("Save"),
    }


@register.inclusion_tag("core/_read_only_notice.html", takes_context=True)
def read_only_notice(context: template.Context, shop: Shop) -> dict[str, Any]:
    """Render the read-only notice for those who may not save the shop's settings."""
    return {"can_edit": may_change_shop_settings(_actor(context), shop.id)}
