"""Periodic operations work: route new tickets, follow SLA clocks, sweep for breaches."""

from madoguchi.core.tasks import task
from madoguchi.operations.services import (
    REFRESH_BATCH,
    route_new_tickets,
    sla_check_breaches,
    sla_check_warnings,
    sla_process_new_events,
    sla_refresh_open_tickets,
)
from madoguchi.tenancy.scoping import in_shop


@task()
def process_operations() -> dict[str, int]:
    """Route new tickets, refresh SLAs of tickets with new events, warn before and escalate at
    breaches."""
    routed = route_new_tickets()
    refreshed = 0
    while count := sla_process_new_events():
        refreshed += count
    return {
        "routed": routed,
        "refreshed": refreshed,
        "warned": sla_check_warnings(),
        "breached": sla_check_breaches(),
    }


@task()
def refresh_shop_slas(shop_id: int, batch_size: int = REFRESH_BATCH) -> int:
    """Recompute the SLA measures of the shop's unsolved tickets after its policies or calendar
    changed, batch by batch; return how many tickets (idempotent: a rerun computes the same)."""
    refreshed = 0
    last_id = 0
    with in_shop(shop_id):
        while batch := sla_refresh_open_tickets(
            shop_id=shop_id, after_id=last_id, limit=batch_size
        ):
            refreshed += len(batch)
            last_id = batch[-1]
    return refreshed
