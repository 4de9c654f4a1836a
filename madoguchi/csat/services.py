"""Every write of CSAT: the shop's settings, sending due surveys, answers, opt-outs.

A periodic job (`tasks.send_due_surveys_task`, every minute) reads each enabled shop's tickets
solved at least its delay ago and sends each one survey on its channel as a system message
(`message_auto_reply`: no response for SLAs, the status stays). A ticket gets one survey ever:
reopened and solved again, it keeps the first (ADR 0021).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.models import Ticket
from madoguchi.conversations.services import message_auto_reply
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.site import absolute_url
from madoguchi.csat.eligibility import skip_reason
from madoguchi.csat.models import (
    ANSWER_WINDOW,
    CHANGE_WINDOW,
    MAX_COMMENT_CHARS,
    MAX_DELAY_MINUTES,
    CsatOptOut,
    CsatSettings,
    CsatSurvey,
)
from madoguchi.csat.wording import survey_language, survey_text, wording_for
from madoguchi.customers.models import Customer
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

REFUSAL = gettext_noop("Only a supervisor or admin may change the CSAT survey.")
EXPIRED = gettext_noop("This survey has expired.")
LOCKED = gettext_noop("This answer can no longer be changed.")
NOT_SENT = gettext_noop("This survey was not sent.")
BAD_SCORE = gettext_noop("Choose a score from 1 to 5.")
SEND_BATCH = 200
WORDING_FIELDS = (
    "question_ja",
    "question_en",
    "comment_prompt_ja",
    "comment_prompt_en",
    "thanks_ja",
    "thanks_en",
)
WORDING_LIMITS = {"comment_prompt_ja": 200, "comment_prompt_en": 200}
MAX_WORDING_CHARS = 1000


class SurveyClosedError(ValidationError):
    """The survey takes no (more) answers: expired, not sent, or past the change window."""


def token_digest(token: str) -> str:
    """Return the stored form of a survey link's token (its SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def survey_url(token: str) -> str:
    """Return the absolute address of the survey page for `token` (for mail and messages)."""
    return absolute_url(reverse("csat:survey", args=[token]))


# Settings --------------------------------------------------------------------------------------


def csat_settings_for(*, shop_id: int) -> CsatSettings:
    """Return the shop's CSAT settings (unsaved defaults, switched off, when none are stored)."""
    return CsatSettings.objects.filter(shop_id=shop_id).first() or CsatSettings(shop_id=shop_id)


def _settings_values(settings: CsatSettings) -> dict[str, Any]:
    return {
        "is_enabled": settings.is_enabled,
        "delay_minutes": settings.delay_minutes,
        **{name: getattr(settings, name) for name in WORDING_FIELDS},
    }


@transaction.atomic
def csat_settings_save(
    *,
    actor: Actor,
    shop: Shop,
    is_enabled: bool,
    delay_minutes: int,
    wording: dict[str, str],
) -> CsatSettings:
    """Set the shop's survey (its leads only; audited). `wording` holds any of WORDING_FIELDS;
    an empty text falls back to the default of its language.

    Switching the survey on starts from now: tickets solved before are never surveyed.
    """
    require_staff(actor=actor, shop_id=shop.id)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(REFUSAL)
    if not 0 <= delay_minutes <= MAX_DELAY_MINUTES:
        raise ValidationError(
            gettext_noop("The delay is between 0 minutes and 7 days (10080 minutes)."),
            field="delay_minutes",
        )
    texts = {name: str(wording.get(name, "")).strip() for name in WORDING_FIELDS}
    for name, text in texts.items():
        if len(text) > WORDING_LIMITS.get(name, MAX_WORDING_CHARS):
            raise ValidationError(
                gettext_noop("This text is too long (at most %(limit)d characters)."),
                extra={"limit": WORDING_LIMITS.get(name, MAX_WORDING_CHARS)},
                field=name,
            )
    settings, _created = CsatSettings.objects.select_for_update().get_or_create(shop=shop)
    before = _settings_values(settings)
    if is_enabled and not settings.is_enabled:
        settings.enabled_at = timezone.now()
    settings.is_enabled = is_enabled
    settings.delay_minutes = delay_minutes
    for name, text in texts.items():
        setattr(settings, name, text)
    after = _settings_values(settings)
    if before == after:
        return settings
    settings.save()
    changed = [key for key in after if before[key] != after[key]]
    record(
        actor=actor.user,
        action=actions.CSAT_SETTINGS_CHANGED,
        target=settings,
        shop=shop,
        changes={
            "old": {key: before[key] for key in changed},
            "new": {key: after[key] for key in changed},
        },
    )
    return settings


