"""The operator UI of tickets: inbox, ticket page, reply, note, properties, new ticket, and the
download of an attachment.

Each view parses input, fetches what the user names through an `access_*` function, calls one
service and renders. htmx requests get the fragment they swap; plain requests get whole pages
and Post/Redirect/Get.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from madoguchi.accounts.models import User
from madoguchi.commerce.selectors import orders_for_ticket
from madoguchi.conversations.attachments import attachment_download, served_content_type
from madoguchi.conversations.collisions import ReplyConflictError
from madoguchi.conversations.forms import (
    VIEW_LABELS,
    InboxFilterForm,
    NoteForm,
    ReplyForm,
    TicketNewForm,
    TicketPropertiesForm,
)
from madoguchi.conversations.models import Attachment, Category, Channel, Message, Ticket
from madoguchi.conversations.outbound import (
    delivery_failure_handle,
    delivery_failure_retry,
    failed_replies,
)
from madoguchi.conversations.selectors import (
    InboxFilters,
    InboxView,
    access_attachment,
    access_reply,
    access_ticket,
    customer_tickets,
    inbox_counts,
    inbox_page,
    inbox_views,
    reply_delivery_notice,
    ticket_message_count,
    ticket_timeline,
)
from madoguchi.conversations.services import (
    message_note,
    ticket_create,
    ticket_merge,
    ticket_split,
    ticket_update,
)
from madoguchi.conversations.taxonomy import choosable_categories
from madoguchi.conversations.ticket_panels import ticket_panels_html
from madoguchi.core.client_address import client_address
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from madoguchi.core.service_forms import error_text
from madoguchi.customers.models import ContactIdentity
from madoguchi.customers.selectors import access_customer
from madoguchi.customers.services import IdentityInput
from madoguchi.events.models import ActorKind, Event
from madoguchi.events.selectors import ticket_events
from madoguchi.operations.replies import reply_send, template_render
from madoguchi.operations.reply_selectors import (
    access_reply_template,
    drafts_for_ticket,
    templates_for_ticket,
)
from madoguchi.operations.selectors import sla_at_risk, ticket_sla_measures
from madoguchi.tenancy.access import Actor, access_shop, require_staff, shop_staff, visible_shops

if TYPE_CHECKING:
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.models import Shop

OTHER_TICKETS_SHOWN = 5
# Sidebar counts stop here ("1000+"): an exact count of every open ticket is not worth its cost.
COUNT_CAP = 1000


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _is_partial(request: HttpRequest) -> bool:
    """Whether to answer with a fragment: an htmx request that is not a history restore."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


# Inbox ------------------------------------------------------------------------------------------


