"""How much of a customer's files a shop keeps: per file, per ticket, per shop (case 56).

The limits are the deployment's (the storage is the operator's, not the shop's):
`MADOGUCHI["ATTACHMENT_MAX_BYTES"]` per file, `ATTACHMENT_TICKET_MAX_BYTES` per ticket and
`SHOP_STORAGE_MAX_BYTES` per shop (0: no limit). A received file that does not fit, or is empty,
is not stored: its attachment row stays, without a file, saying why (`Attachment.withheld`), so
the ticket shows what the customer sent. Its bytes are not lost: the raw mail or the web-form
submission keeps them; a LINE media file can be fetched again from LINE while LINE keeps it.

A shop's use is the sum of its stored files, read once per `Allowance` (one per ingest batch)
and cached for `USAGE_SECONDS`, so a busy shop does not sum its files for every mail; files
stored meanwhile are added to the cached figure.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum

from madoguchi.conversations.models import Attachment, Message

logger = logging.getLogger(__name__)

USAGE_SECONDS = 300

Withheld = Attachment.Withheld


def _limit(name: str) -> int:
    return int(settings.MADOGUCHI.get(name, 0) or 0)


def _usage_key(shop_id: int) -> str:
    return f"storage-used:{shop_id}"


def shop_storage_used(shop_id: int) -> int:
    """Bytes of the shop's stored files (cached for a few minutes)."""
    used = cache.get(_usage_key(shop_id))
    if used is None:
        total = Attachment.objects.filter(shop_id=shop_id, withheld="").aggregate(
            total=Sum("size")
        )["total"]
        used = int(total or 0)
        cache.set(_usage_key(shop_id), used, USAGE_SECONDS)
    return int(used)


def shop_storage_limit() -> int:
    """The bytes a shop may store; 0 means no limit."""
    return _limit("SHOP_STORAGE_MAX_BYTES")


class Allowance:
    """Room for the files of one ingest batch of a shop: ask `reason` before storing each."""

    def __init__(self, shop_id: int, ticket_ids: Iterable[int]) -> None:
        self.shop_id = shop_id
        self.file_limit = _limit("ATTACHMENT_MAX_BYTES")
        self.ticket_limit = _limit("ATTACHMENT_TICKET_MAX_BYTES")
        self.shop_limit = shop_storage_limit()
        self.shop_used = shop_storage_used(shop_id) if self.shop_limit else 0
        self.ticket_used: dict[int, int] = {}
        ids = set(ticket_ids)
        if self.ticket_limit and ids:
            rows = (
                Attachment.objects.filter(shop_id=shop_id, message__ticket_id__in=ids, withheld="")
                .values_list("message__ticket_id")
                .annotate(total=Sum("size"))
            )
            self.ticket_used = {ticket_id: int(total or 0) for ticket_id, total in rows}

    def reason(self, *, ticket_id: int, size: int) -> str:
        """Why a file of `size` bytes may not be stored on the ticket ("" when it may); a file
        that may is counted."""
        if size <= 0:
            return Withheld.EMPTY
        if self.file_limit and size > self.file_limit:
            return Withheld.FILE_LIMIT
        used = self.ticket_used.get(ticket_id, 0)
        if self.ticket_limit and used + size > self.ticket_limit:
            return Withheld.TICKET_LIMIT
        if self.shop_limit and self.shop_used + size > self.shop_limit:
            return Withheld.SHOP_LIMIT
        self.ticket_used[ticket_id] = used + size
        self.shop_used += size
        return ""

    def stored(self, size: int) -> None:
        """Add stored bytes to the cached use once the files are committed."""
        if size:
            transaction.on_commit(lambda: _add_usage(self.shop_id, size))


def _add_usage(shop_id: int, size: int) -> None:
    with contextlib.suppress(ValueError):  # not cached: the next reader sums the files
        cache.incr(_usage_key(shop_id), size)


def attachment_row(
    *,
    message: Message,
    filename: str,
    content_type: str,
    size: int,
    sha256: str,
    content: bytes | None,
    allowance: Allowance,
) -> Attachment:
    """An unsaved attachment of `message` whose file is stored when it fits the limits; else
    the row says why and has no file. `content` None: the bytes were not kept (over the
    parser's own limit)."""
    reason = (
        allowance.reason(ticket_id=message.ticket_id, size=size)
        if content is not None
        else Withheld.FILE_LIMIT
    )
    attachment = Attachment(
        shop_id=message.shop_id,
        message=message,
        filename=filename[:255] or "attachment",
        content_type=content_type[:127] or "application/octet-stream",
        size=size,
        sha256=sha256,
        withheld=reason,
    )
    if reason:
        logger.warning(
            "Attachment of %s bytes not stored for message %s (%s)", size, message.id, reason
        )
        attachment.scan_status = Attachment.ScanStatus.NOT_SCANNED
    else:
        # The storage name comes from `attachment_upload_to` (random); the display name is data.
        attachment.file.save("attachment", ContentFile(content or b""), save=False)
        allowance.stored(size)
    return attachment


def attachment_keep(
    *,
    message: Message,
    filename: str,
    content_type: str,
    data: bytes,
    allowance: Allowance | None = None,
) -> Attachment:
    """Save one received file of `message` if it fits (else its row, saying why) and have it
    scanned; pass the batch's `allowance` when saving several."""
    from madoguchi.conversations.scanning import scan_after_commit

    attachment = attachment_row(
        message=message,
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
        allowance=allowance or Allowance(message.shop_id, [message.ticket_id]),
    )
    attachment.save()
    if not attachment.withheld:
        scan_after_commit(message.shop_id)
    return attachment
