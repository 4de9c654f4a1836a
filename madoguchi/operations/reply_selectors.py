"""Reads of reply templates and trainee drafts, shaped for the ticket page and the queue."""

from __future__ import annotations

from django.db.models import QuerySet

from madoguchi.conversations.models import Ticket
from madoguchi.core.errors import NotFoundError
from madoguchi.operations.models import AfterHoursSettings, ReplyDraft, ReplyTemplate
from madoguchi.tenancy.access import Actor


def shop_templates(*, shop_id: int, active_only: bool = False) -> QuerySet[ReplyTemplate]:
    """Return the shop's templates by language and name."""
    templates = ReplyTemplate.objects.filter(shop_id=shop_id).select_related("set_category")
    return templates.filter(is_active=True) if active_only else templates


def templates_for_ticket(*, ticket: Ticket) -> list[ReplyTemplate]:
    """Return the active templates to pick from: the ticket's language first."""
    templates = list(shop_templates(shop_id=ticket.shop_id, active_only=True))
    return sorted(templates, key=lambda t: (t.language != ticket.language, t.language, t.name))


def access_reply_template(*, actor: Actor, shop_id: int, template_id: int) -> ReplyTemplate:
    """Return a template of the shop for its staff; anything else is not found."""
    template: ReplyTemplate | None = (
        ReplyTemplate.objects.filter(pk=template_id, shop_id=shop_id)
        .select_related("set_category")
        .first()
    )
    if template is None or not actor.is_staff_for(shop_id):
        raise NotFoundError("Template not found")
    return template


def approval_queue(*, shop_id: int) -> QuerySet[ReplyDraft]:
    """Return the shop's drafts waiting for approval, oldest first."""
    return (
        ReplyDraft.objects.filter(shop_id=shop_id, state=ReplyDraft.State.PENDING)
        .select_related("ticket__shop", "ticket__customer", "author")
        .order_by("created_at", "id")
    )


def access_reply_draft(*, actor: Actor, shop_id: int, draft_id: int) -> ReplyDraft:
    """Return a draft of the shop for a supervisor of it; anything else is not found."""
    draft: ReplyDraft | None = (
        ReplyDraft.objects.filter(pk=draft_id, shop_id=shop_id)
        .select_related("ticket__shop", "ticket__customer", "author", "reviewer", "template")
        .first()
    )
    if draft is None or not actor.is_lead_for(shop_id):
        raise NotFoundError("Draft not found")
    return draft


def drafts_for_ticket(*, ticket: Ticket) -> list[ReplyDraft]:
    """Return the ticket's drafts still waiting or sent back, for its staff to see."""
    return list(
        ReplyDraft.objects.filter(
            ticket=ticket, state__in=(ReplyDraft.State.PENDING, ReplyDraft.State.RETURNED)
        )
        .select_related("author", "reviewer")
        .order_by("created_at", "id")
    )


def after_hours_settings(*, shop_id: int) -> AfterHoursSettings | None:
    return AfterHoursSettings.objects.filter(shop_id=shop_id).first()
