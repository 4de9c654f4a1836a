"""The production topology on this machine, for the CI topology test (issue #20).

PostgreSQL + Redis + two web processes + two workers + the scheduler + the SMTP receiver, each a
subprocess started with the production settings the README's production section describes. The
test itself plays the TLS-terminating proxy: it names 127.0.0.1 in MADOGUCHI_TRUSTED_PROXIES and
sends `X-Forwarded-Proto: https`, as docs/deploy/nginx.conf does.

- `Topology` holds the environment and the processes (`start`, `kill`, `stop_all`, log tails).
- `create_database` / `drop_database` make and remove the test's own PostgreSQL database.
- `prepare_shop` runs inside a `madoguchi shell` of that environment after `madoguchi setup`:
  the shop's SMTP address, an operator, and a signed-in session for each person.
- `japanese_mail` builds one customer's mail as Japanese mailers write them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[3]
PRODUCTION_SETTINGS = "madoguchi.config.settings.production"
# The cookie the production settings name the session by (`__Host-`: Secure, path /, no domain).
SESSION_COOKIE = "__Host-sessionid"


def free_port() -> int:
    """Return a loopback TCP port nobody listens on (right now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def is_listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


# Servers --------------------------------------------------------------------------------------


def postgres_problem(url: str) -> str | None:
    """Why PostgreSQL at `url` cannot be used (None when it can)."""
    if not url.startswith(("postgres://", "postgresql://")):
        return "DATABASE_URL does not point at PostgreSQL"
    try:
        import psycopg

        with psycopg.connect(_admin_url(url), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as error:  # any reason it cannot be reached is a reason to skip
        return f"PostgreSQL at {urlsplit(url).netloc} is not reachable: {error}"
    return None


def redis_problem(url: str) -> str | None:
    """Why Redis at `url` cannot be used (None when it can)."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis at {url} is not reachable: {error}"
    return None


def redis_flush(url: str) -> None:
    """Empty the Redis database `url` names (the topology's own number)."""
    import redis

    redis.Redis.from_url(url).flushdb()


def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def database_url(url: str, name: str) -> str:
    """`url` with its database name replaced by `name`."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def create_database(url: str, name: str) -> str:
    """Create the PostgreSQL database `name` on `url`'s server; return its URL."""
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return database_url(url, name)


def drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Processes ------------------------------------------------------------------------------------


@dataclass
class Topology:
    """The environment every process of the topology shares, and the processes started."""

    directory: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def command(self, *arguments: str, timeout: float = 300, stdin: bytes | None = None) -> str:
        """Run `madoguchi <arguments>` to completion; return its standard output."""
        completed = subprocess.run(  # noqa: S603 - fixed argv of our own CLI
            [sys.executable, "-m", "madoguchi", *arguments],
            cwd=REPO_ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            check=False,
            timeout=timeout,
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"`madoguchi {' '.join(arguments)}` failed ({completed.returncode}):\n"
                f"{completed.stdout.decode(errors='replace')[-3000:]}\n"
                f"{completed.stderr.decode(errors='replace')[-3000:]}"
            )
        return completed.stdout.decode()

    def start(self, name: str, *arguments: str) -> subprocess.Popen[bytes]:
        """Start `madoguchi <arguments>` in its own process group, its output in `<name>.log`."""
        with (self.directory / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - fixed argv of our own CLI
                [sys.executable, "-m", "madoguchi", *arguments],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        """SIGKILL the process `name` (and anything it started): no chance to clean up."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        """SIGTERM every running process, then SIGKILL what is left after a grace period."""
        running = [process for process in self.processes.values() if process.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def exited(self) -> list[str]:
        """Names of the processes that ended although nobody stopped them."""
        return [name for name, process in self.processes.items() if process.poll() is not None]

    def logs(self, lines: int = 25) -> str:
        """The last lines of every process's log, for a failure message."""
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            for log in sorted(self.directory.glob("*.log"))
        )

    def wait_for(
        self,
        what: str,
        condition: Callable[[], bool],
        timeout: float,
        *,
        state: Callable[[], object] | None = None,
    ) -> float:
        """Poll `condition` until it holds; return when (monotonic), or fail with the logs
        and what `state()` says (the rows that are not there yet)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return time.monotonic()
            time.sleep(0.05)
        shown = f"\nstate: {state()!r}" if state is not None else ""
        raise AssertionError(
            f"Timed out after {timeout:g} s waiting for {what}{shown}\n{self.logs()}"
        )


def proxied_get(port: int, path: str) -> tuple[int, bytes]:
    """GET `path` from a web process as the TLS proxy forwards it; return status and body."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def is_healthy(port: int) -> bool:
    try:
        status, body = proxied_get(port, "/healthz")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False
    return status == 200 and json.loads(body).get("status") == "ok"


# Mail -----------------------------------------------------------------------------------------

SUBJECTS = ("ご注文の配送について", "返品・交換のお願い", "領収書の発行について", "商品の在庫確認")
BODY = (
    "いつもお世話になっております。{name}です。\n"
    "注文番号 T-{number:05d} の件でご連絡しました。\n"
    "お手数ですが、ご確認のほどよろしくお願いいたします。\n"
)


def mail_subject(number: int) -> str:
    """The subject of the topology's mail `number` (every subject differs)."""
    return f"{SUBJECTS[number % len(SUBJECTS)]}（問い合わせ{number:03d}）"


def mail_message_id(number: int) -> str:
    return f"topology-{number:03d}@customer.example.jp"


def japanese_mail(*, number: int, to: str, sent_at: Any) -> tuple[str, bytes]:
    """Return (sender, raw bytes) of one customer's mail as Japanese mailers write it.

    Even numbers are ISO-2022-JP (7bit, the long-standing Japanese mail charset), odd numbers
    UTF-8 in base64; the customer's name is an encoded word either way.
    """
    sender = f"customer{number:03d}@example.jp"
    name = f"山田 花子{number:03d}"
    body = BODY.format(name=name, number=number)
    charset = "iso-2022-jp" if number % 2 == 0 else "utf-8"
    header_charset = "iso-2022-jp" if charset == "iso-2022-jp" else "utf-8"
    if charset == "iso-2022-jp":
        encoded_body = body.encode("iso-2022-jp")
        transfer = "7bit"
    else:
        import base64

        encoded_body = base64.encodebytes(body.encode("utf-8"))
        transfer = "base64"
    headers = [
        f"From: {formataddr((str(Header(name, header_charset).encode()), sender))}",
        f"To: {to}",
        f"Subject: {Header(mail_subject(number), header_charset).encode()}",
        f"Date: {format_datetime(sent_at)}",
        f"Message-ID: <{mail_message_id(number)}>",
        "MIME-Version: 1.0",
        f'Content-Type: text/plain; charset="{charset.upper()}"',
        f"Content-Transfer-Encoding: {transfer}",
    ]
    raw = "\r\n".join(headers).encode("ascii") + b"\r\n\r\n"
    return sender, raw + encoded_body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# Shop set-up (runs inside `madoguchi shell` of the topology) ---------------------------------


def prepare_shop(
    *,
    admin_email: str,
    mail_address: str,
    outgoing_host: str,
    outgoing_port: int,
    operator_email: str,
    operator_password: str,
) -> None:
    """Give the shop `madoguchi setup` made an SMTP address and an operator; print JSON.

    The address receives by SMTP (`madoguchi smtpd`) and sends through `outgoing_host:port`.
    Prints `{"shop_id", "shop_slug", "admin_id", "operator_id", "sessions": {email: key}}`:
    a signed-in session for each person, as the sign-in view leaves it.
    """
    from django.conf import settings
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from madoguchi.accounts.models import User
    from madoguchi.accounts.sessions import session_mark_signed_in, session_store
    from madoguchi.connectors.mail.channel_setup import (
        AddressInput,
        SmtpServerInput,
        mail_address_create,
        smtp_server_create,
    )
    from madoguchi.connectors.mail.models import MailAddress, SmtpServer
    from madoguchi.tenancy.access import actor_for_user
    from madoguchi.tenancy.models import Membership, Shop, ShopAssignment
    from madoguchi.tenancy.scoping import in_shop

    admin = User.objects.get(email=admin_email)
    membership = Membership.objects.get(user=admin)
    shop = Shop.objects.get(workspace=membership.workspace)
    actor = actor_for_user(admin)
    with in_shop(shop.id):
        server = smtp_server_create(
            actor=actor,
            shop=shop,
            data=SmtpServerInput(
                name="topology sink",
                host=outgoing_host,
                port=outgoing_port,
                security=SmtpServer.Security.NONE,
                username="",
                password="",
                is_active=True,
            ),
        )
        mail_address_create(
            actor=actor,
            shop=shop,
            data=AddressInput(
                address=mail_address,
                display_name=shop.name,
                is_default_sender=True,
                is_verified=True,
                inbound_method=MailAddress.InboundMethod.SMTP,
                mailbox=None,
                outbound_server=server,
            ),
        )
    operator = User.objects.create_user(operator_email, operator_password, display_name="佐藤 葵")
    operator_membership = Membership.objects.create(
        user=operator, workspace=membership.workspace, role=Membership.Role.OPERATOR
    )
    ShopAssignment.objects.create(membership=operator_membership, shop=shop)
    # Every admin signs in with two steps, and a new workspace asks them of all its staff:
    # each session has passed the code step.
    sessions = {}
    for user in (admin, operator):
        device = TOTPDevice.objects.create(user=user, name="topology", confirmed=True)
        session = session_store()()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session_mark_signed_in(session)
        session.save()
        sessions[user.email] = session.session_key
    print(
        json.dumps(
            {
                "shop_id": shop.id,
                "shop_slug": shop.slug,
                "admin_id": admin.pk,
                "operator_id": operator.pk,
                "sessions": sessions,
            }
        )
    )


def last_json_line(output: str) -> dict[str, Any]:
    """The last line of `output` that is a JSON object."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise AssertionError(f"No JSON line in:\n{output}")


def shell_call(function: str, **kwargs: Any) -> str:
    """Python for `madoguchi shell -c` that calls `function` of this module with `kwargs`."""
    arguments = json.dumps(kwargs, ensure_ascii=True)
    return (
        "import json; "
        f"from madoguchi.core.testing.topology import {function}; "
        f"{function}(**json.loads({arguments!r}))"
    )
