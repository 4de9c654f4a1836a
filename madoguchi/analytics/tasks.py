"""The periodic analytics job: apply every shop's new events to the facts."""

from madoguchi.analytics.services import analytics_apply_new_events
from madoguchi.core.tasks import task


@task()
def analytics_apply_task() -> int:
    """Apply new events to the analytics facts and take up lost rebuilds; return how many
    events (idempotent)."""
    from madoguchi.analytics.recompute import facts_rebuild_sweep
    from madoguchi.tenancy.scoping import unscoped

    with unscoped("the requested rebuilds of every shop"):
        facts_rebuild_sweep()
    return analytics_apply_new_events()
