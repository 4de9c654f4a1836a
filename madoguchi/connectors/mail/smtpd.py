"""The SMTP receiver for forwarding setups (`madoguchi smtpd`, aiosmtpd).

RCPT TO is mapped to shops through their `MailAddress` rows: an unknown recipient gets 550 and
nothing is stored. DATA is answered 250 only after the raw mail is committed (one row per shop
addressed), so a sender never sees success for mail we could lose; any error answers 451 and the
sender retries. The envelope sender is recorded as `Return-Path`, as a delivering MTA does, so a
null return path (`MAIL FROM:<>`) is recognised as automated mail.
"""

from __future__ import annotations

import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from madoguchi.connectors.mail.pipeline import ingest_raw, shops_for_recipients
from madoguchi.connectors.mail.sending import clean_header

logger = logging.getLogger(__name__)

# Where `madoguchi smtpd` listens unless told otherwise: this machine only, an unprivileged port
# (a local MTA relays to it, or it is started with --host 0.0.0.0 --port 25 to be the MX).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2525


def _shops_for(address: str) -> list[int]:
    close_old_connections()
    return shops_for_recipients([address])


def _store(raw: bytes, mail_from: str, recipients: list[str]) -> int:
    close_old_connections()
    shop_ids = shops_for_recipients(recipients)
    return_path = f"Return-Path: <{clean_header(mail_from).strip('<>')}>\r\n".encode()
    stored = ingest_raw(
        shop_ids=shop_ids,
        raw=return_path + raw,
        source="smtp",
        envelope_recipients=recipients,
    )
    return len(stored)


class MailHandler:
    """aiosmtpd handler: accept recipients of known shops, store the data, then say 250."""

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        shop_ids = await sync_to_async(_shops_for, thread_sensitive=False)(address)
        if not shop_ids:
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        try:
            await sync_to_async(_store, thread_sensitive=False)(
                raw, str(envelope.mail_from or ""), list(envelope.rcpt_tos)
            )
        except Exception:
            logger.exception("Could not store an inbound mail")
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 OK: stored"


def make_controller(*, host: str, port: int) -> Controller:
    """Return a (not yet started) receiver bound to host:port."""
    max_bytes: int = settings.MADOGUCHI["MAIL_MAX_BYTES"]
    return Controller(
        MailHandler(),
        hostname=host,
        port=port,
        data_size_limit=max_bytes,
        decode_data=False,
        ident="Madoguchi",
    )
