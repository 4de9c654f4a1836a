"""Template helpers of the operator UI."""

from functools import lru_cache

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.db import models
from django.forms import BoundField
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import get_language, gettext

from madoguchi.conversations.models import Channel, Ticket
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


@lru_cache(maxsize=64)
def _labels(choices: type[models.Choices], language: str | None) -> dict[str, str]:
    # Evaluating lazy choice labels through gettext for every row is a visible share of the inbox's
    # render time; the labels only change with the language, so they are resolved once per language.
    return {str(value): str(label) for value, label in choices.choices}


@register.simple_tag
def select_field(field: BoundField) -> SafeString:
    """Render a choice field's <select> directly (Django renders one template per option)."""
    current = "" if field.value() is None else str(field.value())
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, mark_safe(" selected") if str(value) == current else "", label)
            for value, label in field.field.widget.choices
        ),
    )
    return format_html(
        '<select name="{}" id="{}">{}</select>', field.html_name, field.id_for_label, options
    )


_TICKET_ROW = (
    '<a class="ticket-row{}" data-testid="ticket-row" data-reference="{}" href="{}">'
    '<span class="ticket-row__ref">{}</span>'
    '<span class="ticket-row__subject">{}</span>'
    '<span class="ticket-row__customer">{}</span>'
    '<span class="ticket-row__shop">{}</span>'
    '<span class="ticket-row__channel"><span class="chip chip--{}">{}</span></span>'
    '<span><span class="badge badge--{}" data-testid="status-badge">{}</span></span>'
    '<span><span class="priority priority--{}">{}</span></span>'
    '<span class="ticket-row__assignee">{}</span>'
    '<span class="ticket-row__time"><time datetime="{}" title="{}">{}</time></span>'
    "</a>\n"
)


@register.simple_tag
def ticket_rows(tickets: list[Ticket]) -> SafeString:
    """Render the inbox rows. The inbox is the hottest page: building 25 rows with
    `format_html` costs a fraction of the same markup through the template engine."""
    language = get_language()
    channels, statuses, priorities = (
        _labels(Channel, language),
        _labels(Ticket.Status, language),
        _labels(Ticket.Priority, language),
    )
    unassigned = format_html('<span class="muted">{}</span>', gettext("Unassigned"))
    rows = []
    for ticket in tickets:
        activity = localtime(ticket.last_activity_at)
        rows.append(
            format_html(
                _TICKET_ROW,
                " is-new" if ticket.status == Ticket.Status.NEW else "",
                ticket.reference,
                reverse(
                    "conversations:ticket",
                    kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number},
                ),
                ticket.reference,
                ticket.subject,
                str(ticket.customer),
                ticket.shop.name,
                ticket.channel,
                channels.get(ticket.channel, ticket.channel),
                ticket.status,
                statuses.get(ticket.status, ticket.status),
                ticket.priority,
                priorities.get(ticket.priority, ticket.priority),
                str(ticket.assignee) if ticket.assignee else unassigned,
                activity.isoformat(),
                activity.strftime("%Y-%m-%d %H:%M"),
                naturaltime(ticket.last_activity_at),
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 - every piece went through format_html