# Sending ---------------------------------------------------------------------------------------


def due_ticket_ids(
    *, settings: CsatSettings, now: dt.datetime, limit: int = SEND_BATCH
) -> list[int]:
    """Return the shop's solved tickets whose survey is due: solved at least the delay ago,
    after the survey was switched on and within the answer window, with no survey yet."""
    if not settings.is_enabled or settings.enabled_at is None:
        return []
    earliest = max(settings.enabled_at, now - ANSWER_WINDOW)
    return list(
        Ticket.objects.filter(
            shop_id=settings.shop_id,
            status=Ticket.Status.SOLVED,
            solved_at__gte=earliest,
            solved_at__lte=now - dt.timedelta(minutes=settings.delay_minutes),
        )
        .exclude(Exists(CsatSurvey.objects.filter(ticket_id=OuterRef("pk"))))
        .order_by("solved_at", "id")
        .values_list("id", flat=True)[:limit]
    )


@transaction.atomic
def survey_send(*, ticket_id: int, now: dt.datetime | None = None) -> CsatSurvey | None:
    """Send the ticket's survey on its channel, or record why it gets none; return the survey.

    Idempotent: a ticket that has a survey, or is no longer solved, gets nothing (None). The
    message is an automatic one (`message.auto_replied`, reason "csat"), so it is no response
    for SLAs and the status stays solved.
    """
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update().select_related("shop").filter(pk=ticket_id).first()
    if ticket is None or ticket.status != Ticket.Status.SOLVED:
        return None
    if CsatSurvey.objects.filter(ticket=ticket).exists():
        return None
    language = survey_language(ticket.language)
    reason = skip_reason(ticket)
    if reason:
        return CsatSurvey.objects.create(
            shop_id=ticket.shop_id,
            ticket=ticket,
            channel=ticket.channel,
            language=language,
            status=CsatSurvey.Status.SKIPPED,
            skip_reason=reason,
            created_at=now,
        )
    token = secrets.token_urlsafe(24)
    survey = CsatSurvey.objects.create(
        shop_id=ticket.shop_id,
        ticket=ticket,
        channel=ticket.channel,
        language=language,
        status=CsatSurvey.Status.SENT,
        token_digest=token_digest(token),
        created_at=now,
        sent_at=now,
        expires_at=now + ANSWER_WINDOW,
    )
    wording = wording_for(csat_settings_for(shop_id=ticket.shop_id), language)
    message = message_auto_reply(
        ticket=ticket, body_text=survey_text(wording, survey_url(token)), reason="csat"
    )
    survey.message = message
    survey.save(update_fields=["message"])
    event_append(
        shop=ticket.shop,
        ticket=ticket,
        type="csat.requested",
        actor_kind=ActorKind.SYSTEM,
        payload={
            "survey_id": survey.id,
            "channel": survey.channel,
            "message_id": message.id,
            "language": language,
        },
        occurred_at=now,
    )
    return survey


def surveys_send_due(*, now: dt.datetime | None = None) -> int:
    """Send every enabled shop's due surveys (the periodic job: it lists the shops with CSAT
    on, then works in each shop's scope); return how many surveys were sent or skipped."""
    now = now or timezone.now()
    done = 0
    with unscoped("CSAT: the periodic job lists the shops with surveys on"):
        shop_ids = list(
            CsatSettings.objects.filter(is_enabled=True).values_list("shop_id", flat=True)
        )
    for shop_id in shop_ids:
        with in_shop(shop_id):
            settings = CsatSettings.objects.get(shop_id=shop_id)
            for ticket_id in due_ticket_ids(settings=settings, now=now):
                if survey_send(ticket_id=ticket_id, now=now) is not None:
                    done += 1
    return done


# Answers ---------------------------------------------------------------------------------------


