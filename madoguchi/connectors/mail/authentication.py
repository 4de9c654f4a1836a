"""Mail that claims to come from the shop's own domain: is its sender authenticated?

A customer can write `From: support@shop.example` as easily as any other address. Such a mail is
never the shop's own mail (nor an operator's): it is a customer message like any other, and when
the receiving server did not vouch for the From domain (a DMARC `pass` in the topmost
`Authentication-Results` header, RFC 8601) the mail is flagged and the ticket shows a warning.

Only the topmost `Authentication-Results` header counts: the server that handed the mail to us
adds its own on top, and anything below it came with the mail (a forger writes `dmarc=pass`
there as easily as the From).
"""

from __future__ import annotations

import email.parser
import email.policy

import authres
from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

# Enough of a mail to hold its headers; the body is not needed.
HEADER_BYTES = 256 * 1024


class AuthenticationWarning(TextChoices):
    """Why a mail claiming the shop's own domain is not trusted (stored on the raw mail)."""

    NONE = "", _("—")
    DMARC_FAILED = "dmarc_failed", _("DMARC check failed")
    UNVERIFIED = "unverified", _("Not verified")


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().lower().rstrip(".")


def topmost_dmarc(raw: bytes) -> tuple[str, str]:
    """Return (the DMARC result, its header.from domain) of the topmost Authentication-Results
    header, or ("", "") when there is none or it cannot be read."""
    head = raw[:HEADER_BYTES].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    message = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
    values = message.get_all("Authentication-Results") or []
    if not values:
        return "", ""
    text = " ".join(str(values[0]).split())
    try:
        header = authres.AuthenticationResultsHeader.parse_value(text)
    except (authres.AuthResError, ValueError, IndexError, AttributeError):
        return "", ""
    for result in header.results:
        if str(result.method).lower() != "dmarc":
            continue
        domain = next(
            (
                str(prop.value)
                for prop in result.properties
                if (prop.type, prop.name) == ("header", "from")
            ),
            "",
        )
        return str(result.result).lower(), domain.lower().rstrip(".")
    return "", ""


def own_domain_warning(*, raw: bytes, from_address: str, own_domains: set[str]) -> str:
    """Return the `AuthenticationWarning` of a mail: none unless its From is in `own_domains`
    (the domains of the shop's addresses) and the receiving server did not pass its DMARC."""
    domain = _domain(from_address)
    if not domain or domain not in own_domains:
        return AuthenticationWarning.NONE
    result, checked = topmost_dmarc(raw)
    if result == "pass" and checked == domain:
        return AuthenticationWarning.NONE
    if result in ("fail", "permerror"):
        return AuthenticationWarning.DMARC_FAILED
    return AuthenticationWarning.UNVERIFIED
