"""Attachments leaving the system: the type a download is labelled with, and its audit record.

A download is personal data leaving Madoguchi, so each one is in the audit log: a shop must be
able to trace what an outside agency took from its workspace.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.core.files import File
from django.db import transaction
from django.utils.translation import gettext

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.errors import NotFoundError, PermissionDeniedError, ValidationError

if TYPE_CHECKING:
    from madoguchi.conversations.models import Attachment
    from madoguchi.tenancy.access import Actor

logger = logging.getLogger(__name__)

# Types a browser may be told: harmless even if the stored type was a customer's lie, since the
# download is always `Content-Disposition: attachment` and sandboxed. Anything else (text/html,
# image/svg+xml, application/javascript, ...) is labelled application/octet-stream.
SAFE_CONTENT_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
    }
)
FALLBACK_CONTENT_TYPE = "application/octet-stream"


def served_content_type(content_type: str) -> str:
    """Return the media type to send for a stored content type: an allowed one, or octet-stream.

    Parameters (`; charset=...`) are dropped: the file is downloaded, never rendered.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type if media_type in SAFE_CONTENT_TYPES else FALLBACK_CONTENT_TYPE


@transaction.atomic
def attachment_download(
    *,
    actor: Actor,
    attachment: Attachment,
    ip_address: str | None = None,
    release_reason: str = "",
) -> File[bytes]:
    """Open the attachment's stored file for reading and record the download in the audit log.

    The caller streams and closes the returned file. A file missing from storage is logged and
    raised as `NotFoundError`; nothing left the system then, so nothing is audited. A file in
    which malware was found leaves only for a supervisor or admin of its shop who gives a
    reason (`release_reason`, audited as `attachment.released`); otherwise
    `PermissionDeniedError`.
    """
    if attachment.is_infected:
        if not actor.is_lead_for(attachment.shop_id):
            raise PermissionDeniedError(gettext("Only a supervisor may download this file."))
        if not release_reason.strip():
            raise ValidationError(gettext("Say why you need the file."))
    if attachment.withheld:
        raise NotFoundError("Attachment not stored")  # the ticket page says why
    if not attachment.file.name:
        logger.error(
            "Attachment %s (shop %s) has no stored file", attachment.pk, attachment.shop_id
        )
        raise NotFoundError("Attachment not found")
    stored: File[bytes] = attachment.file
    try:
        stored.open("rb")
    except FileNotFoundError:
        logger.error(
            "Attachment %s (shop %s) is missing from storage: %s",
            attachment.pk,
            attachment.shop_id,
            attachment.file.name,
        )
        raise NotFoundError("Attachment not found") from None
    try:
        changes: dict[str, object] = {
            "message": attachment.message_id,
            "filename": attachment.filename,
            "size": attachment.size,
            "sha256": attachment.sha256,
        }
        if attachment.is_infected:
            changes.update(signature=attachment.scan_signature, reason=release_reason.strip())
        record(
            actor=actor.user,
            action=(
                actions.ATTACHMENT_RELEASED
                if attachment.is_infected
                else actions.ATTACHMENT_DOWNLOADED
            ),
            target=attachment,
            shop=attachment.shop,
            changes=changes,
            ip_address=ip_address,
        )
    except BaseException:
        stored.close()
        raise
    return stored
