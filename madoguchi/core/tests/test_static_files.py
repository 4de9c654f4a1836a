"""Static files in production: WhiteNoise serves them from the apps, with no collectstatic step.

A real `madoguchi serve` runs on the production settings with a fresh data directory (migrated,
nothing collected); the sign-in page's stylesheet and script answer with their content.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from madoguchi.core.testing.live_server import LiveServer, running_server

PACKAGE_DIR = Path(__file__).resolve().parents[2]
FORWARDED_HTTPS = {"X-Forwarded-Proto": "https"}  # as the TLS proxy says it


@pytest.fixture(scope="module")
def production_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("production-static")
    production = {
        "DJANGO_SETTINGS_MODULE": "madoguchi.config.settings.production",
        "SECRET_KEY": "a-production-secret-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "MADOGUCHI_TRUSTED_PROXIES": "127.0.0.1",
        "STATIC_ROOT": "",
    }
    with running_server(
        data_dir, prepare=[["migrate", "--noinput"]], extra_env=production
    ) as server:
        yield server
    assert not (data_dir / "static").exists()


def _get(server: LiveServer, path: str) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(f"{server.url}{path}", headers=FORWARDED_HTTPS)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_the_sign_in_page_links_its_static_files_and_they_answer(
    production_server: LiveServer,
) -> None:
    status, _, page = _get(production_server, "/accounts/login/")
    assert status == 200, production_server.log_tail()
    html = page.decode()
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', html) == [
        "/static/madoguchi/app.css"
    ]
    assert re.findall(r'<script src="(/static/[^"]+)"', html) == [
        "/static/django_htmx/htmx-2.min.js",  # an installed package's, found the same way
        "/static/madoguchi/menu.js",
    ]

    status, headers, body = _get(production_server, "/static/madoguchi/app.css")
    assert status == 200
    assert headers["Content-Type"] == 'text/css; charset="utf-8"'
    assert body == (PACKAGE_DIR / "core/static/madoguchi/app.css").read_bytes()
    # Unhashed names: a short public max-age, revalidated by ETag/Last-Modified after a release.
    assert headers["Cache-Control"] == "max-age=60, public"
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', headers["ETag"])
    assert headers["Last-Modified"].endswith(" GMT")
    assert "no-store" not in headers["Cache-Control"]

    status, headers, body = _get(production_server, "/static/madoguchi/menu.js")
    assert status == 200
    assert headers["Content-Type"] == 'text/javascript; charset="utf-8"'
    assert body == (PACKAGE_DIR / "core/static/madoguchi/menu.js").read_bytes()

    status, headers, body = _get(production_server, "/static/django_htmx/htmx-2.min.js")
    assert status == 200
    assert headers["Content-Type"] == 'text/javascript; charset="utf-8"'
    assert body.startswith(b"var htmx=")


def test_a_revalidation_is_answered_not_modified(production_server: LiveServer) -> None:
    _, headers, _ = _get(production_server, "/static/madoguchi/app.css")
    request = urllib.request.Request(
        f"{production_server.url}/static/madoguchi/app.css",
        headers={**FORWARDED_HTTPS, "If-None-Match": headers["ETag"]},
    )
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(request, timeout=10)
    assert answered.value.code == 304


def test_an_unknown_static_path_is_a_404(production_server: LiveServer) -> None:
    status, _, _ = _get(production_server, "/static/madoguchi/missing.css")
    assert status == 404
