"""The site's public address, for links that background work puts in mail and messages.

A request knows its own address (`request.build_absolute_uri`); a scheduled report or a CSAT
survey sent by a worker does not, and takes `MADOGUCHI["SITE_URL"]` (`MADOGUCHI_SITE_URL`).
In production a link to the development default would reach no one, so `check --deploy`
warns (W082) while the setting is left at it or is not HTTPS.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks

DEFAULT_SITE_URL = "http://127.0.0.1:8000"


def site_url() -> str:
    """The configured public address, without a trailing slash."""
    return str(settings.MADOGUCHI.get("SITE_URL") or DEFAULT_SITE_URL).rstrip("/")


def absolute_url(path: str) -> str:
    """`path` (from `reverse`) on the public address."""
    return site_url() + path


def check_site_url(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """The deploy check: mail from background work links to the real, HTTPS site."""
    address = site_url()
    if address == DEFAULT_SITE_URL or not address.startswith("https://"):
        return [
            checks.Warning(
                f"MADOGUCHI_SITE_URL is {address}: links in reports and surveys mailed by "
                "background work would point there.",
                hint="Set MADOGUCHI_SITE_URL to the site's public HTTPS address.",
                id="madoguchi.W082",
            )
        ]
    return []
