"""The periodic analytics job: apply every shop's new events to the facts."""

from madoguchi.analytics.services import analytics_apply_new_events
from madoguchi.core.tasks import task


@task()
def analytics_apply_task() -> int:
    """Apply new events to the analytics facts; return how many (idempotent)."""
    return analytics_apply_new_events()
