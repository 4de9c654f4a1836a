"""Re-queue the LINE replies a dead worker was sending, at once (core.workers, ADR 0016).

As the sweep does after SENDING_TIMEOUT, with the same retry key: LINE drops the repeat of a push
it already accepted. A conditional UPDATE on (status, claimed_by) hands each row back once; the
dead worker's re-queued task (or the sweep) sends it. Webhook deliveries need no hook: they stay
"received" until processed, and the re-queued task processes them.
"""

from django.utils import timezone

from madoguchi.connectors.line.models import LineOutbound
from madoguchi.tenancy.scoping import unscoped


def line_outbound_recover(worker_id: str) -> int:
    """Put the replies the dead worker was sending back in the queue; return how many."""
    with unscoped("re-queue the LINE replies a dead worker claimed"):
        return LineOutbound.objects.filter(
            status=LineOutbound.Status.SENDING, claimed_by=worker_id
        ).update(
            status=LineOutbound.Status.QUEUED,
            claimed_by="",
            next_attempt_at=timezone.now(),
            method=LineOutbound.Method.PUSH,
        )
