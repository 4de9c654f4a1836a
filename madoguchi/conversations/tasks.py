"""Background work on tickets' files: the malware scan (conversations.scanning)."""

from __future__ import annotations

from madoguchi.core.tasks import task
from madoguchi.tenancy.scoping import in_shop, unscoped


@task()
def attachments_scan_task(shop_id: int) -> int:
    """Scan the shop's waiting files; return how many were judged."""
    from madoguchi.conversations.scanning import attachments_scan

    with in_shop(shop_id):
        run = attachments_scan()
    return run.clean + run.infected


@task()
def attachments_scan_sweep_task() -> int:
    """Take up the files of every shop still waiting for the scanner (a lost task, an outage)."""
    from madoguchi.conversations.scanning import attachments_scan

    with unscoped("the scan sweep reads each waiting file's own shop"):
        run = attachments_scan()
    return run.clean + run.infected
