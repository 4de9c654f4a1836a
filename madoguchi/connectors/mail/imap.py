"""Pull mail from the shops' IMAP mailboxes into the inbound pipeline (imapclient).

Per mailbox: select the folder, compare UIDVALIDITY (a change means the UIDs were renumbered:
start again, the unique key keeps already stored mail from coming back as duplicates), read the
sizes of the new UIDs first and never download a mail over the limit (it is quarantined with a
notice instead), download each mail, commit it through `ingest_raw`, and only then flag or move
it and remember its UID. A crash between the commit and the flag fetches the mail again on the
next run, where the unique key turns it into a duplicate: no second ticket, no second
acknowledgement. Two fetchers running at once meet at the same unique key.

Processing is deferred: the rows stored from one group of up to `BATCH` new UIDs (one group per
poll unless more than `BATCH` mails wait) go to one `process_raw_mails_task`, which applies them
in one transaction with a savepoint per mail. Rows stored before an error are still queued; if
the process dies before queueing, the sweeper picks the rows up after its grace period.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
from dataclasses import dataclass

from django.utils import timezone
from imapclient import IMAPClient

from madoguchi.connectors.mail.models import Mailbox, RawMail
from madoguchi.connectors.mail.pipeline import BATCH_SIZE, ingest_raw, ingest_raw_batch
from madoguchi.core.leases import lease_acquire, lease_release
from madoguchi.core.tasks import enqueue_on_commit
from madoguchi.tenancy.scoping import in_shop, unscoped

logger = logging.getLogger(__name__)

PROCESSED_FLAG = b"$MadoguchiProcessed"
BATCH = BATCH_SIZE  # new UIDs per group: stored together, processed by one batch task
# One FETCH downloads the bodies of a group of mails up to this many bytes together.
FETCH_BYTES = 32 * 1024 * 1024


@dataclass
class PollResult:
    stored: int = 0
    duplicates: int = 0
    oversized: int = 0


def mailbox_connect(mailbox: Mailbox, *, timeout: float = 60) -> IMAPClient:
    """Return a client logged in to the mailbox's account (the caller logs out)."""
    is_ssl = mailbox.security == Mailbox.Security.SSL
    context = ssl.create_default_context() if is_ssl else None
    client = IMAPClient(
        mailbox.host, port=mailbox.port, ssl=is_ssl, ssl_context=context, timeout=timeout
    )
    try:
        if mailbox.security == Mailbox.Security.STARTTLS:
            client.starttls(ssl.create_default_context())
        client.login(mailbox.username, mailbox.password)
    except BaseException:
        try:
            client.shutdown()
        except OSError:
            logger.debug("Closing a refused IMAP connection failed", exc_info=True)
        raise
    return client


def _oversize_notice(mailbox: Mailbox, uid_validity: int, uid: int, size: int) -> bytes:
    # A stand-in for the mail we refused to download: it shows in the failed list, and its
    # fixed key makes the notice appear once however often the mailbox is polled.
    return (
        f"Subject: Mail too large ({size} bytes)\r\n"
        f"X-Madoguchi-Oversize: mailbox={mailbox.id} uidvalidity={uid_validity} uid={uid}\r\n"
        f"Message-ID: <oversize.{mailbox.id}.{uid_validity}.{uid}@madoguchi.invalid>\r\n"
        "\r\n"
        f"A mail of {size} bytes in {mailbox} was over the limit of "
        f"{mailbox.max_message_bytes} bytes and was not downloaded.\r\n"
    ).encode()


def _mark_processed(client: IMAPClient, mailbox: Mailbox, uids: list[int]) -> None:
    if mailbox.processed_folder:
        client.move(uids, mailbox.processed_folder)
    else:
        client.add_flags(uids, [b"\\Seen", PROCESSED_FLAG])


def _by_total_size(uids: list[tuple[int, int]]) -> list[list[int]]:
    """Group (uid, size) pairs, in order, so that one FETCH downloads at most `FETCH_BYTES`."""
    groups: list[list[int]] = []
    total = 0
    for uid, size in uids:
        if not groups or (total + size > FETCH_BYTES and groups[-1]):
            groups.append([])
            total = 0
        groups[-1].append(uid)
        total += size
    return groups


def _queue_processing(shop_id: int, raw_mail_ids: list[int]) -> None:
    from madoguchi.connectors.mail.tasks import process_raw_mails_task

    if raw_mail_ids:
        enqueue_on_commit(process_raw_mails_task, shop_id, list(raw_mail_ids))
        raw_mail_ids.clear()


