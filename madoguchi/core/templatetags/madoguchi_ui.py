"""Template helpers of the operator UI."""

from django import template

from madoguchi.tenancy.access import Actor

register = template.Library()


@register.simple_tag(takes_context=True)
def actor_works_tickets(context: template.Context) -> bool:
    """Return whether the signed-in user works tickets of any shop (may open tickets)."""
    request = context.get("request")
    actor: Actor | None = getattr(request, "actor", None)
    if actor is None:
        return False
    return any(actor.is_staff_for(shop_id) for shop_id in actor.shop_ids)


@register.filter
def ticket_reference(number: int, prefix: str) -> str:
    """Format a ticket number with its shop prefix: `{{ ticket.number|ticket_reference:"TEA" }}`."""
    return f"#{prefix}-{number}"
