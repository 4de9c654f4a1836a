"""Background work of the privacy app: the daily retention run of every shop."""

from __future__ import annotations

from madoguchi.core.tasks import task
from madoguchi.tenancy.scoping import unscoped


@task()
def retention_run_due_task() -> int:
    """Apply every enabled retention policy; return how many shops ran."""
    from madoguchi.privacy.retention import retention_run_due

    with unscoped("the daily retention run reads every shop's policy, then enters each shop"):
        return len(retention_run_due())