def _clean_comment(comment: str) -> str:
    text = comment.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return text[:MAX_COMMENT_CHARS]


def answer_refusal(survey: CsatSurvey, now: dt.datetime) -> str:
    """Return why the survey takes no answer now (an English msgid), or "" when it does."""
    if survey.status == CsatSurvey.Status.SKIPPED:
        return NOT_SENT
    if survey.first_answered_at is not None:
        return "" if now <= survey.first_answered_at + CHANGE_WINDOW else LOCKED
    if survey.expires_at is not None and now > survey.expires_at:
        return EXPIRED
    return ""


@transaction.atomic
def survey_answer(
    *,
    survey: CsatSurvey,
    score: int,
    comment: str | None = None,
    opt_out: bool = False,
    via: str = "page",
    now: dt.datetime | None = None,
) -> CsatSurvey:
    """Record the customer's answer (1-5 and an optional comment); a change within 7 days of the
    first answer replaces it. `comment` None keeps the stored comment (a LINE score button).

    Each answer is a `csat.answered` event (actor: the customer). With `opt_out` the customer
    gets no more surveys from the shop.
    """
    now = now or timezone.now()
    survey = (
        CsatSurvey.objects.select_for_update()
        .select_related("ticket", "ticket__shop", "ticket__customer")
        .get(pk=survey.pk)
    )
    refusal = answer_refusal(survey, now)
    if refusal:
        raise SurveyClosedError(refusal)
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError(BAD_SCORE, field="score")
    previous = survey.score
    survey.score = score
    if comment is not None:
        survey.comment = _clean_comment(comment)
    survey.status = CsatSurvey.Status.ANSWERED
    survey.answered_at = now
    if survey.first_answered_at is None:
        survey.first_answered_at = now
    survey.save(update_fields=["score", "comment", "status", "answered_at", "first_answered_at"])
    ticket = survey.ticket
    event_append(
        shop=ticket.shop,
        ticket=ticket,
        type="csat.answered",
        actor_kind=ActorKind.CUSTOMER,
        actor_customer=ticket.customer,
        payload={
            "survey_id": survey.id,
            "channel": survey.channel,
            "score": score,
            "previous_score": previous,
            "has_comment": bool(survey.comment),
            "comment_length": len(survey.comment),
            "via": via,
        },
        occurred_at=now,
    )
    if opt_out:
        _opt_out_add(
            shop=ticket.shop,
            customer_id=ticket.customer_id,
            source=CsatOptOut.Source.CUSTOMER,
            user=None,
        )
    return survey


# Opt-outs --------------------------------------------------------------------------------------


def _opt_out_add(*, shop: Shop, customer_id: int, source: str, user: Any) -> CsatOptOut | None:
    if CsatOptOut.objects.filter(shop=shop, customer_id=customer_id).exists():
        return None
    opt_out = CsatOptOut.objects.create(
        shop=shop,
        customer_id=customer_id,
        source=source,
        created_by=user,
        created_at=timezone.now(),
    )
    record(
        actor=user,
        actor_label="" if user is not None else "csat-survey",
        action=actions.CSAT_OPT_OUT_CHANGED,
        target=opt_out,
        shop=shop,
        changes={"customer_id": customer_id, "opted_out": True, "source": source},
    )
    return opt_out


@transaction.atomic
def csat_opt_out_set(*, actor: Actor, customer: Customer, is_opted_out: bool) -> bool:
    """Stop or resume surveys to a customer (the shop's staff; audited). Return whether it
    changed anything."""
    require_staff(actor=actor, shop_id=customer.shop_id)
    shop = Shop.objects.get(pk=customer.shop_id)
    if is_opted_out:
        return (
            _opt_out_add(
                shop=shop,
                customer_id=customer.id,
                source=CsatOptOut.Source.STAFF,
                user=actor.user,
            )
            is not None
        )
    existing = CsatOptOut.objects.filter(shop=shop, customer_id=customer.id).first()
    if existing is None:
        return False
    existing.delete()
    record(
        actor=actor.user,
        action=actions.CSAT_OPT_OUT_CHANGED,
        target=customer,
        shop=shop,
        changes={"customer_id": customer.id, "opted_out": False},
    )
    return True
