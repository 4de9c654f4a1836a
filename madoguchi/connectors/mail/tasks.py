"""Background work of the email channel. Tasks take ids, re-enter the shop scope and are
idempotent; their retry state lives in the `RawMail` and `OutboundMail` rows."""

from __future__ import annotations

from madoguchi.core.tasks import task
from madoguchi.tenancy.scoping import in_shop


@task()
def process_raw_mail_task(shop_id: int, raw_mail_id: int) -> str:
    """Process one stored inbound mail (a no-op when another worker already did), with the
    shop's other mail waiting meanwhile as one batch (`raw_mail_process_waiting`)."""
    from madoguchi.connectors.mail.pipeline import raw_mail_process_waiting

    with in_shop(shop_id):
        return raw_mail_process_waiting(shop_id=shop_id, raw_mail_id=raw_mail_id)


@task()
def process_raw_mails_task(shop_id: int, raw_mail_ids: list[int]) -> dict[str, str]:
    """Process several stored inbound mails of one shop in one worker run (see
    `raw_mail_process_batch`); rows another worker already took are left alone."""
    from madoguchi.connectors.mail.pipeline import raw_mail_process_batch

    with in_shop(shop_id):
        statuses = raw_mail_process_batch(raw_mail_ids=raw_mail_ids)
    return {str(raw_mail_id): status for raw_mail_id, status in statuses.items()}


@task()
def send_outbound_mail_task(shop_id: int, outbound_id: int) -> str:
    """Send one queued mail (a no-op when it is not due or already claimed)."""
    from madoguchi.connectors.mail.sending import outbound_send

    with in_shop(shop_id):
        return outbound_send(outbound_id=outbound_id)


@task()
def poll_mailboxes_task() -> int:
    """Pull new mail from every active IMAP mailbox; return how many mails were stored."""
    from madoguchi.connectors.mail.imap import poll_all_mailboxes

    return poll_all_mailboxes()


@task()
def sweep_mail_task() -> dict[str, int]:
    """Re-queue inbound and outbound mail whose task was lost; settle stale in-flight rows."""
    from madoguchi.connectors.mail.pipeline import raw_mail_sweep
    from madoguchi.connectors.mail.sending import outbound_sweep
    from madoguchi.tenancy.scoping import unscoped

    inbound = raw_mail_sweep()
    with unscoped("sweep the outbox of every shop"):
        outbound = outbound_sweep()
    return {
        "inbound_requeued": inbound["requeued"],
        "inbound_stale": inbound["stale"],
        "outbound_requeued": outbound["requeued"],
        "outbound_stale": outbound["stale"],
    }
