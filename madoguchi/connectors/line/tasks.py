"""Background work of the LINE channel; tasks take ids and re-enter the shop scope."""

from __future__ import annotations

from madoguchi.core.tasks import task
from madoguchi.tenancy.scoping import in_shop, unscoped


@task()
def process_webhook_task(shop_id: int, webhook_id: int) -> str:
    from madoguchi.connectors.line.processing import webhook_process

    with in_shop(shop_id):
        return webhook_process(webhook_id=webhook_id)


@task()
def send_line_task(shop_id: int, outbound_id: int) -> str:
    from madoguchi.connectors.line.sending import outbound_send

    with in_shop(shop_id):
        return outbound_send(outbound_id=outbound_id)


@task()
def sweep_line_task() -> dict[str, int]:
    from madoguchi.connectors.line.processing import webhook_sweep
    from madoguchi.connectors.line.sending import outbound_sweep

    with unscoped("sweep the LINE work of every shop"):
        webhooks = webhook_sweep()
        outbound = outbound_sweep()
    return {"webhooks_requeued": webhooks, **outbound}
