"""Hand back the mail rows a dead worker claimed, at once rather than after the sweeps' timeouts.

Registered with core.workers (ADR 0016). Each hand-back is a conditional UPDATE on the row's
state and `claimed_by`, so a row its worker finished after all is left alone. Rows claimed
without a worker ("") stay with the sweeps' timeouts (PROCESSING_TIMEOUT, SENDING_TIMEOUT).
"""

from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.connectors.mail.models import OutboundMail, RawMail
from madoguchi.connectors.mail.pipeline import MAX_ATTEMPTS
from madoguchi.connectors.mail.sending import DELIVERY_UNKNOWN, _message_status
from madoguchi.conversations.models import Message
from madoguchi.tenancy.scoping import unscoped

WORKER_DIED = gettext_noop("The worker stopped while processing this mail.")


def raw_mail_recover(worker_id: str) -> int:
    """Put the mails the dead worker was processing back to "received" (its task re-runs)."""
    now = timezone.now()
    handed_back = 0
    with unscoped("hand back the inbound mail a dead worker claimed"):
        rows = RawMail.objects.filter(
            status=RawMail.Status.PROCESSING, claimed_by=worker_id
        ).values_list("pk", "attempts")
        for pk, attempts in list(rows):
            next_status = (
                RawMail.Status.RECEIVED if attempts < MAX_ATTEMPTS else RawMail.Status.FAILED
            )
            handed_back += RawMail.objects.filter(
                pk=pk, status=RawMail.Status.PROCESSING, claimed_by=worker_id
            ).update(status=next_status, claimed_by="", next_attempt_at=now, last_error=WORKER_DIED)
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
