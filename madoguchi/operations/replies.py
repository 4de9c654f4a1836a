"""Working the queue: reply templates, trainee drafts and their approval, after-hours replies.

The writes of tickets and messages stay in `conversations.services`; these services decide when
to call them (a trainee's reply becomes a draft; an approval sends it with the approver recorded;
an after-hours message gets one automatic reply per conversation).
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.collisions import reply_conflict_check
from madoguchi.conversations.models import Category, Channel, Message, Ticket
from madoguchi.conversations.services import message_auto_reply, message_reply, ticket_update
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.events.models import ActorKind, Event
from madoguchi.events.services import event_append
from madoguchi.operations.models import AfterHoursSettings, ReplyDraft, ReplyTemplate
from madoguchi.operations.selectors import calendar_for_shop
from madoguchi.operations.templating import (
    RenderedTemplate,
    placeholder_problems,
    render_placeholders,
    render_template_text,
    reply_values,
    unfilled_placeholders,
)
from madoguchi.tenancy.access import Actor, actor_for_user, require_staff

if TYPE_CHECKING:
    from madoguchi.tenancy.models import Shop

MAX_TEMPLATE_CHARS = 20_000
AFTER_HOURS = "after_hours"
DEFAULT_AFTER_HOURS = {
    "ja": (
        "お問い合わせいただきありがとうございます。\n"
        "ただいま営業時間外のため、{{ next_opening }}以降に担当者より順にご返信いたします。\n"
        "営業時間: {{ business_hours }}\n{{ shop_name }}"
    ),
    "en": (
        "Thank you for your message.\n"
        "We are outside our business hours; our team will answer from {{ next_opening }}.\n"
        "Business hours: {{ business_hours }}\n{{ shop_name }}"
    ),
}

logger = logging.getLogger(__name__)

UNFILLED = gettext_noop(
    "The reply still contains template fields without a value: %(placeholders)s. "
    "Write the missing text in their place (or delete them), then send."
)


class UnfilledPlaceholdersError(ValidationError):
    """A reply still holds `{{ … }}` placeholders: it would reach the customer with blanks."""

    def __init__(self, placeholders: Sequence[str]) -> None:
        super().__init__(UNFILLED, extra={"placeholders": ", ".join(placeholders)})
        self.placeholders = list(placeholders)


def _require_filled(body_text: str) -> None:
    placeholders = unfilled_placeholders(body_text)
    if placeholders:
        raise UnfilledPlaceholdersError(placeholders)


def _require_valid_template_text(body: str) -> None:
    problems = placeholder_problems(body)
    if problems:
        raise ValidationError(problems[0].message, extra=dict(problems[0].params))


# Templates ---------------------------------------------------------------------------------------


@transaction.atomic
def reply_template_save(
    *,
    actor: Actor,
    shop: Shop,
    template: ReplyTemplate | None = None,
    name: str,
    language: str,
    body: str,
    set_status: str = "",
    set_tags: Sequence[str] = (),
    set_category: Category | None = None,
    is_active: bool = True,
) -> ReplyTemplate:
    """Create (`template` None) or change a shop's reply template."""
    require_staff(actor=actor, shop_id=shop.id)
    if template is not None and template.shop_id != shop.id:
        raise ValidationError("The template belongs to another shop.")
    name = " ".join(name.split())[:100]
    body = body.replace("\r\n", "\n").strip()
    if not name or not body:
        raise ValidationError("A template needs a name and a text.")
    if len(body) > MAX_TEMPLATE_CHARS:
        raise ValidationError("The message is too long.")
    _require_valid_template_text(body)
    if set_status and set_status not in Ticket.Status.values:
        raise ValidationError("Unknown status.")
    if set_category is not None and set_category.shop_id != shop.id:
        raise ValidationError("The category belongs to another shop.")
    tags = sorted({" ".join(tag.split())[:50] for tag in set_tags if tag.strip()})
    is_new = template is None
    if template is None:
        template = ReplyTemplate(shop=shop)
    template.name = name
    template.language = language[:10] or "ja"
    template.body = body
    template.set_status = set_status
    template.set_tags = tags
    template.set_category = set_category
    template.is_active = is_active
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as error:
        raise ValidationError("A template of this name and language exists.") from error
    record(
        actor=actor.user,
        action=actions.REPLY_TEMPLATE_SAVED,
        target=template,
        shop=shop,
        changes={"name": name, "language": template.language, "created": is_new},
    )
    return template


