"""Operator-facing writes of the email channel: import past mail, reprocess, retry a failed
send, shop settings. Setting the channel up (addresses, mailboxes, servers) is `channel_setup`."""

from __future__ import annotations

import datetime as dt
import mailbox as mailbox_formats
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.connectors.mail.models import MailSettings, OutboundMail, RawMail
from madoguchi.connectors.mail.pipeline import (
    BATCH_SIZE,
    ingest_raw,
    raw_mail_process_batch,
    raw_mail_reprocess,
    read_written_at,
)
from madoguchi.connectors.mail.sending import outbound_requeue
from madoguchi.conversations.models import Message
from madoguchi.core.errors import ValidationError
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop

TOO_LARGE_TO_IMPORT = gettext_noop(
    "This mail is over the size limit for mail: it was not processed. The original is kept."
)


@dataclass
class ImportSummary:
    """The `mail import` contract; every mail is counted in exactly one of `tickets_created`,
    `messages_appended`, `duplicates`, `automated`, `too_large` and `failed`.

    `tickets_created` counts every ticket the import opened. `too_large` are mails over the
    live path's size limit (`MAIL_MAX_BYTES`): stored raw and marked failed, not processed.
    `resumed` (also counted by their outcome) are mails an earlier, interrupted import of the
    same files had stored or claimed without finishing: this run processed them.
    """

    messages: int = 0
    tickets_created: int = 0
    messages_appended: int = 0
    duplicates: int = 0
    automated: int = 0
    failed: int = 0
    too_large: int = 0
    resumed: int = 0

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

    Every mail is stored raw first (one row each, the crash-safety point); then the stored
    mails are processed in batches in the order they were written (their Date header), so the
    file order of an export does not change which tickets come out. A mail over the live
    path's size limit is stored raw and marked failed without processing. A mail an earlier
    import of the same shop stored or claimed but never finished (the process was killed) is
    resumed, not counted as a duplicate. Runs in the shop's scope; a mail that fails is counted
    and stays in the failed list. Two imports into one shop at the same time are not supported.
    """
    summary = ImportSummary()
    max_bytes: int = settings.MADOGUCHI["MAIL_MAX_BYTES"]
    pending: list[tuple[dt.datetime, int, int]] = []  # (written at, file position, row id)
    stored_now: set[int] = set()
    for position, raw in enumerate(iter_mail_files(paths)):
        summary.messages += 1
        stored = ingest_raw(shop_ids=[shop.id], raw=raw, source=RawMail.Source.IMPORT,
                            process=False)[0]  # fmt: skip
        if stored.is_duplicate:
            if stored.raw_mail_id not in stored_now and _resume(stored.raw_mail_id):
                summary.resumed += 1
                stored_now.add(stored.raw_mail_id)
                pending.append((_written_at(raw), position, stored.raw_mail_id))
            else:
                summary.duplicates += 1
            continue
        stored_now.add(stored.raw_mail_id)
        if len(raw) > max_bytes:
            RawMail.objects.filter(pk=stored.raw_mail_id, attempts=0).update(
                status=RawMail.Status.FAILED,
                outcome=RawMail.Outcome.OVERSIZE,
                last_error=TOO_LARGE_TO_IMPORT,
                next_attempt_at=None,
            )
            summary.too_large += 1
            continue
        pending.append((_written_at(raw), position, stored.raw_mail_id))
    pending.sort()
    for start in range(0, len(pending), BATCH_SIZE):
        ids = [raw_mail_id for _at, _position, raw_mail_id in pending[start : start + BATCH_SIZE]]
        # A batch per worker run: one transaction, each mail in its own savepoint.
        raw_mail_process_batch(raw_mail_ids=ids)
        for row in RawMail.objects.filter(pk__in=ids).only("status", "outcome"):
            if row.outcome == RawMail.Outcome.CREATED:
                summary.tickets_created += 1
            elif row.status in (
                RawMail.Status.FAILED,
                RawMail.Status.RECEIVED,
                RawMail.Status.PROCESSING,
            ):
                summary.failed += 1
            elif row.outcome == RawMail.Outcome.APPENDED:
                summary.messages_appended += 1
            elif row.outcome == RawMail.Outcome.DUPLICATE:
                summary.duplicates += 1
            else:
                summary.automated += 1
    return summary


def _written_at(raw: bytes) -> dt.datetime:
    """The mail's Date; undated or unreadable: after every dated mail."""
    return read_written_at(raw) or dt.datetime.max.replace(tzinfo=dt.UTC)


def _resume(raw_mail_id: int) -> bool:
    """Take back an imported row an interrupted import left unfinished; whether it was one.

    Stored but never claimed (received), or claimed by the killed process (processing): either
    goes back to received for this run. Mail from IMAP or SMTP is left to its own tasks.
    """
    unfinished = RawMail.objects.filter(
        pk=raw_mail_id,
        source=RawMail.Source.IMPORT,
        status__in=(RawMail.Status.RECEIVED, RawMail.Status.PROCESSING),
    )
    return bool(unfinished.update(status=RawMail.Status.RECEIVED, next_attempt_at=timezone.now()))


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
