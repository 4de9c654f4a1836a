"""Background work of billing: the monthly invoice run and the usage alerts, per agency."""

from __future__ import annotations

from django.utils import timezone

from madoguchi.core.tasks import task
from madoguchi.tenancy.scoping import in_workspace, unscoped


def _agencies_with_contracts() -> list[int]:
    from madoguchi.billing.models import Contract

    with unscoped("the periodic billing jobs find the agencies with contracts, then enter each"):
        return sorted(set(Contract.objects.values_list("workspace_id", flat=True)))


@task()
def billing_monthly_run_task() -> int:
    """Draft (or issue) last month's invoices of every agency; return how many were made."""
    from madoguchi.billing.services import monthly_run

    made = 0
    today = timezone.localdate()
    for workspace_id in _agencies_with_contracts():
        with in_workspace(workspace_id):
            made += len(monthly_run(workspace_id=workspace_id, today=today))
    return made


@task()
def billing_usage_alerts_task() -> int:
    """Record the usage alerts newly reached; return how many."""
    from madoguchi.billing.services import usage_alerts_check

    made = 0
    now = timezone.now()
    for workspace_id in _agencies_with_contracts():
        with in_workspace(workspace_id):
            made += len(usage_alerts_check(workspace_id=workspace_id, now=now))
    return made