def template_render(
    *, template: ReplyTemplate, ticket: Ticket, operator: Actor
) -> RenderedTemplate:
    """Return the template's text for this ticket with the allowlisted values filled in.

    A variable without a value (no order linked) stays as its placeholder and is named in
    `empty`: the composer asks the operator to fill it, and `reply_send` refuses it unfilled.
    """
    values = reply_values(
        ticket=ticket,
        calendar=calendar_for_shop(shop_id=ticket.shop_id),
        now=timezone.now(),
        operator=operator.user,
        language=template.language,
    )
    return render_template_text(template.body, values)


def template_apply(*, actor: Actor, ticket: Ticket, template: ReplyTemplate) -> Ticket:
    """Set the status, tags and category the template carries (through `ticket_update`)."""
    changes: dict[str, object] = {}
    if template.set_status:
        changes["status"] = template.set_status
    if template.set_tags:
        current = [tag.name for tag in ticket.tags.all()]
        changes["tag_names"] = [*current, *(t for t in template.set_tags if t not in current)]
    if template.set_category_id is not None:
        changes["category"] = template.set_category
    if not changes:
        return ticket
    return ticket_update(actor=actor, ticket=ticket, **changes)  # type: ignore[arg-type]


# Replies and approval ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyOutcome:
    """What happened to a reply: sent (`message`) or waiting for approval (`draft`)."""

    message: Message | None = None
    draft: ReplyDraft | None = None


@transaction.atomic
def reply_send(
    *,
    actor: Actor,
    ticket: Ticket,
    body_text: str,
    status: str | None = None,
    template: ReplyTemplate | None = None,
    seen_message_id: int | None = None,
) -> ReplyOutcome:
    """Reply to the customer, or keep a trainee's reply as a draft for a supervisor.

    With `template`, its status, tags and category are applied once the reply is sent. With
    `seen_message_id`, another person's reply after that message raises `ReplyConflictError`
    (for a trainee's draft too: it would be written over a reply they have not seen).
    """
    if template is not None and template.shop_id != ticket.shop_id:
        raise ValidationError("The template belongs to another shop.")
    _require_filled(body_text)
    if actor.is_trainee_for(ticket.shop_id):
        reply_conflict_check(actor=actor, ticket=ticket, seen_message_id=seen_message_id)
        return ReplyOutcome(
            draft=reply_draft_submit(
                actor=actor, ticket=ticket, body_text=body_text, status=status, template=template
            )
        )
    message = message_reply(
        actor=actor,
        ticket=ticket,
        body_text=body_text,
        status=status,
        seen_message_id=seen_message_id,
    )
    if template is not None and actor.is_staff_for(ticket.shop_id):
        template_apply(actor=actor, ticket=ticket, template=template)
    return ReplyOutcome(message=message)


