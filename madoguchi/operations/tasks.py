"""Periodic operations work: route new tickets, follow SLA clocks, sweep for breaches."""

from madoguchi.core.tasks import task
from madoguchi.operations.services import (
    route_new_tickets,
    sla_check_breaches,
    sla_check_warnings,
    sla_process_new_events,
)


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
