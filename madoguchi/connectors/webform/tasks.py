"""Background work of the web form: a submission whose first processing failed."""

from __future__ import annotations

from madoguchi.core.tasks import task
from madoguchi.tenancy.scoping import in_shop, unscoped


@task()
def process_submission_task(shop_id: int, submission_id: int) -> int | None:
    from madoguchi.connectors.webform.services import submission_process

    with in_shop(shop_id):
        ticket = submission_process(submission_id=submission_id)
        return ticket.id if ticket else None


@task()
def sweep_submissions_task() -> int:
    from madoguchi.connectors.webform.services import submission_sweep

    with unscoped("sweep the web-form submissions of every shop"):
        return submission_sweep()
