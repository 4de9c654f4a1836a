"""The production settings pass Django's deployment checks, HTTPS-only by default.

Each case runs in a fresh process: the settings modules read the environment at import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
PRODUCTION = "madoguchi.config.settings.production"
SHOW_SETTINGS = """
import json
from django.conf import settings
names = ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
         "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE",
         "SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME", "SECURE_REDIRECT_EXEMPT"]
print(json.dumps({name: getattr(settings, name) for name in names}))
"""


def _environment(settings_module: str, **extra: str) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "MADOGUCHI_TRUSTED_PROXIES"))
    }
    environment.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        SECRET_KEY="a-production-secret-" + "x" * 50,
        ALLOWED_HOSTS="desk.example.jp",
        **extra,
    )
    return environment


def _run(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _settings(settings_module: str, **extra: str) -> dict[str, object]:
    code = "import django; django.setup()\n" + SHOW_SETTINGS
    completed = _run(["-c", code], _environment(settings_module, **extra))
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_check_deploy_reports_nothing_on_the_production_settings(clamd: Any) -> None:
    # A deployment scans received files (W081 without a scanner that answers) and names its
    # public address for the links background work mails (W082).
    completed = _run(
        ["-m", "madoguchi", "check", "--deploy", "--fail-level", "WARNING"],
        _environment(
            PRODUCTION,
            MADOGUCHI_CLAMD=clamd.address,
            MADOGUCHI_SITE_URL="https://desk.example.jp",
        ),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.strip() == "System check identified no issues (0 silenced)."
    assert completed.stderr == ""


def test_production_is_https_only_by_default() -> None:
    values = _settings(PRODUCTION)
    assert values == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        # Nobody's X-Forwarded-Proto is believed until the deployment names its proxies.
        "SECURE_PROXY_SSL_HEADER": None,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_NAME": "__Host-sessionid",
        "CSRF_COOKIE_NAME": "__Host-csrftoken",
        "SECURE_REDIRECT_EXEMPT": ["^healthz$", "^healthz/jobs$"],
    }


def test_the_proxys_scheme_is_read_only_behind_a_named_proxy() -> None:
    values = _settings(PRODUCTION, MADOGUCHI_TRUSTED_PROXIES="10.0.0.5")
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_the_embedded_default_stays_plain_http() -> None:
    values = _settings("madoguchi.config.settings.local")
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SESSION_COOKIE_NAME"] == "sessionid"


def test_check_deploy_warns_while_the_site_address_is_the_development_one(clamd: Any) -> None:
    completed = _run(
        ["-m", "madoguchi", "check", "--deploy", "--fail-level", "WARNING"],
        _environment(PRODUCTION, MADOGUCHI_CLAMD=clamd.address),
    )
    assert completed.returncode != 0
    assert "madoguchi.W082" in completed.stdout + completed.stderr
