"""Web-form submissions: rate limits, storing first, then a ticket and the confirmation mail.

A submission is committed before anything else happens to it, so a failure later loses nothing:
the row stays "received"/"failed" with its error and a task tries again. The confirmation mail
with the ticket number goes through the mail connector's acknowledgement (its loop breaker and
verified sender rules apply); replies on the ticket continue by email.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.connectors.mail.autoreply import ack_send
from madoguchi.connectors.webform.forms import CheckedFile
from madoguchi.connectors.webform.models import Submission, SubmissionFile, WebForm
from madoguchi.conversations.models import Channel, Ticket
from madoguchi.conversations.services import InboundMessage, receive_inbound
from madoguchi.conversations.storage_quota import Allowance, attachment_keep
from madoguchi.core.errors import PermissionDeniedError, ValidationError, stored_error_text
from madoguchi.core.rate_limits import hit
from madoguchi.core.tasks import enqueue_on_commit
from madoguchi.customers.models import ContactIdentity
from madoguchi.customers.normalize import normalize_email
from madoguchi.customers.services import IdentityInput
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop

logger = logging.getLogger(__name__)


def _rate_config() -> tuple[int, int, int]:
    config = settings.MADOGUCHI
    return (
        int(config.get("WEBFORM_RATE_WINDOW_SECONDS", 3600)),
        int(config.get("WEBFORM_RATE_PER_IP", 10)),
        int(config.get("WEBFORM_RATE_PER_ADDRESS", 5)),
    )


def rate_limited(*, form: WebForm, ip_address: str, email: str) -> str:
    """Count this attempt (shared by every process); return "ip" or "address" when over its
    limit, else ""."""
    window, per_ip, per_address = _rate_config()
    if ip_address and hit(f"webform:ip:{form.shop_id}:{ip_address}", window=window) > per_ip:
        return "ip"
    address = normalize_email(email)
    if address and hit(f"webform:addr:{form.shop_id}:{address}", window=window) > per_address:
        return "address"
    return ""


@transaction.atomic
def submission_store(
    *,
    form: WebForm,
    data: dict[str, str],
    files: list[CheckedFile],
    ip_address: str | None,
    privacy_consent: bool = False,
) -> Submission:
    """Store what the customer sent, with its files, before any processing.

    `privacy_consent`: the customer ticked the consent box; its time and the policy URL the
    form linked are kept with the submission.
    """
    now = timezone.now()
    submission = Submission.objects.create(
        shop_id=form.shop_id,
        form=form,
        name=data.get("name", "").replace("\x00", "").strip(),
        email=data["email"].strip(),
        phone=data.get("phone", "").strip(),
        order_number=data.get("order_number", "").strip(),
        category=data.get("category", "").strip(),
        message=data["message"].replace("\x00", ""),
        ip_address=ip_address or None,
        privacy_consent_at=now if privacy_consent else None,
        privacy_policy_url=form.privacy_policy_url if privacy_consent else "",
        created_at=now,
    )
    for checked in files:
        SubmissionFile.objects.create(
            shop_id=form.shop_id,
            submission=submission,
            filename=checked.filename[:255],
            content_type=checked.content_type,
            size=len(checked.data),
            sha256=checked.sha256,
            data=checked.data,
        )
    return submission


def _body(submission: Submission) -> str:
    lines = []
    if submission.order_number:
        lines.append(f"注文番号: {submission.order_number}")
    if submission.phone:
        lines.append(f"電話番号: {submission.phone}")
    if submission.category:
        lines.append(f"種別: {submission.category}")
    if lines:
        lines.append("")
    lines.append(submission.message)
    return "\n".join(lines)


def submission_process(*, submission_id: int) -> Ticket | None:
    """Turn a stored submission into a ticket with its attachments and queue the confirmation.

    Idempotent: the message's external id is the submission's, so a second run finds it.
    """
    submission = Submission.objects.select_related("form").get(pk=submission_id)
    if submission.status == Submission.Status.PROCESSED and submission.ticket_id:
        done: Ticket = Ticket.objects.select_related("shop").get(pk=submission.ticket_id)
        return done
    Submission.objects.filter(pk=submission.pk).update(attempts=F("attempts") + 1)
    try:
        with transaction.atomic():
            ticket: Ticket = _process(submission)
    except Exception as error:
        logger.warning("Web-form submission %s failed: %s", submission.id, error)
        Submission.objects.filter(pk=submission.pk).update(
            status=Submission.Status.FAILED, last_error=stored_error_text(error)[:2000]
        )
        raise
    return ticket


def _process(submission: Submission) -> Ticket:
    identities = [IdentityInput(kind=ContactIdentity.Kind.EMAIL, value=submission.email)]
    if submission.phone:
        identities.append(IdentityInput(kind=ContactIdentity.Kind.PHONE, value=submission.phone))
    subject = submission.category or "お問い合わせ"
    if submission.order_number:
        subject = f"{subject}（注文番号 {submission.order_number}）"
    result = receive_inbound(
        InboundMessage(
            shop_id=submission.shop_id,
            channel=Channel.WEB_FORM,
            external_id=f"webform-{submission.id}",
            body_text=_body(submission),
            identities=identities,
            customer_name=submission.name,
            subject=subject,
            received_at=submission.created_at,
        )
    )
    ticket: Ticket = Ticket.objects.select_related("shop").get(pk=result.ticket.pk)
    if not result.is_duplicate:
        files = list(submission.files.all())
        allowance = Allowance(submission.shop_id, [ticket.id]) if files else None
        for stored in files:
            # A file that does not fit is kept by the submission (`stored.data`).
            attachment_keep(
                message=result.message,
                filename=stored.filename,
                content_type=stored.content_type,
                data=bytes(stored.data),
                allowance=allowance,
            )
        if result.is_new_ticket:
            ack_send(
                ticket=ticket,
                sender=submission.email,
                customer_name=submission.name,
                is_automated=False,
                is_bounce=False,
                in_reply_to="",
                references=(),
            )
    Submission.objects.filter(pk=submission.pk).update(
        status=Submission.Status.PROCESSED,
        ticket=ticket,
        processed_at=timezone.now(),
        last_error="",
    )
    return ticket


def submission_retry_later(submission: Submission) -> None:
    from madoguchi.connectors.webform.tasks import process_submission_task

    enqueue_on_commit(process_submission_task, submission.shop_id, submission.id)


def web_form_for(shop: Shop) -> WebForm:
    form, _ = WebForm.objects.get_or_create(shop=shop)
    return form


@transaction.atomic
def web_form_update(*, actor: Actor, shop: Shop, values: dict[str, object]) -> WebForm:
    """Change the shop's form settings (supervisors and admins of the shop), the privacy
    policy URL its consent box links to included; audited with old and new values."""
    require_staff(actor=actor, shop_id=shop.id)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(
            gettext_noop("Only a supervisor or admin may change the web form.")
        )
    form = web_form_for(shop)
    for origin in str(values.get("allowed_origins", "")).splitlines():
        origin = origin.strip()
        if origin and not origin.startswith(("https://", "http://")):
            raise ValidationError(
                gettext_noop("Each origin starts with https:// (or http://)."),
                field="allowed_origins",
            )
        if any(character in origin for character in " ;,'\""):
            raise ValidationError(
                gettext_noop("An origin may not contain spaces, quotes, commas or semicolons."),
                field="allowed_origins",
            )
    policy_url = str(values.get("privacy_policy_url", ""))
    if policy_url and not policy_url.startswith(("https://", "http://")):
        raise ValidationError(
            gettext_noop("The privacy policy URL starts with https:// (or http://)."),
            field="privacy_policy_url",
        )
    changes = {}
    for name, value in values.items():
        if getattr(form, name) != value:
            changes[name] = [getattr(form, name), value]
            setattr(form, name, value)
    if changes:
        form.save()
        record(
            actor=actor.user,
            action=actions.WEBFORM_SETTINGS_CHANGED,
            target=form,
            shop=shop,
            changes=changes,
        )
    return form


MAX_ATTEMPTS = 5


def submission_sweep(*, now: dt.datetime | None = None) -> int:
    """Queue again submissions whose processing failed or whose task was lost (every shop)."""
    from madoguchi.connectors.webform.tasks import process_submission_task

    now = now or timezone.now()
    rows = list(
        Submission.objects.filter(
            status__in=[Submission.Status.RECEIVED, Submission.Status.FAILED],
            created_at__lt=now - dt.timedelta(minutes=2),
            attempts__lt=MAX_ATTEMPTS,
        ).values_list("shop_id", "id")
    )
    for shop_id, submission_id in rows:
        process_submission_task.enqueue(shop_id, submission_id)
    return len(rows)
