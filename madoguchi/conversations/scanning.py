"""Malware scanning of received files (security checklist case 58).

Every attachment a customer sends (mail, web form, LINE) is stored first and scanned after:
`scan_after_commit` queues `attachments_scan_task` for the shop once the files are committed,
and the periodic `attachments_scan_sweep_task` takes up whatever is still waiting (a lost task,
a scanner that was down). The scanner is ClamAV's daemon (`core.clamd`).

A file with malware found is kept (the raw mail keeps it anyway) but is never served: the ticket
page says what was found, and only a supervisor or admin of the shop may download it, giving a
reason that goes into the audit log (`conversations.views.ticket_attachment_release`). A file
the scanner could not judge stays "waiting" and is retried; when no scanner is configured it is
"not scanned". Neither is ever shown as clean.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils import timezone

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.models import Attachment
from madoguchi.core.clamd import ScannerUnavailableError, configured_address, scan
from madoguchi.core.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

BATCH = 200  # files per run; the sweep takes up the rest

Status = Attachment.ScanStatus


@dataclass(frozen=True)
class ScanRun:
    """What one run did: files judged clean or infected, left waiting, or marked not scanned."""

    clean: int = 0
    infected: int = 0
    waiting: int = 0
    not_scanned: int = 0


def scan_after_commit(shop_id: int) -> None:
    """Queue a scan of the shop's waiting files once the current transaction commits."""
    if configured_address():
        from madoguchi.conversations.tasks import attachments_scan_task

        enqueue_on_commit(attachments_scan_task, shop_id=shop_id)


def attachments_scan(*, limit: int = BATCH) -> ScanRun:
    """Scan the waiting attachments the current scope sees, oldest first.

    Without a configured scanner they become "not scanned". When the scanner stops answering
    the run ends and the rest keep waiting for the next one.
    """
    waiting = Attachment.objects.filter(scan_status=Status.PENDING).order_by("id")
    address = configured_address()
    if not address:
        marked = Attachment.objects.filter(
            pk__in=list(waiting.values_list("pk", flat=True)[:limit])
        )
        return ScanRun(not_scanned=marked.update(scan_status=Status.NOT_SCANNED))
    clean = infected = 0
    rows = list(waiting.select_related("shop")[:limit])
    for position, attachment in enumerate(rows):
        try:
            with attachment.file.open("rb") as stream:
                verdict = scan(stream, address=address)
        except FileNotFoundError:
            logger.error("Attachment %s is missing from storage; not scanned", attachment.pk)
            Attachment.objects.filter(pk=attachment.pk).update(scan_status=Status.NOT_SCANNED)
            continue
        except ScannerUnavailableError as error:
            logger.warning("Malware scan stopped, %d file(s) wait: %s", len(rows) - position, error)
            return ScanRun(clean=clean, infected=infected, waiting=len(rows) - position)
        _verdict_save(attachment, verdict.signature)
        if verdict.is_infected:
            infected += 1
        else:
            clean += 1
    return ScanRun(clean=clean, infected=infected)


def _verdict_save(attachment: Attachment, signature: str) -> None:
    status = Status.INFECTED if signature else Status.CLEAN
    saved = Attachment.objects.filter(pk=attachment.pk, scan_status=Status.PENDING).update(
        scan_status=status, scan_signature=signature[:200], scanned_at=timezone.now()
    )
    if not signature or not saved:  # clean, or another run judged it first
        return
    logger.warning(
        "Malware found in attachment %s of shop %s: %s",
        attachment.pk,
        attachment.shop_id,
        signature,
    )
    record(
        actor=None,
        action=actions.ATTACHMENT_MALWARE_FOUND,
        target=attachment,
        shop=attachment.shop,
        changes={
            "message": attachment.message_id,
            "filename": attachment.filename,
            "sha256": attachment.sha256,
            "signature": signature,
        },
    )
