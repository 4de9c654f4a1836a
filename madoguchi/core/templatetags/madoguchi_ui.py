"""Template helpers of the operator UI."""

import datetime as dt
from functools import lru_cache
from html import escape

from django import template
from django.db import models
from django.forms import BoundField
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import get_language, gettext, ngettext

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


@register.filter
def channel_label(channel: str) -> str:
    """A channel's name in the current language (`{{ "web_form"|channel_label }}`); an unknown
    key (a channel since removed) is shown as it is."""
    return _labels(Channel, get_language()).get(channel, channel)


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
    '<a class="ticket-row{new}" data-testid="ticket-row" data-reference="{reference}" href="{url}">'
    '<span class="ticket-row__ref">{reference}</span>'
    '<span class="ticket-row__subject">{subject}</span>'
    '<span class="ticket-row__customer">{customer}</span>'
    '<span class="ticket-row__shop">{shop}</span>'
    '<span class="ticket-row__channel">'
    '<span class="chip chip--{channel}">{channel_label}</span></span>'
    '<span><span class="badge badge--{status}" data-testid="status-badge">'
    "{status_label}</span>{undelivered}</span>"
    '<span><span class="priority priority--{priority}">{priority_label}</span></span>'
    '<span class="ticket-row__assignee">{assignee}</span>'
    '<span class="ticket-row__time"><time datetime="{iso}" title="{local}">{relative}</time></span>'
    "</a>\n"
)


def relative_time(moment: dt.datetime, now: dt.datetime) -> str:
    """Say how long ago `moment` was, coarsely ("5 minutes ago"), or give its date when older
    than a month. Humanize's `naturaltime` costs about half of the inbox rows' render time."""
    seconds = int((now - moment).total_seconds())
    if seconds < 60:
        return gettext("just now")
    if seconds < 3600:
        count = seconds // 60
        return ngettext("%(count)d minute ago", "%(count)d minutes ago", count) % {"count": count}
    if seconds < 86400:
        count = seconds // 3600
        return ngettext("%(count)d hour ago", "%(count)d hours ago", count) % {"count": count}
    if seconds < 30 * 86400:
        count = seconds // 86400
        return ngettext("%(count)d day ago", "%(count)d days ago", count) % {"count": count}
    return localtime(moment).strftime("%Y-%m-%d")


def _ticket_url_prefix(shop_slug: str) -> str:
    """Return the ticket URL of a shop without its number: the rows reverse once per shop."""
    url = reverse("conversations:ticket", kwargs={"shop_slug": shop_slug, "number": 0})
    return url.removesuffix("0/")


@register.simple_tag
def ticket_rows(tickets: list[Ticket]) -> SafeString:
    """Render the inbox rows. The inbox is the hottest page: its 25 rows are built with
    `str.format` over escaped values (every value that is not a literal of this module goes
    through `escape`), a fraction of the cost of the template engine or `format_html`."""
    language = get_language()
    channels, statuses, priorities = (
        _labels(Channel, language),
        _labels(Ticket.Status, language),
        _labels(Ticket.Priority, language),
    )
    unassigned = '<span class="muted">{}</span>'.format(escape(gettext("Unassigned")))
    # A reply that failed stays marked on its row whatever the ticket's status (see `outbound`).
    undelivered = (
        ' <span class="badge badge--failed" data-testid="undelivered-marker">{}</span>'.format(
            escape(gettext("Not delivered"))
        )
    )
    prefixes: dict[str, str] = {}
    now = timezone.now()
    rows = []
    for ticket in tickets:
        shop = ticket.shop
        prefix = prefixes.get(shop.slug)
        if prefix is None:
            prefix = prefixes[shop.slug] = _ticket_url_prefix(shop.slug)
        activity = localtime(ticket.last_activity_at)
        reference = escape(ticket.reference)
        rows.append(
            _TICKET_ROW.format(
                new=" is-new" if ticket.status == Ticket.Status.NEW else "",
                reference=reference,
                url=escape(f"{prefix}{ticket.number}/"),
                subject=escape(ticket.subject),
                customer=escape(str(ticket.customer)),
                shop=escape(shop.name),
                channel=escape(ticket.channel),
                channel_label=escape(channels.get(ticket.channel, ticket.channel)),
                status=escape(ticket.status),
                status_label=escape(statuses.get(ticket.status, ticket.status)),
                undelivered=undelivered if ticket.has_failed_delivery else "",
                priority=escape(ticket.priority),
                priority_label=escape(priorities.get(ticket.priority, ticket.priority)),
                assignee=escape(str(ticket.assignee)) if ticket.assignee else unassigned,
                iso=activity.isoformat(),
                local=activity.strftime("%Y-%m-%d %H:%M"),
                relative=escape(relative_time(ticket.last_activity_at, now)),
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value above was escaped


@register.filter
def stored_message(text: str) -> str:
    """Translate an error text stored as its English source (a `gettext_noop` sentence of ours);
    a text from elsewhere (a server's reply) is shown as it is."""
    return gettext(text) if text else text