def mailbox_poll(*, mailbox: Mailbox, client: IMAPClient | None = None) -> PollResult:
    """Pull the new mail of one mailbox (inside the mailbox's shop scope)."""
    result = PollResult()
    own_client = client is None
    client = client or mailbox_connect(mailbox)
    stored_ids: list[int] = []  # stored in this group, not yet queued for processing
    try:
        info = client.select_folder(mailbox.folder)
        uid_validity = int(info[b"UIDVALIDITY"])
        last_seen = mailbox.last_seen_uid
        if mailbox.uid_validity != uid_validity:
            last_seen = 0
            Mailbox.objects.filter(pk=mailbox.pk).update(uid_validity=uid_validity, last_seen_uid=0)
        # `N:*` always matches the highest UID, even below N: filter again.
        criteria = ["UID", f"{last_seen + 1}:*", "NOT", "DELETED", "NOT", "KEYWORD",
                    PROCESSED_FLAG.decode()]  # fmt: skip
        uids = sorted(uid for uid in client.search(criteria) if uid > last_seen)
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            sizes = client.fetch(batch, ["RFC822.SIZE"])
            wanted: list[tuple[int, int]] = []
            for uid in batch:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                if size <= mailbox.max_message_bytes:
                    wanted.append((uid, size))
                    continue
                raw = _oversize_notice(mailbox, uid_validity, uid, size)
                stored = ingest_raw(shop_ids=[mailbox.shop_id], raw=raw, source="imap",
                                    process=False)  # fmt: skip
                RawMail.objects.filter(pk=stored[0].raw_mail_id, attempts=0).update(
                    status=RawMail.Status.FAILED,
                    outcome=RawMail.Outcome.OVERSIZE,
                    last_error=f"Not downloaded: {size} bytes is over the mailbox limit.",
                )
                result.oversized += 1
                _mark_processed(client, mailbox, [uid])
            for group in _by_total_size(wanted):
                fetched = client.fetch(group, ["BODY.PEEK[]"])
                present = [uid for uid in group if fetched.get(uid, {}).get(b"BODY[]") is not None]
                if not present:
                    continue  # expunged meanwhile
                stored_group = ingest_raw_batch(
                    shop_id=mailbox.shop_id,
                    raws=[bytes(fetched[uid][b"BODY[]"]) for uid in present],
                    source="imap",
                )
                for ingested in stored_group:
                    if ingested.is_duplicate:
                        result.duplicates += 1
                    else:
                        result.stored += 1
                        stored_ids.append(ingested.raw_mail_id)
                # Committed: only now may the mails be flagged (a crash before this fetches
                # them again, and the unique key makes them duplicates).
                _mark_processed(client, mailbox, present)
            Mailbox.objects.filter(pk=mailbox.pk, last_seen_uid__lt=batch[-1]).update(
                last_seen_uid=batch[-1]
            )
            _queue_processing(mailbox.shop_id, stored_ids)
        Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now(), last_error="")
    finally:
        if own_client:
            try:
                client.logout()
            except Exception:  # the connection may already be gone
                logger.debug("IMAP logout failed", exc_info=True)
        # Whatever was stored is processed, even when the poll stopped half-way. If queueing
        # fails too (the database is gone), the error the poll stopped with is the one raised:
        # the rows wait for the sweeper.
        try:
            _queue_processing(mailbox.shop_id, stored_ids)
        except Exception:
            logger.exception("Queueing the new mail of mailbox %s failed", mailbox.pk)
    return result


def poll_all_mailboxes(*, holder: str = "poll") -> int:
    """Poll every active mailbox; one failing mailbox does not stop the others."""
    with unscoped("list the active mailboxes of every shop"):
        mailboxes = list(Mailbox.objects.filter(is_active=True).values_list("shop_id", "id"))
    stored = 0
    for shop_id, mailbox_id in mailboxes:
        lease = f"imap:{mailbox_id}"
        if not lease_acquire(name=lease, holder=holder, ttl=dt.timedelta(minutes=10)):
            continue
        try:
            with in_shop(shop_id):
                mailbox = Mailbox.objects.get(pk=mailbox_id)
                try:
                    stored += mailbox_poll(mailbox=mailbox).stored
                except Exception as error:
                    logger.exception("Polling mailbox %s failed", mailbox_id)
                    Mailbox.objects.filter(pk=mailbox_id).update(
                        last_error=f"{type(error).__name__}: {error}"[:2000],
                        last_polled_at=timezone.now(),
                    )
        finally:
            lease_release(name=lease, holder=holder)
    return stored
