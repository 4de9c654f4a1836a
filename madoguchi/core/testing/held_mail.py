"""A task for the RQ crash-recovery test (core/tests/test_rq_backend.py): it runs in a real
worker process, so it lives in an importable module rather than in the test."""

import time
from pathlib import Path

from django.db.models import F
from django.utils import timezone

from madoguchi.core.tasks import task
from madoguchi.core.workers import current_worker_id
from madoguchi.tenancy.scoping import in_shop


@task()
def hold_then_process_raw_mail(
    journal: str, hold_seconds: float, shop_id: int, raw_mail_id: int
) -> str:
    """First run: claim the mail as the pipeline does, then hold (to be killed). Later runs:
    process it with the real pipeline; return its status.

    The journal gets "start <worker>" for every run and "done <worker>" when a run finished
    (O_APPEND, one line a write, so two processes' lines never interleave).
    """
    from madoguchi.connectors.mail.models import RawMail
    from madoguchi.connectors.mail.pipeline import raw_mail_process_waiting

    path = Path(journal)
    earlier = path.read_text().count("start ") if path.exists() else 0
    with path.open("a") as output:
        output.write(f"start {current_worker_id()}\n")
    with in_shop(shop_id):
        if earlier == 0:
            # The claim of `pipeline.raw_mail_process`, then a worker that hangs holding it.
            RawMail.objects.filter(pk=raw_mail_id, status=RawMail.Status.RECEIVED).update(
                status=RawMail.Status.PROCESSING,
                processing_started_at=timezone.now(),
                claimed_by=current_worker_id(),
                attempts=F("attempts") + 1,
            )
            time.sleep(hold_seconds)
            return "held"
        status = raw_mail_process_waiting(shop_id=shop_id, raw_mail_id=raw_mail_id)
    with path.open("a") as output:
        output.write(f"done {current_worker_id()}\n")
    return status
