"""The scheduled run of the monthly client reports."""

from madoguchi.core.tasks import task
from madoguchi.reports.services import monthly_reports_run


@task()
def monthly_reports_task() -> int:
    """Generate and mail the reports due now; return how many were made (idempotent)."""
    return len(monthly_reports_run())
