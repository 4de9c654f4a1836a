"""Real mail servers on loopback for tests (a pytest plugin, registered in the root conftest).

- `dovecot`: a Dovecot IMAP server (Debian `dovecot-imapd`) in the foreground with its own
  config directory, a free port, one passwd-file user and a Maildir in a temporary directory,
  run as a non-root mail user (Dovecot refuses uid 0). Yields a `DovecotServer`: its port, user
  and password, and helpers to append mail to a folder and read flags. Skipped with a reason
  when Dovecot is missing (under CI=true the root conftest turns the skip into a failure).
- `smtp_capture`: an aiosmtpd SMTP server that records every mail it accepts (envelope and
  bytes) and refuses the recipients listed in `refuse`. `smtp_capture_factory()` starts more;
  `smtp_capture_factory(login=("user", "password"))` one that requires that login (AUTH
  PLAIN/LOGIN without TLS, loopback only).

Both work for in-process tests and for a live server in a subprocess (they listen on
127.0.0.1 and know nothing about Django).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from imapclient import IMAPClient

DOVECOT = "/usr/sbin/dovecot"
DOVECOT_USER, DOVECOT_PASSWORD = "tea", "secret-pass"

# Dovecot 2.3 syntax (Debian 12); Debian 13 ships 2.4, which reads another config format.
DOVECOT_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
{login_users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
"""


def free_port() -> int:
    """Return a loopback TCP port nobody listens on (right now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Dovecot ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DovecotServer:
    """A running Dovecot: connect with `client()`, put mail in with `append()`."""

    host: str
    port: int
    user: str
    password: str
    root: Path

    def client(self) -> IMAPClient:
        """Return a logged-in IMAP client (the caller logs out)."""
        client = IMAPClient(self.host, port=self.port, ssl=False)
        client.login(self.user, self.password)
        return client

    def append(self, *mails: bytes, folder: str = "INBOX") -> None:
        """Append raw mails to a folder of the user's mailbox, in order."""
        client = self.client()
        try:
            for raw in mails:
                client.append(folder, raw)
        finally:
            client.logout()

    def create_folder(self, folder: str) -> None:
        client = self.client()
        try:
            client.create_folder(folder)
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> dict[int, set[bytes]]:
        """Return the flags of every mail in the folder, by UID."""
        client = self.client()
        try:
            client.select_folder(folder, readonly=True)
            found = client.fetch(client.search(["ALL"]), ["FLAGS"])
            return {uid: set(data[b"FLAGS"]) for uid, data in found.items()}
        finally:
            client.logout()

    def count(self, folder: str = "INBOX") -> int:
        """Return how many mails the folder holds."""
        client = self.client()
        try:
            return int(client.select_folder(folder, readonly=True)[b"EXISTS"])
        finally:
            client.logout()


def _mail_user() -> tuple[int, int, str]:
    if os.geteuid() != 0:  # running unprivileged: Dovecot runs everything as us
        me = pwd.getpwuid(os.geteuid())
        return (
            me.pw_uid,
            me.pw_gid,
            f"default_login_user = {me.pw_name}\ndefault_internal_user = {me.pw_name}",
        )
    for name in ("mail", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid, ""
    pytest.skip("no non-root user (mail or nobody) for Dovecot's mail_uid")


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None:
                text = log.read_text() if log.exists() else ""
                pytest.fail(f"Dovecot did not start: {text}")
            time.sleep(0.1)
    pytest.fail(f"Dovecot did not listen on 127.0.0.1:{port} in time")


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """A Dovecot IMAP server on a free loopback port with one user (`DOVECOT_USER`)."""
    if not Path(DOVECOT).exists():
        pytest.skip("Dovecot is not installed (Debian package dovecot-imapd)")
    uid, gid, login_users = _mail_user()
    # Short path: Dovecot's unix sockets live in base_dir (108-byte limit).
    root = Path(tempfile.mkdtemp(prefix="dv", dir="/tmp"))
    root.chmod(0o755)
    (root / "mail").mkdir()
    os.chown(root / "mail", uid, gid)
    (root / "passwd").write_text(f"{DOVECOT_USER}:{{PLAIN}}{DOVECOT_PASSWORD}::::::\n")
    port = free_port()
    config = root / "dovecot.conf"
    config.write_text(
        DOVECOT_CONFIG.format(root=root, uid=uid, gid=gid, port=port, login_users=login_users)
    )
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)])  # noqa: S603 - fixed argv
    try:
        _wait_listening(port, process, root / "dovecot.log")
        yield DovecotServer(
            host="127.0.0.1",
            port=port,
            user=DOVECOT_USER,
            password=DOVECOT_PASSWORD,
            root=root,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


# SMTP -------------------------------------------------------------------------------------------


class CapturedMail(NamedTuple):
    """One mail an `SmtpCapture` accepted: the envelope and the bytes as received."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    def message(self) -> EmailMessage:
        """The mail parsed with the modern email policy."""
        parsed = message_from_bytes(self.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpCapture:
    """An aiosmtpd handler that keeps what it receives; refuses recipients listed in `refuse`.

    `host` and `port` say where it listens once started by `smtp_capture_factory`.
    """

    host: str = "127.0.0.1"
    port: int = 0
    received: list[CapturedMail] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    response: str = "250 2.0.0 Ok: queued as TEST1"
    login: tuple[str, str] | None = None
    logins: list[str] = field(default_factory=list)  # user names that signed in

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.login is None:
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        is_ok = (user, password) == self.login
        if is_ok:
            self.logins.append(user)
        return AuthResult(success=is_ok, handled=False)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        self.received.append(
            CapturedMail(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
        )
        return self.response

    def messages(self) -> list[EmailMessage]:
        return [mail.message() for mail in self.received]


@pytest.fixture
def smtp_capture_factory() -> Iterator[Callable[..., SmtpCapture]]:
    """Start SMTP capture servers on free loopback ports; all stop after the test."""
    controllers: list[Controller] = []

    def start(*, login: tuple[str, str] | None = None) -> SmtpCapture:
        handler = SmtpCapture(port=free_port(), login=login)
        options: dict[str, Any] = {}
        if login is not None:
            # Plain AUTH without TLS is what these tests want (loopback only): not a warning.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            options = {
                "authenticator": handler.authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        controller = Controller(handler, hostname=handler.host, port=handler.port, **options)
        controller.start()
        controllers.append(controller)
        return handler

    try:
        yield start
    finally:
        for controller in reversed(controllers):
            controller.stop()


@pytest.fixture
def smtp_capture(smtp_capture_factory: Callable[..., SmtpCapture]) -> SmtpCapture:
    """One SMTP server on loopback that records every mail it receives."""
    return smtp_capture_factory()
