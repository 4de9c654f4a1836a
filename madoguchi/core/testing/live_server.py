"""A real Madoguchi process for browser tests: `madoguchi serve` (uvicorn + embedded worker).

The server runs as a subprocess on a free loopback port with its own database: a SQLite file in
a temporary directory, or a freshly created PostgreSQL database when DATABASE_URL points at
PostgreSQL. It is migrated and loaded with the demo data before it starts, and stopped (and its
database dropped) at the end of the session. Each xdist worker that needs one starts its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from madoguchi.core.testing.browser import japanese_context

REPO_ROOT = Path(__file__).resolve().parents[3]
STARTUP_TIMEOUT_SECONDS = 60.0
CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class LiveServer:
    url: str
    log_path: Path

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def _postgres_admin(url: str, statement: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(statement)


def _run(command: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as output:
        completed = subprocess.run(  # noqa: S603 - fixed argv of our own CLI
            [sys.executable, "-m", "madoguchi", *command],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=600,
        )
    if completed.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise RuntimeError(f"`madoguchi {' '.join(command)}` failed:\n{tail}")


def _wait_healthy(url: str, process: subprocess.Popen[bytes], server: LiveServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The live server exited early:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"The live server did not answer /healthz in time:\n{server.log_tail()}")


@contextmanager
def running_server(
    data_dir: Path, *, prepare: list[list[str]], extra_env: dict[str, str] | None = None
) -> Iterator[LiveServer]:
    """Run `madoguchi serve` on its own database in `data_dir` after the `prepare` commands.

    The database is a SQLite file in `data_dir`, or a fresh PostgreSQL database when
    DATABASE_URL points at PostgreSQL (dropped afterwards). `extra_env` adds settings such as
    the SMTP server the process sends through.
    """
    log_path = data_dir / "server.log"
    database_url = os.environ.get("DATABASE_URL", "")
    database_name = ""
    if _is_postgres(database_url):
        database_name = f"madoguchi_live_{uuid.uuid4().hex[:12]}"
        parts = urlsplit(database_url)
        database_url = urlunsplit(parts._replace(path=f"/{database_name}"))
        _postgres_admin(database_url, f'CREATE DATABASE "{database_name}"')
    else:
        database_url = f"sqlite:///{data_dir / 'live.sqlite3'}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "madoguchi.config.settings.local",
        "DATABASE_URL": database_url,
        "MADOGUCHI_DATA_DIR": str(data_dir),
        "DEBUG": "false",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = LiveServer(url=url, log_path=log_path)
    process: subprocess.Popen[bytes] | None = None
    try:
        for command in prepare:
            _run(command, env, log_path)
        with log_path.open("ab") as output:
            process = subprocess.Popen(  # noqa: S603 - fixed argv of our own CLI
                [sys.executable, "-m", "madoguchi", "serve", "--port", str(port)],
                cwd=REPO_ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_healthy(url, process, server)
        yield server
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if database_name:
            _postgres_admin(database_url, f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def asgi_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Start `madoguchi serve` with the demo data on its own database; yield its URL."""
    prepare = [["migrate", "--noinput"], ["demo_seed"]]  # static files: no collectstatic
    with running_server(tmp_path_factory.mktemp("live-server"), prepare=prepare) as server:
        yield server


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright; never downloads a browser.

    Module scope: Playwright's sync API runs an event loop that Django's ORM refuses to share,
    so it is stopped before the next test module runs.
    """
    if shutil.which(CHROMIUM_PATH) is None:
        pytest.skip(f"Chromium is not installed at {CHROMIUM_PATH} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def open_browser_page(
    chromium_browser: object, asgi_server: LiveServer
) -> Iterator[Callable[..., object]]:
    """Open pages each in its own fresh Japanese context; all are closed after the test.

    `open_browser_page()` is on the live server; `open_browser_page(base_url=None)` has no base
    URL (a visitor on another site).
    """
    contexts: list[object] = []

    def open_page(base_url: str | None = asgi_server.url) -> object:
        context = japanese_context(chromium_browser, base_url)
        contexts.append(context)
        return context.new_page()  # type: ignore[attr-defined]

    try:
        yield open_page
    finally:
        for context in reversed(contexts):
            context.close()  # type: ignore[attr-defined]


@pytest.fixture
def browser_page(open_browser_page: Callable[..., object]) -> object:
    """A fresh browser context (no cookies) with one page on the live server, Japanese locale."""
    return open_browser_page()
