"""A real ClamAV scanning daemon on loopback for tests (a pytest plugin, see the root conftest).

`clamd` starts Debian's `clamd` (package `clamav-daemon`) in the foreground with its own config
and a signature database of one signature: the EICAR anti-virus test file, which every scanner
recognises by design. A deployment's clamd loads the real databases that `freshclam`
downloads; this environment cannot reach ClamAV's mirrors, and the test only needs a daemon
that really scans (streams, archives, verdicts) and knows one file to flag. Skipped with a
reason when clamd is missing (under CI=true the root conftest turns the skip into a failure).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from madoguchi.core.clamd import ping
from madoguchi.core.testing.mailservers import free_port

CLAMD = "/usr/sbin/clamd"

# The EICAR test file (eicar.org), assembled here so that the source file itself is not one.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!" + b"$H+H*"

CONFIG = """\
TCPSocket {port}
TCPAddr 127.0.0.1
LocalSocket {root}/clamd.sock
DatabaseDirectory {root}/db
Foreground yes
LogFile {root}/clamd.log
PidFile {root}/clamd.pid
StreamMaxLength 2M
{user}
"""


@dataclass(frozen=True)
class ClamdServer:
    """Where the daemon listens: `address` is the `host:port` MADOGUCHI["CLAMD"] takes."""

    port: int
    root: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def socket_path(self) -> str:
        return str(self.root / "clamd.sock")


@pytest.fixture(scope="session")
def clamd() -> Iterator[ClamdServer]:
    """A clamd on a free loopback port (and a unix socket) that flags the EICAR file."""
    if not Path(CLAMD).exists():
        pytest.skip("ClamAV's daemon is not installed (Debian package clamav-daemon)")
    root = Path(tempfile.mkdtemp(prefix="clam", dir="/tmp"))
    (root / "db").mkdir()
    # A body signature (ClamAV's .ndb format: name, any file type, any offset, hex bytes).
    (root / "db" / "madoguchi-test.ndb").write_text(f"Madoguchi.Test.EICAR:0:*:{EICAR.hex()}\n")
    port = free_port()
    user = "User root" if os.geteuid() == 0 else ""
    config = root / "clamd.conf"
    config.write_text(CONFIG.format(port=port, root=root, user=user))
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [CLAMD, "--config-file", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = ClamdServer(port=port, root=root)
    try:
        deadline = time.monotonic() + 60
        while not ping(server.address, timeout=1.0):
            if process.poll() is not None or time.monotonic() > deadline:
                log = root / "clamd.log"
                pytest.fail(f"clamd did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
