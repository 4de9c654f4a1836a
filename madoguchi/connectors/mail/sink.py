"""A local SMTP sink for the demo (`madoguchi serve --mail-sink 127.0.0.1:1025`).

It accepts every mail and delivers nothing: each one is written as an .eml file under
`<data dir>/mail-sink/`, so the demo's replies really go out by SMTP (and show as sent) without
reaching anybody. Nothing else is kept. Never meant for production: it would swallow real mail.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings

logger = logging.getLogger(__name__)


def sink_directory() -> Path:
    return Path(settings.DATA_DIR) / "mail-sink"


class SinkHandler:
    """aiosmtpd handler: accept any recipient, write the mail to a file, answer 250."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bytes(content))
        except OSError:
            logger.exception("The mail sink could not store a mail")
            return "451 4.3.0 Could not store the mail"
        logger.info("Mail sink: %s -> %s stored as %s", envelope.mail_from, envelope.rcpt_tos, path)
        return f"250 2.0.0 Ok: stored as {path.name} (mail sink, not delivered)"


def parse_address(value: str) -> tuple[str, int]:
    """Return (host, port) from "host:port"; raise ValueError when it is not one."""
    host, separator, port = value.rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def make_sink(*, host: str, port: int, directory: Path | None = None) -> Controller:
    """Return a (not yet started) sink bound to host:port."""
    return Controller(
        SinkHandler(directory or sink_directory()),
        hostname=host,
        port=port,
        decode_data=False,
        ident="Madoguchi mail sink",
    )