def _saved_views(
    views: tuple[str, ...], counts: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """The sidebar's views: only those that mean something to the actor (`inbox_views`)."""
    counts = counts or {}
    return [
        {"key": key, "label": VIEW_LABELS[key], "count": _count_label(counts.get(key))}
        for key in views
    ]


def _count_label(count: int | None) -> str | None:
    if count is None:
        return None
    return f"{COUNT_CAP}+" if count >= COUNT_CAP else str(count)


@login_required
@require_GET
def inbox_view_counts(request: HttpRequest) -> HttpResponse:
    """The saved views with their counts, and the SLA strip (swapped out of band): loaded after
    the inbox so its ticket list is not held up by counting."""
    actor = _actor(request)
    shop_slug = request.GET.get("shop", "")
    shop = access_shop(actor=actor, slug=shop_slug) if shop_slug else None
    counts = inbox_counts(actor=actor, cap=COUNT_CAP, shop_id=shop.id if shop else None)
    views = inbox_views(actor=actor, shop_id=shop.id if shop else None)
    shop_ids = (shop.id,) if shop else actor.shop_ids
    context = {
        "saved_views": _saved_views(views, counts),
        "sla_at_risk": sla_at_risk(
            shop_ids=tuple(shop_id for shop_id in shop_ids if actor.is_staff_for(shop_id)),
            now=timezone.now(),
        ),
        "oob": True,
        "current_view": view if (view := request.GET.get("view")) in views else "",
        "current_shop": shop,
        "counts_loaded": True,
    }
    return render(request, "conversations/_saved_views.html", context)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """List the tickets of one saved view with filters; htmx swaps the list or appends a page."""
    actor = _actor(request)
    shops = visible_shops(actor)
    form = InboxFilterForm(request.GET, shop_choices=[(shop.slug, shop.name) for shop in shops])
    form.is_valid()
    view = form.value("view") or InboxView.OPEN
    shop_slug = form.value("shop")
    shop = None
    if shop_slug:  # `shops` holds exactly the shops the actor may see: any other slug is a 404
        shop = next((s for s in shops if s.slug == shop_slug), None)
        if shop is None:
            raise NotFoundError("Shop not found")
    views = inbox_views(actor=actor, shop_id=shop.id if shop else None)
    if view not in views:  # a view that means nothing to this actor (a client's "mine")
        view = InboxView.OPEN
    filters = InboxFilters(
        view=view,
        shop_id=shop.id if shop else None,
        status=form.value("status"),
        priority=form.value("priority"),
        channel=form.value("channel"),
    )
    cursor = form.value("cursor")
    page = inbox_page(
        actor=actor,
        filters=filters,
        cursor=cursor or None,
        page_size=settings.MADOGUCHI["INBOX_PAGE_SIZE"],
    )
    if _is_partial(request):
        template = "conversations/_inbox_rows.html" if cursor else "conversations/_inbox_list.html"
        context: dict[str, Any] = {"page": page, "current_view": view}
    else:
        template = "conversations/inbox.html"
        context = {
            "page": page,
            "form": form,
            "current_view": view,
            "current_shop": shop,
            "shops": shops,
            "saved_views": _saved_views(views),
            "can_create_tickets": any(actor.is_staff_for(s.id) for s in shops),
            "works_current_shop": shop is not None and actor.is_staff_for(shop.id),
            # The SLA strip arrives with the counts (`inbox_view_counts`, swapped out of band).
        }
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# Ticket page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the ticket timeline: a message or a system line made from an event."""

    kind: str  # "message" or "event"
    message: Message | None = None
    event: Event | None = None
    text: str = ""


def _actor_label(event: Event) -> str:
    if event.actor_user is not None:
        return str(event.actor_user)
    if event.actor_kind == ActorKind.CUSTOMER:
        return gettext("The customer")
    return gettext("The system")


def _event_text(event: Event, users: dict[int, User], categories: dict[int, Category]) -> str:
    """Describe an event in one sentence, or return "" for events the timeline does not show."""
    payload = event.payload or {}
    actor = _actor_label(event)
    statuses: dict[Any, Any] = dict(Ticket.Status.choices)
    priorities: dict[Any, Any] = dict(Ticket.Priority.choices)
    if event.type == "ticket.created":
        channel = dict(Channel.choices).get(payload.get("channel", ""), payload.get("channel", ""))
        return gettext("Ticket opened via %(channel)s") % {"channel": channel}
    if event.type == "ticket.status_changed":
        return gettext("%(actor)s changed the status from %(old)s to %(new)s") % {
            "actor": actor,
            "old": statuses.get(payload.get("old"), payload.get("old")),
            "new": statuses.get(payload.get("new"), payload.get("new")),
        }
    if event.type == "ticket.priority_changed":
        return gettext("%(actor)s changed the priority from %(old)s to %(new)s") % {
            "actor": actor,
            "old": priorities.get(payload.get("old"), payload.get("old")),
            "new": priorities.get(payload.get("new"), payload.get("new")),
        }
    if event.type == "ticket.assigned":
        new_user = users.get(payload.get("new_user_id") or 0)
        if new_user is None:
            return gettext("%(actor)s unassigned the ticket") % {"actor": actor}
        return gettext("%(actor)s assigned the ticket to %(assignee)s") % {
            "actor": actor,
            "assignee": str(new_user),
        }
    if event.type == "ticket.category_changed":
        category = categories.get(payload.get("new") or 0)
        if category is None:
            return gettext("%(actor)s removed the category") % {"actor": actor}
        return gettext("%(actor)s set the category to %(category)s") % {
            "actor": actor,
            "category": category.name,
        }
    if event.type == "ticket.tags_changed":
        parts = []
        if payload.get("added"):
            parts.append(gettext("added %(tags)s") % {"tags": ", ".join(payload["added"])})
        if payload.get("removed"):
            parts.append(gettext("removed %(tags)s") % {"tags": ", ".join(payload["removed"])})
        return gettext("%(actor)s changed the tags: %(changes)s") % {
            "actor": actor,
            "changes": gettext(", ").join(parts),
        }
    return ""


def _queue_event_text(event: Event, ticket: Ticket, *, is_staff: bool) -> str:
    """Describe merges, splits and (for staff) the approval of trainees' replies, or ""."""
    payload = event.payload or {}
    actor = _actor_label(event)
    prefix = ticket.shop.ticket_prefix
    if event.type == "ticket.merged":
        if payload.get("target_id") == ticket.id:
            return gettext("%(actor)s merged %(reference)s into this ticket") % {
                "actor": actor,
                "reference": f"#{prefix}-{payload.get('source_number')}",
            }
        return gettext("%(actor)s merged this ticket into %(reference)s") % {
            "actor": actor,
            "reference": f"#{prefix}-{payload.get('target_number')}",
        }
    if event.type == "ticket.split":
        if payload.get("new_id") == ticket.id:
            return gettext("%(actor)s split this ticket out of %(reference)s") % {
                "actor": actor,
                "reference": f"#{prefix}-{payload.get('source_number')}",
            }
        return gettext("%(actor)s moved a message to the new ticket %(reference)s") % {
            "actor": actor,
            "reference": f"#{prefix}-{payload.get('new_number')}",
        }
    if not is_staff:
        return ""
    if event.type == "reply.draft_submitted":
        return gettext("%(actor)s submitted a reply for approval") % {"actor": actor}
    if event.type == "reply.draft_approved":
        return gettext("%(actor)s approved a reply") % {"actor": actor}
    if event.type == "reply.draft_returned":
        return gettext("%(actor)s sent a reply back") % {"actor": actor}
    return ""


def _timeline(actor: Actor, ticket: Ticket) -> list[TimelineEntry]:
    """Merge the messages the actor may see with the ticket's events, oldest first."""
    rows: list[tuple[Any, int, TimelineEntry]] = [
        (message.created_at, 1, TimelineEntry(kind="message", message=message))
        for message in ticket_timeline(actor=actor, ticket=ticket)
    ]
    events = [e for e in ticket_events(ticket_id=ticket.id) if not e.type.startswith("message.")]
    user_ids = {e.payload.get("new_user_id") for e in events if e.type == "ticket.assigned"}
    users = User.objects.in_bulk([i for i in user_ids if i])
    category_ids = {e.payload.get("new") for e in events if e.type == "ticket.category_changed"}
    categories = Category.objects.in_bulk([i for i in category_ids if i])
    for event in events:
        text = _event_text(event, users, categories) or _queue_event_text(
            event, ticket, is_staff=actor.is_staff_for(ticket.shop_id)
        )
        if text:
            # A ticket opens before its first message; other events follow what caused them.
            order = 0 if event.type == "ticket.created" else 2
            rows.append(
                (event.occurred_at, order, TimelineEntry(kind="event", event=event, text=text))
            )
    rows.sort(key=lambda row: (row[0], row[1]))
    return [entry for _, _, entry in rows]


def _properties_form(
    ticket: Ticket, data: Any = None, staff: list[User] | None = None
) -> TicketPropertiesForm:
    if staff is None:
        staff = shop_staff(shop_id=ticket.shop_id)
    return TicketPropertiesForm(
        data,
        assignee_choices=[(user.id, str(user)) for user in staff],
        categories=choosable_categories(shop_id=ticket.shop_id, keep_id=ticket.category_id),
        initial={
            "status": ticket.status,
            "priority": ticket.priority,
            "assignee": ticket.assignee_id,
            "category": ticket.category_id,
            "tags": ", ".join(tag.name for tag in ticket.tags.all()),
        },
    )


def _render_ticket(
    request: HttpRequest,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    note_form: NoteForm | None = None,
    properties_form: TicketPropertiesForm | None = None,
    reply_conflict: list[Message] | None = None,
    reply_template_empty: list[str] | None = None,
) -> HttpResponse:
    actor = _actor(request)
    is_staff = actor.is_staff_for(ticket.shop_id)
    customer = access_customer(actor=actor, shop_id=ticket.shop_id, customer_id=ticket.customer_id)
    other_tickets = list(
        customer_tickets(customer_id=customer.id, shop_id=ticket.shop_id).exclude(id=ticket.id)[
            :OTHER_TICKETS_SHOWN
        ]
    )
    timeline = _timeline(actor, ticket)
    # The reply form remembers the newest message shown (kept as posted on a re-render).
    seen_message = max((e.message.id for e in timeline if e.message is not None), default=0)
    if reply_form is None:
        reply_form = ReplyForm(initial={"seen_message": seen_message})
    elif not reply_form.is_bound:
        reply_form.initial.setdefault("seen_message", seen_message)
    context = {
        "ticket": ticket,
        "shop": ticket.shop,
        "timeline": timeline,
        "timeline_messages": sum(1 for entry in timeline if entry.kind == "message"),
        "customer": customer,
        "identities": list(customer.identities.all()),
        "other_tickets": other_tickets,
        "tags": list(ticket.tags.all()),
        "is_staff": is_staff,
        "can_reply": actor.can_reply(ticket.shop_id),
        "reply_form": reply_form,
        "reply_conflict": reply_conflict,
        "reply_template_empty": reply_template_empty or [],
        # Replies that failed stay on top of the ticket until handled, whatever its status.
        "failed_replies": failed_replies(ticket=ticket) if is_staff else [],
        "note_form": note_form or NoteForm(),
        "properties_form": (properties_form or _properties_form(ticket)) if is_staff else None,
        # Orders are staff pages (commerce): the panel follows the same rule.
        "ticket_orders": orders_for_ticket(ticket) if is_staff else None,
        "sla_measures": list(ticket_sla_measures(ticket_id=ticket.id)) if is_staff else None,
        # Working the queue (operations): templates, trainee drafts, merge and split.
        "reply_templates": templates_for_ticket(ticket=ticket) if is_staff else [],
        "reply_drafts": drafts_for_ticket(ticket=ticket) if is_staff else [],
        "is_trainee": actor.is_trainee_for(ticket.shop_id),
        "is_lead": actor.is_lead_for(ticket.shop_id),
        "merge_targets": [other for other in other_tickets if other.status != Ticket.Status.CLOSED]
        if is_staff
        else [],
        # Sections other apps add to the side panel (conversations.ticket_panels).
        "panels": ticket_panels_html(request=request, actor=actor, ticket=ticket),
    }
    template = (
        "conversations/_ticket_workspace.html"
        if _is_partial(request)
        else "conversations/ticket.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _staff_ticket(request: HttpRequest, shop_slug: str, number: int) -> tuple[Actor, Ticket]:
    """Return the actor and the ticket they named, refusing anyone but the shop's staff."""
    actor = _actor(request)
    ticket = access_ticket(actor=actor, shop_slug=shop_slug, number=number)
    require_staff(actor=actor, shop_id=ticket.shop_id)
    return actor, ticket


def _ticket_url(ticket: Ticket) -> str:
    return reverse(
        "conversations:ticket",
        kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number},
    )


def _after_change(
    request: HttpRequest, ticket: Ticket, notice: str, *, level: int = messages.SUCCESS
) -> HttpResponse:
    """Answer a successful change: the fresh fragment for htmx, a redirect (PRG) otherwise."""
    messages.add_message(request, level, notice)
    if _is_partial(request):
        fresh = access_ticket(
            actor=_actor(request), shop_slug=ticket.shop.slug, number=ticket.number
        )
        return _render_ticket(request, fresh)
    return redirect(_ticket_url(ticket))


@login_required
@require_GET
def ticket_detail(request: HttpRequest, shop_slug: str, number: int) -> HttpResponse:
    """Show one ticket: timeline, reply and note forms, properties, the customer.

    `?template=<id>` fills the reply box with a reply template (the picker without JavaScript).
    """
    actor = _actor(request)
    ticket = access_ticket(actor=actor, shop_slug=shop_slug, number=number)
    reply_form = None
    empty: list[str] = []
    template_param = request.GET.get("template", "")
    if template_param.isdigit() and actor.is_staff_for(ticket.shop_id):
        template = access_reply_template(
            actor=actor, shop_id=ticket.shop_id, template_id=int(template_param)
        )
        rendered = template_render(template=template, ticket=ticket, operator=actor)
        reply_form = ReplyForm(initial={"body": rendered.text, "template": template.id})
        empty = rendered.empty_labels
    return _render_ticket(request, ticket, reply_form=reply_form, reply_template_empty=empty)


@login_required
@require_GET
def ticket_attachment(
    request: HttpRequest, shop_slug: str, number: int, attachment_id: int
) -> HttpResponseBase:
    """Send one attachment of the ticket as a download that the browser never renders.

    Whoever sees the ticket page may download what it lists; each download is audited. A file
    with malware found is not sent: the page says what was found (and offers a supervisor the
    recorded override, `ticket_attachment_release`).
    """
    actor = _actor(request)
    ticket = access_ticket(actor=actor, shop_slug=shop_slug, number=number)
    attachment = access_attachment(actor=actor, ticket=ticket, attachment_id=attachment_id)
    if attachment.is_infected:
        return _infected_page(request, actor, ticket, attachment, error="", status=403)
    stored = attachment_download(
        actor=actor,
        attachment=attachment,
        ip_address=client_address(request),
    )
    return _file_response(stored, attachment)


@login_required
@require_POST
def ticket_attachment_release(
    request: HttpRequest, shop_slug: str, number: int, attachment_id: int
) -> HttpResponseBase:
    """Download a file in which malware was found: a supervisor's decision, with its reason."""
    actor = _actor(request)
    ticket = access_ticket(actor=actor, shop_slug=shop_slug, number=number)
    attachment = access_attachment(actor=actor, ticket=ticket, attachment_id=attachment_id)
    try:
        stored = attachment_download(
            actor=actor,
            attachment=attachment,
            ip_address=client_address(request),
            release_reason=request.POST.get("reason", "")[:500],
        )
    except (PermissionDeniedError, ValidationError) as error:
        return _infected_page(request, actor, ticket, attachment, error=str(error), status=403)
    return _file_response(stored, attachment)


def _infected_page(
    request: HttpRequest,
    actor: Actor,
    ticket: Ticket,
    attachment: Attachment,
    *,
    error: str,
    status: int,
) -> HttpResponse:
    context = {
        "ticket": ticket,
        "shop": ticket.shop,
        "attachment": attachment,
        "may_release": actor.is_lead_for(ticket.shop_id),
        "error": error,
    }
    return render(request, "conversations/attachment_infected.html", context, status=status)


def _file_response(stored: Any, attachment: Attachment) -> FileResponse:
    response = FileResponse(
        stored,
        as_attachment=True,
        filename=attachment.filename or "attachment",
        content_type=served_content_type(attachment.content_type),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def ticket_reply(request: HttpRequest, shop_slug: str, number: int) -> HttpResponse:
    """Reply to the customer, optionally setting the status in the same step."""
    actor = _actor(request)
    ticket = access_ticket(actor=actor, shop_slug=shop_slug, number=number)
    if not actor.can_reply(ticket.shop_id):
        raise PermissionDeniedError("You may not reply on this ticket.")
    form = ReplyForm(request.POST)
    if form.is_valid():
        template = None
        if form.cleaned_data.get("template") and actor.is_staff_for(ticket.shop_id):
            template = access_reply_template(
                actor=actor, shop_id=ticket.shop_id, template_id=form.cleaned_data["template"]
            )
        try:
            outcome = reply_send(
                actor=actor,
                ticket=ticket,
                body_text=form.cleaned_data["body"],
                status=form.cleaned_data["status"] or None,
                template=template,
                seen_message_id=form.cleaned_data["seen_message"],
            )
        except ReplyConflictError as conflict:
            # Nothing was sent: show the newer replies; "send anyway" posts the text again with
            # the newest of them as seen, so a reply arriving after this warning asks again.
            data = request.POST.copy()
            data["seen_message"] = str(conflict.newer[-1].id)
            form = ReplyForm(data)
            form.is_valid()
            return _render_ticket(request, ticket, reply_form=form, reply_conflict=conflict.newer)
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            if outcome.draft is not None:
                notice = gettext("Your reply waits for a supervisor's approval.")
                return _after_change(request, ticket, notice)
            assert outcome.message is not None
            # Read after the commit: a chat reply is pushed (or refused) by then.
            level, notice = reply_delivery_notice(message_id=outcome.message.id)
            seen = form.cleaned_data["seen_message"]
            if _is_partial(request) and _reply_changed_only_the_timeline(ticket, form, level=level):
                messages.add_message(request, level, notice)
                return _render_reply_sent(request, ticket, seen_message_id=seen)
            return _after_change(request, ticket, notice, level=level)
    return _render_ticket(request, ticket, reply_form=form)


def _reply_changed_only_the_timeline(ticket: Ticket, form: ReplyForm, *, level: int) -> bool:
    """Whether a reply just sent left the page as it was but for new messages and the notice.

    `ticket` is as it was before the reply. Not so after the first reply (the status, the
    first-response figures and the split buttons change), a new status, a template (it may set
    status, tags and category), a reply that was not sent (the failed-replies banner), or a
    form that did not say which message its page showed last.
    """
    status = form.cleaned_data["status"]
    return (
        level == messages.SUCCESS
        and bool(form.cleaned_data["seen_message"])
        and not form.cleaned_data.get("template")
        and ticket.first_responded_at is not None
        and ticket.status != Ticket.Status.NEW
        and (not status or status == ticket.status)
    )


def _render_reply_sent(
    request: HttpRequest, ticket: Ticket, *, seen_message_id: int
) -> HttpResponse:
    """Answer a reply sent from the ticket page: a clear composer, the new messages, the notice.

    Re-rendering the whole workspace reads and renders every panel again; at a live chat's
    pace of replies that was most of the server's work (issue 19). The composer is swapped in
    place of itself; the messages after the one the page showed last (the reply, and whatever
    arrived meanwhile) are appended to the timeline and the notice replaces the old one, out
    of band. The chat script drops a visitor's message that it had already shown live.
    """
    actor = _actor(request)
    newer = ticket_timeline(actor=actor, ticket=ticket, after_id=seen_message_id)
    seen = max((message.id for message in newer), default=seen_message_id)
    context = {
        "ticket": ticket,
        "shop": ticket.shop,
        "newer_messages": newer,
        # Whether a message may be split out is decided as on the whole page.
        "timeline_messages": ticket_message_count(actor=actor, ticket=ticket),
        "is_staff": actor.is_staff_for(ticket.shop_id),
        "reply_form": ReplyForm(initial={"seen_message": seen}),
        "oob": True,
    }
    response = render(request, "conversations/_reply_sent.html", context)
    response = retarget(reswap(response, "outerHTML"), "#reply-composer")
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@require_POST
def ticket_delivery(
    request: HttpRequest, shop_slug: str, number: int, message_id: int
) -> HttpResponse:
    """Deal with a reply whose delivery failed: send it again or mark it handled (staff only)."""
    actor, ticket = _staff_ticket(request, shop_slug, number)
    message = access_reply(ticket=ticket, message_id=message_id)
    action = request.POST.get("action", "")
    if action == "retry":
        delivery_failure_retry(actor=actor, message=message)
        level, notice = reply_delivery_notice(message_id=message.id)
        return _after_change(request, ticket, notice, level=level)
    if action != "handled":
        raise ValidationError("Unknown action.")
    delivery_failure_handle(actor=actor, message=message)
    return _after_change(request, ticket, gettext("The failed reply was marked as handled."))


@login_required
@require_POST
def ticket_merge_view(request: HttpRequest, shop_slug: str, number: int) -> HttpResponse:
    """Merge this ticket into another ticket of the same customer (staff only)."""
    actor, ticket = _staff_ticket(request, shop_slug, number)
    into = request.POST.get("into", "").strip().lstrip("#").rsplit("-", 1)[-1]
    if not into.isdigit():
        raise ValidationError("Choose the ticket to merge into.")
    target = access_ticket(actor=actor, shop_slug=shop_slug, number=int(into))
    merged = ticket_merge(actor=actor, source=ticket, target=target)
    messages.success(
        request, gettext("Merged into %(reference)s.") % {"reference": merged.reference}
    )
    return redirect(_ticket_url(merged))


@login_required
@require_POST
def ticket_split_view(request: HttpRequest, shop_slug: str, number: int) -> HttpResponse:
    """Move one customer message of this ticket into a new ticket (staff only)."""
    actor, ticket = _staff_ticket(request, shop_slug, number)
    message_param = request.POST.get("message", "")
    message = (
        Message.objects.filter(ticket=ticket, pk=int(message_param)).first()
        if message_param.isdigit()
        else None
    )
    if message is None:
        raise NotFoundError("Message not found")
    new_ticket = ticket_split(actor=actor, message=message)
    messages.success(
        request,
        gettext("The message moved to the new ticket %(reference)s.")
        % {"reference": new_ticket.reference},
    )
    return redirect(_ticket_url(new_ticket))


@login_required
@require_POST
def ticket_note(request: HttpRequest, shop_slug: str, number: int) -> HttpResponse:
    """Add an internal note (staff only)."""
    actor, ticket = _staff_ticket(request, shop_slug, number)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            message_note(actor=actor, ticket=ticket, body_text=form.cleaned_data["body"])
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            return _after_change(request, ticket, gettext("Your note was added."))
    return _render_ticket(request, ticket, note_form=form)


@login_required
@require_POST
def ticket_properties(request: HttpRequest, shop_slug: str, number: int) -> HttpResponse:
    """Change status, priority, assignee, category and tags (staff only)."""
    actor, ticket = _staff_ticket(request, shop_slug, number)
    staff = shop_staff(shop_id=ticket.shop_id)
    form = _properties_form(ticket, request.POST, staff)
    if form.is_valid():
        # The form only accepts ids of the shop's staff: the choice maps back to the user.
        assignee_id = form.cleaned_data["assignee"]
        assignee = next((user for user in staff if user.id == assignee_id), None)
        try:
            ticket_update(
                actor=actor,
                ticket=ticket,
                status=form.cleaned_data["status"],
                priority=form.cleaned_data["priority"],
                assignee=assignee,
                category=form.cleaned_data["category"],
                tag_names=form.tag_names(),
            )
        except ValidationError as error:
            form.add_error(None, error_text(error))
        else:
            return _after_change(request, ticket, gettext("The ticket was updated."))
    return _render_ticket(request, ticket, properties_form=form)


# New ticket -------------------------------------------------------------------------------------


def _prefill(request: HttpRequest, actor: Actor) -> tuple[Shop | None, Customer | None]:
    """Read `?shop=<slug>&customer=<id>`: both must be visible to the actor, else 404."""
    shop_slug = request.GET.get("shop", "")
    if not shop_slug:
        return None, None
    shop = access_shop(actor=actor, slug=shop_slug)
    require_staff(actor=actor, shop_id=shop.id)
    customer_param = request.GET.get("customer", "")
    if not customer_param:
        return shop, None
    if not customer_param.isdigit():
        raise NotFoundError("Customer not found")
    customer = access_customer(actor=actor, shop_id=shop.id, customer_id=int(customer_param))
    return shop, customer


def _identities(cleaned: dict[str, Any]) -> list[IdentityInput]:
    identities = []
    if cleaned.get("customer_email"):
        identities.append(
            IdentityInput(kind=ContactIdentity.Kind.EMAIL, value=cleaned["customer_email"])
        )
    if cleaned.get("customer_phone"):
        identities.append(
            IdentityInput(kind=ContactIdentity.Kind.PHONE, value=cleaned["customer_phone"])
        )
    return identities


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    """Write a ticket by hand (a phone call, a letter) for a new or an existing customer."""
    actor = _actor(request)
    staff_shops = [shop for shop in visible_shops(actor) if actor.is_staff_for(shop.id)]
    prefill_shop, prefill_customer = _prefill(request, actor)
    if not staff_shops:
        raise PermissionDeniedError("Only support staff may do this.")
    shop_choices = [(shop.slug, shop.name) for shop in staff_shops]
    if request.method == "POST":
        form = TicketNewForm(request.POST, shop_choices=shop_choices)
        if form.is_valid():
            ticket = _create_from_form(actor, form)
            if ticket is not None:
                messages.success(request, gettext("The ticket was created."))
                return redirect(_ticket_url(ticket))
    else:
        initial: dict[str, Any] = {}
        if prefill_shop is not None:
            initial["shop"] = prefill_shop.slug
        if prefill_customer is not None:
            initial["customer"] = prefill_customer.id
        form = TicketNewForm(initial=initial, shop_choices=shop_choices)
    return render(
        request,
        "conversations/ticket_new.html",
        {"form": form, "prefill_customer": prefill_customer, "prefill_shop": prefill_shop},
    )


def _create_from_form(actor: Actor, form: TicketNewForm) -> Ticket | None:
    """Call `ticket_create` with the form's data; put a refusal on the form and return None."""
    cleaned = form.cleaned_data
    shop = access_shop(actor=actor, slug=cleaned["shop"])
    customer = None
    if cleaned.get("customer"):
        try:
            customer = access_customer(
                actor=actor, shop_id=shop.id, customer_id=cleaned["customer"]
            )
        except NotFoundError:
            form.add_error(None, gettext("The customer belongs to another shop."))
            return None
    try:
        return ticket_create(
            actor=actor,
            shop=shop,
            channel=cleaned["channel"],
            subject=cleaned["subject"],
            body_text=cleaned["body"],
            customer=customer,
            customer_name=cleaned.get("customer_name") or "",
            identities=_identities(cleaned),
            priority=cleaned["priority"],
            assign_to_self=bool(cleaned.get("assign_to_self")),
        )
    except ValidationError as error:
        form.add_error(None, error_text(error))
        return None
