"""Hand back the mail rows a dead worker claimed, at once rather than after the sweeps' timeouts.

Registered with core.workers (ADR 0016). Each hand-back is a conditional UPDATE on the row's
state and `claimed_by`, so a row its worker finished after all is left alone. Rows claimed
without a worker ("") stay with the sweeps' timeouts (PROCESSING_TIMEOUT, SENDING_TIMEOUT).
"""

from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.connectors.mail.models import OutboundMail, RawMail
from madoguchi.connectors.mail.pipeline import BATCH_SIZE, MAX_ATTEMPTS
from madoguchi.connectors.mail.sending import DELIVERY_UNKNOWN, _message_status
from madoguchi.conversations.models import Message
from madoguchi.core.tasks import enqueue_on_commit
from madoguchi.tenancy.scoping import unscoped

WORKER_DIED = gettext_noop("The worker stopped while processing this mail.")
# Handed-back mail has waited longest: where the backend orders by priority, its task goes
# before the queue that built up meanwhile (acknowledgements, later mail). Default is 0.
RECOVERY_PRIORITY = 10


def raw_mail_recover(worker_id: str) -> int:
    """Put the mails the dead worker was processing back to "received" and queue them again.

    The dead worker's re-queued task finds only its own row: the other rows of its batch had
    their own tasks already (they ended finding the rows taken), and a handed-back row is no
    longer fresh, so no later task takes it up. Each shop's handed-back rows therefore get a
    batch task of their own (after commit), instead of waiting for the next sweep.
    """
    from madoguchi.connectors.mail.tasks import process_raw_mails_task

    task_obj = process_raw_mails_task
    if task_obj.get_backend().supports_priority:
        task_obj = task_obj.using(priority=RECOVERY_PRIORITY)
    now = timezone.now()
    handed_back = 0
    to_process: dict[int, list[int]] = {}
    with unscoped("hand back the inbound mail a dead worker claimed"):
        rows = RawMail.objects.filter(
            status=RawMail.Status.PROCESSING, claimed_by=worker_id
        ).values_list("pk", "shop_id", "attempts")
        for pk, shop_id, attempts in list(rows):
            next_status = (
                RawMail.Status.RECEIVED if attempts < MAX_ATTEMPTS else RawMail.Status.FAILED
            )
            updated = RawMail.objects.filter(
                pk=pk, status=RawMail.Status.PROCESSING, claimed_by=worker_id
            ).update(status=next_status, claimed_by="", next_attempt_at=now, last_error=WORKER_DIED)
            handed_back += updated
            if updated and next_status == RawMail.Status.RECEIVED and shop_id is not None:
                to_process.setdefault(shop_id, []).append(pk)
    for shop_id, raw_mail_ids in to_process.items():
        for start in range(0, len(raw_mail_ids), BATCH_SIZE):
            enqueue_on_commit(task_obj, shop_id, raw_mail_ids[start : start + BATCH_SIZE])
    return handed_back


def outbound_recover(worker_id: str) -> int:
    """Settle the mails the dead worker was sending as "delivery unknown", never resend them.

    The SMTP server may have accepted the mail before the worker died (sending.py's module doc).
    """
    settled = 0
    with unscoped("settle the outbound mail a dead worker claimed"):
        claimed = OutboundMail.objects.filter(
            status=OutboundMail.Status.SENDING, claimed_by=worker_id
        )
        for outbound in list(claimed):
            updated = OutboundMail.objects.filter(
                pk=outbound.pk, status=OutboundMail.Status.SENDING, claimed_by=worker_id
            ).update(status=OutboundMail.Status.FAILED, last_error=DELIVERY_UNKNOWN)
            if updated:
                _message_status(outbound, Message.DeliveryStatus.FAILED, error=DELIVERY_UNKNOWN)
                settled += 1
    return settled