@transaction.atomic
def reply_draft_submit(
    *,
    actor: Actor,
    ticket: Ticket,
    body_text: str,
    status: str | None = None,
    template: ReplyTemplate | None = None,
) -> ReplyDraft:
    """Keep a trainee's reply for approval; nothing reaches the customer yet."""
    if not actor.can_reply(ticket.shop_id) or actor.user is None:
        raise PermissionDeniedError("You may not reply on this ticket.")
    body = body_text.replace("\x00", "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError("The reply is empty.")
    if status and status not in Ticket.Status.values:
        raise ValidationError("Unknown status.")
    draft = ReplyDraft.objects.create(
        shop_id=ticket.shop_id,
        ticket=ticket,
        author=actor.user,
        body_text=body,
        status=status or "",
        template=template,
        created_at=timezone.now(),
    )
    event_append(
        shop=ticket.shop,
        ticket=ticket,
        type="reply.draft_submitted",
        actor_kind=ActorKind.OPERATOR,
        actor_user=actor.user,
        payload={"draft_id": draft.id},
        occurred_at=draft.created_at,
    )
    record(
        actor=actor.user,
        action=actions.REPLY_DRAFT_SUBMITTED,
        target=draft,
        shop=ticket.shop,
        changes={"ticket": ticket.number},
    )
    return draft


def _require_lead(actor: Actor, shop_id: int) -> None:
    if not actor.is_lead_for(shop_id):
        raise PermissionDeniedError("Only a supervisor may approve replies.")


def _pending(draft: ReplyDraft) -> ReplyDraft:
    locked = (
        # Lock the draft row only: the template is a nullable (outer) join.
        ReplyDraft.objects.select_for_update(of=("self",))
        .select_related("ticket__shop", "author", "template")
        .get(pk=draft.pk)
    )
    if locked.state != ReplyDraft.State.PENDING:
        raise ValidationError("This reply was already handled.")
    return locked


@transaction.atomic
def reply_draft_approve(
    *, actor: Actor, draft: ReplyDraft, body_text: str | None = None
) -> Message:
    """Send the trainee's reply (as edited by the supervisor) with the trainee as its author.

    The `message.replied` event and the audit entry carry the approver.
    """
    _require_lead(actor, draft.shop_id)
    draft = _pending(draft)
    body = (body_text if body_text is not None else draft.body_text).replace("\r\n", "\n").strip()
    _require_filled(body)
    message = message_reply(
        actor=actor_for_user(draft.author),
        ticket=draft.ticket,
        body_text=body,
        status=draft.status or None,
        approved_by=actor.user,
    )
    if draft.template is not None:
        template_apply(actor=actor, ticket=draft.ticket, template=draft.template)
    now = timezone.now()
    draft.state = ReplyDraft.State.APPROVED
    draft.sent_text = message.body_text
    draft.reviewer = actor.user
    draft.reviewed_at = now
    draft.message = message
    draft.save()
    is_edited = message.body_text != draft.body_text
    event_append(
        shop=draft.ticket.shop,
        ticket=draft.ticket,
        type="reply.draft_approved",
        actor_kind=ActorKind.OPERATOR,
        actor_user=actor.user,
        payload={"draft_id": draft.id, "message_id": message.id, "is_edited": is_edited},
        occurred_at=now,
    )
    record(
        actor=actor.user,
        action=actions.REPLY_DRAFT_APPROVED,
        target=draft,
        shop=draft.ticket.shop,
        changes={
            "ticket": draft.ticket.number,
            "author": draft.author_id,
            "message": message.id,
            "edited": is_edited,
        },
    )
    return message


@transaction.atomic
def reply_draft_return(*, actor: Actor, draft: ReplyDraft, comment: str) -> ReplyDraft:
    """Send the draft back to the trainee with a comment they see on the ticket."""
    _require_lead(actor, draft.shop_id)
    comment = comment.replace("\r\n", "\n").strip()
    if not comment:
        raise ValidationError("Write what the trainee should change.")
    draft = _pending(draft)
    now = timezone.now()
    draft.state = ReplyDraft.State.RETURNED
    draft.review_comment = comment
    draft.reviewer = actor.user
    draft.reviewed_at = now
    draft.save()
    event_append(
        shop=draft.ticket.shop,
        ticket=draft.ticket,
        type="reply.draft_returned",
        actor_kind=ActorKind.OPERATOR,
        actor_user=actor.user,
        payload={"draft_id": draft.id, "comment": comment},
        occurred_at=now,
    )
    record(
        actor=actor.user,
        action=actions.REPLY_DRAFT_RETURNED,
        target=draft,
        shop=draft.ticket.shop,
        changes={"ticket": draft.ticket.number, "author": draft.author_id},
    )
    return draft


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added" or "removed"
    text: str


def text_diff(original: str, edited: str) -> list[DiffLine]:
    """Return the line difference of two texts (templates escape it when they render it)."""
    lines: list[DiffLine] = []
    kinds = {" ": "same", "+": "added", "-": "removed"}
    for line in difflib.ndiff(original.splitlines(), edited.splitlines()):
        if line[:1] in kinds:
            lines.append(DiffLine(kind=kinds[line[:1]], text=line[2:]))
    return lines


# After-hours replies -----------------------------------------------------------------------------


@transaction.atomic
def after_hours_settings_save(
    *, actor: Actor, shop: Shop, is_enabled: bool, body: str
) -> AfterHoursSettings:
    """Switch the shop's after-hours reply on or off and set its text (supervisors and admins).

    The text goes to customers with nobody approving it, so a trainee or an operator may not
    write it: their replies wait for a supervisor, and this is no way around that.
    """
    require_staff(actor=actor, shop_id=shop.id)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(
            gettext_noop("Only a supervisor or admin may change the after-hours reply.")
        )
    body = body.replace("\r\n", "\n").strip()
    if len(body) > MAX_TEMPLATE_CHARS:
        raise ValidationError("The message is too long.")
    _require_valid_template_text(body)
    settings, _ = AfterHoursSettings.objects.get_or_create(shop=shop)
    changes = {
        "is_enabled": [settings.is_enabled, is_enabled],
        "body_changed": settings.body != body,
    }
    settings.is_enabled = is_enabled
    settings.body = body
    settings.body_approved_by = actor.user
    settings.body_approved_at = timezone.now()
    settings.save()
    record(
        actor=actor.user,
        action=actions.AFTER_HOURS_CHANGED,
        target=settings,
        shop=shop,
        changes=changes,
    )
    return settings


def after_hours_reply_batch(messages: list[Message]) -> None:
    """Inbound batch hook: `after_hours_reply` for each message of a shop whose after-hours
    reply is on (one query for the settings of the batch; each reply in its own transaction,
    a failure logged)."""
    enabled = set(
        AfterHoursSettings.objects.filter(
            shop_id__in={message.shop_id for message in messages}, is_enabled=True
        ).values_list("shop_id", flat=True)
    )
    for message in messages:
        if message.shop_id not in enabled:
            continue
        try:
            with transaction.atomic():
                after_hours_reply(message)
        except Exception:
            logger.exception("The after-hours reply to message %s failed", message.id)


def after_hours_reply(message: Message, *, now: dt.datetime | None = None) -> Message | None:
    """Answer a customer who wrote outside business time, once per ticket (an inbound hook).

    Messages staff logged by hand (phone calls) get none. Returns the automatic reply or None.
    """
    if message.direction != Message.Direction.INBOUND or message.author_user_id is not None:
        return None
    if message.channel == Channel.PHONE:
        return None
    settings = AfterHoursSettings.objects.filter(shop_id=message.shop_id, is_enabled=True).first()
    if settings is None:
        return None
    calendar = calendar_for_shop(shop_id=message.shop_id)
    if calendar.is_open_at(message.created_at):
        return None
    with transaction.atomic():
        # The ticket's row lock makes "once per conversation" hold for concurrent messages.
        ticket = (
            Ticket.objects.select_for_update()
            .select_related("shop", "customer")
            .get(pk=message.ticket_id)
        )
        already = Event.objects.filter(
            ticket_id=ticket.id, type="message.auto_replied", payload__reason=AFTER_HOURS
        ).exists()
        next_open = calendar.next_open_at(message.created_at)
        if already or next_open is None:
            return None
        values = reply_values(ticket=ticket, calendar=calendar, now=now or message.created_at)
        language = "ja" if ticket.language.startswith("ja") else "en"
        text = render_placeholders(settings.sent_body or DEFAULT_AFTER_HOURS[language], values)
        return message_auto_reply(ticket=ticket, body_text=text, reason=AFTER_HOURS)
