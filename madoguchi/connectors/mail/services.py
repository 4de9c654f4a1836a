"""Operator-facing writes of the email channel: import past mail, reprocess, retry a failed
send, shop settings. Setting the channel up (addresses, mailboxes, servers) is `channel_setup`."""

from __future__ import annotations

import mailbox as mailbox_formats
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from django.db import transaction

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.connectors.mail.models import MailSettings, OutboundMail, RawMail
from madoguchi.connectors.mail.pipeline import (
    BATCH_SIZE,
    ingest_raw,
    raw_mail_process_batch,
    raw_mail_reprocess,
)
from madoguchi.connectors.mail.sending import outbound_requeue
from madoguchi.conversations.models import Message
from madoguchi.core.errors import ValidationError
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop


@dataclass
class ImportSummary:
    """The `mail import` contract; every mail is counted in exactly one of the last five."""

    messages: int = 0
    tickets_created: int = 0
    messages_appended: int = 0
    duplicates: int = 0
    automated: int = 0
    failed: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def iter_mail_files(paths: Sequence[Path]) -> Iterator[bytes]:
    """Yield the raw bytes of every mail in .eml files, Maildir folders and mbox files."""
    for path in paths:
        if _is_maildir(path):
            folder = mailbox_formats.Maildir(path, create=False)
            for key in sorted(folder.keys()):
                yield folder.get_bytes(key)
        elif path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file():
                    yield from iter_mail_files([child])
        elif _is_mbox(path):
            box = mailbox_formats.mbox(path, create=False)
            for key in box.iterkeys():
                yield box.get_bytes(key)
        else:
            yield path.read_bytes()


def mail_import(*, shop: Shop, paths: Sequence[Path]) -> ImportSummary:
    """Import past mail into `shop` through the live pipeline (no acknowledgements are sent).

    Runs in the shop's scope; a mail that fails is counted and stays in the failed list.
    """
    summary = ImportSummary()
    pending: list[int] = []

    def process_pending() -> None:
        # A batch per worker run: one transaction, each mail in its own savepoint.
        raw_mail_process_batch(raw_mail_ids=pending)
        rows = RawMail.objects.filter(pk__in=pending).only("status", "outcome")
        for row in rows:
            if row.status in (RawMail.Status.FAILED, RawMail.Status.RECEIVED):
                summary.failed += 1
            elif row.outcome == RawMail.Outcome.CREATED:
                summary.tickets_created += 1
            elif row.outcome == RawMail.Outcome.APPENDED:
                summary.messages_appended += 1
            elif row.outcome == RawMail.Outcome.DUPLICATE:
                summary.duplicates += 1
            else:
                summary.automated += 1
        pending.clear()

    for raw in iter_mail_files(paths):
        summary.messages += 1
        stored = ingest_raw(shop_ids=[shop.id], raw=raw, source=RawMail.Source.IMPORT,
                            process=False)[0]  # fmt: skip
        if stored.is_duplicate:
            summary.duplicates += 1
            continue
        pending.append(stored.raw_mail_id)
        if len(pending) >= BATCH_SIZE:
            process_pending()
    if pending:
        process_pending()
    return summary


@transaction.atomic
def failed_mail_reprocess(*, actor: Actor, raw_mail: RawMail) -> None:
    """Queue a failed mail for another attempt (staff of its shop only)."""
    if raw_mail.shop_id is None:
        raise ValidationError("This mail belongs to no shop.")
    require_staff(actor=actor, shop_id=raw_mail.shop_id)
    if not raw_mail.is_reprocessable:
        raise ValidationError("Only failed mail can be processed again.")
    raw_mail_reprocess(raw_mail=raw_mail)
    record(
        actor=actor.user,
        action=actions.MAIL_REPROCESSED,
        target=raw_mail,
        changes={"idempotency_key": raw_mail.idempotency_key},
    )


@transaction.atomic
def outbound_mail_retry(*, actor: Actor, outbound: OutboundMail) -> None:
    """Queue a failed outgoing mail again, the same bytes and Message-ID (staff of its shop)."""
    require_staff(actor=actor, shop_id=outbound.shop_id)
    if not outbound.is_retryable or not outbound.raw:
        raise ValidationError("Only a failed mail that was composed can be sent again.")
    outbound_requeue(outbound=outbound)
    record(
        actor=actor.user,
        action=actions.MAIL_OUTBOUND_RETRIED,
        target=outbound,
        changes={"status": [outbound.status, OutboundMail.Status.QUEUED]},
    )


def reply_can_retry(message: Message) -> bool:
    """Whether the failed reply `message` was composed and may be queued again."""
    outbound = OutboundMail.objects.filter(message_id=message.id).defer("raw").first()
    return outbound is not None and outbound.is_retryable


def reply_retry(*, actor: Actor, message: Message) -> None:
    """Queue the failed reply `message` again (the ticket page's retry, through conversations)."""
    outbound = OutboundMail.objects.filter(message_id=message.id).first()
    if outbound is None:
        raise ValidationError("Only a failed mail that was composed can be sent again.")
    outbound_mail_retry(actor=actor, outbound=outbound)


@transaction.atomic
def mail_settings_update(
    *,
    actor: Actor,
    shop: Shop,
    is_ack_enabled: bool,
    ack_subject: str,
    ack_body: str,
    is_subject_threading_enabled: bool,
) -> MailSettings:
    """Change the shop's acknowledgement template and threading choice."""
    require_staff(actor=actor, shop_id=shop.id)
    if not actor.is_lead_for(shop.id):
        raise ValidationError("Only a supervisor or admin may change the mail settings.")
    if len(ack_subject) > 255 or len(ack_body) > 10_000:
        raise ValidationError("The acknowledgement is too long.")
    mail_settings, _ = MailSettings.objects.get_or_create(shop=shop)
    changes = {}
    new_values = {
        "is_ack_enabled": is_ack_enabled,
        "ack_subject": " ".join(ack_subject.split()),
        "ack_body": ack_body.replace("\r\n", "\n"),
        "is_subject_threading_enabled": is_subject_threading_enabled,
    }
    for name, value in new_values.items():
        if getattr(mail_settings, name) != value:
            changes[name] = [getattr(mail_settings, name), value]
            setattr(mail_settings, name, value)
    if changes:
        mail_settings.save()
        record(
            actor=actor.user,
            action=actions.MAIL_SETTINGS_CHANGED,
            target=mail_settings,
            shop=shop,
            changes=changes,
        )
    return mail_settings
