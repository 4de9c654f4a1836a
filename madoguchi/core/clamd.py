"""A client for ClamAV's scanning daemon (clamd): send bytes, learn whether they carry malware.

clamd is Debian's `clamav-daemon`; its signatures come from `freshclam`. We speak its documented
INSTREAM command (clamd(8)): `zINSTREAM\\0`, then chunks each prefixed with its length as a
4-byte big-endian integer, then a zero length; the daemon answers `stream: OK\\0`,
`stream: <signature> FOUND\\0` or `... ERROR\\0`. The Python clients on PyPI (clamd, pyclamd)
have not had a release for years, and the protocol is these few lines.

`MADOGUCHI["CLAMD"]` names the daemon: a unix socket path (`/run/clamav/clamd.ctl`) or
`host:port` (`127.0.0.1:3310`); empty means no scanner is configured. Anything that keeps us from
a verdict (no daemon, a timeout, an over-size stream, an ERROR answer) raises
`ScannerUnavailableError`: such a file is "not scanned", never "clean".
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.core import checks

CHUNK = 64 * 1024
TIMEOUT = 30.0  # seconds for one file: clamd unpacks archives


class ScannerUnavailableError(Exception):
    """No verdict: the daemon is missing, slow, or refused the stream (the reason says)."""


@dataclass(frozen=True)
class Verdict:
    """A scan's answer: `signature` names what was found; empty means nothing was."""

    signature: str = ""

    @property
    def is_infected(self) -> bool:
        return bool(self.signature)


def configured_address() -> str:
    """Where clamd listens, from the settings; empty when no scanner is configured."""
    return str(settings.MADOGUCHI.get("CLAMD", "")).strip()


def _connect(address: str, timeout: float) -> socket.socket:
    if address.startswith("/"):
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(timeout)
        connection.connect(address)
        return connection
    host, _, port = address.rpartition(":")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def _answer(connection: socket.socket) -> str:
    received = b""
    while not received.endswith(b"\0"):
        chunk = connection.recv(4096)
        if not chunk:
            break
        received += chunk
    return received.rstrip(b"\0").decode("utf-8", "replace").strip()


def ping(address: str, *, timeout: float = 5.0) -> bool:
    """Whether the daemon at `address` answers PING."""
    try:
        with _connect(address, timeout) as connection:
            connection.sendall(b"zPING\0")
            return _answer(connection) == "PONG"
    except OSError:
        return False


def scan(stream: BinaryIO, *, address: str, timeout: float = TIMEOUT) -> Verdict:
    """Stream the file to clamd and return its verdict; raise `ScannerUnavailableError` when there
    is none."""
    try:
        with _connect(address, timeout) as connection:
            connection.sendall(b"zINSTREAM\0")
            while chunk := stream.read(CHUNK):
                connection.sendall(struct.pack(">I", len(chunk)) + chunk)
            connection.sendall(struct.pack(">I", 0))
            answer = _answer(connection)
    except (OSError, ValueError) as error:
        # A stream over clamd's StreamMaxLength makes it answer and close while we still send.
        raise ScannerUnavailableError(f"clamd at {address}: {error}") from error
    text = answer.removeprefix("stream:").strip()
    if text == "OK":
        return Verdict()
    if text.endswith(" FOUND"):
        return Verdict(signature=text.removesuffix(" FOUND").strip())
    raise ScannerUnavailableError(f"clamd at {address} answered: {answer or 'nothing'}")


def check_malware_scanner(
    app_configs: object = None, **kwargs: object
) -> list[checks.CheckMessage]:
    """The deploy check: received files are scanned by a daemon that answers."""
    address = configured_address()
    if not address:
        return [
            checks.Warning(
                "No malware scanner is configured: received files are kept as not scanned.",
                hint="Install clamav-daemon and set MADOGUCHI_CLAMD to its socket or host:port.",
                id="madoguchi.W081",
            )
        ]
    if not ping(address):
        return [
            checks.Warning(
                f"The malware scanner at {address} does not answer.",
                hint="Start clamav-daemon (its signatures come from freshclam).",
                id="madoguchi.W081",
            )
        ]
    return []
