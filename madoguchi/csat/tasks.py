"""Background work of CSAT: the periodic sending of due surveys."""

from __future__ import annotations

from madoguchi.core.tasks import task


@task()
def send_due_surveys_task() -> int:
    """Send the due surveys of every shop with CSAT on; return how many were sent or skipped."""
    from madoguchi.csat.services import surveys_send_due

    return surveys_send_due()
