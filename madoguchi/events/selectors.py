"""Read a shop's event log from a cursor."""

from django.db.models import QuerySet

from madoguchi.events.models import Event


def events_after(*, shop_id: int, cursor: int, limit: int = 500) -> QuerySet[Event]:
    """Return the shop's events with an id greater than `cursor`, oldest first."""
    return Event.objects.filter(shop_id=shop_id, id__gt=cursor).order_by("id")[:limit]


def ticket_events(*, ticket_id: int) -> QuerySet[Event]:
    """Return a ticket's events, oldest first, with the acting user joined."""
    return Event.objects.filter(ticket_id=ticket_id).select_related("actor_user").order_by("id")
