"""Normalise contact values so the same person is found however the value was typed."""

import re
import unicodedata

_NON_DIGITS = re.compile(r"\D+")
# The international call prefix written before Japan's country code: 00, or 010 from Japan.
_INTERNATIONAL_PREFIX = re.compile(r"^(?:00|010)(?=81)")


def normalize_email(raw: str) -> str:
    """Return the address in NFKC, trimmed and lower-cased (shops treat mailboxes as one)."""
    return unicodedata.normalize("NFKC", raw).strip().lower()


def normalize_phone(raw: str) -> str:
    """Return only the digits of a Japanese phone number, in domestic form.

    Full-width digits, hyphens, spaces and brackets are dropped; +81 (also dialled as 0081 or
    010-81) becomes a leading 0.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    digits = _NON_DIGITS.sub("", text)
    dialled = _INTERNATIONAL_PREFIX.sub("", digits)  # "0081 90-…", "010-81-90-…"
    if (
        text.startswith("+81")
        or dialled != digits
        or (digits.startswith("81") and len(digits) in (11, 12))
    ):
        # "+81 (0)90-..." writes the trunk 0 as well; keep exactly one.
        national = dialled[2:]
        digits = national if national.startswith("0") else "0" + national
    return digits


def normalize_identity(kind: str, raw: str) -> str:
    """Return the normalised value for a contact identity of `kind`."""
    if kind == "email":
        return normalize_email(raw)
    if kind == "phone":
        return normalize_phone(raw)
    return raw.strip()


def matchable_email(raw: str) -> str:
    """Return the normalised address when it can name a mailbox ("a@b"), else ""."""
    value = normalize_email(raw.replace("\x00", ""))
    return value if "@" in value else ""


def matchable_phone(raw: str) -> str:
    """Return the normalised number when it is a whole one (area code and subscriber), else "".

    Records typed by people (an order's phone, a CSV cell) may hold a fragment ("5601") or an
    extension; only ten digits or more identify a line, as every Japanese number has.
    """
    value = normalize_phone(raw.replace("\x00", ""))
    return value if len(value) >= 10 else ""


def identity_digest(kind: str, value: str) -> str:
    """Return the lookup key of a normalised contact value of `kind` ("" for "").

    Contact values are encrypted at rest; every lookup by an email address, a phone number or a
    LINE user goes through this key (`ContactIdentity.value_digest`, `Order.contact_email`).
    """
    from madoguchi.core.secrets import keyed_digest

    return keyed_digest(f"{kind}:{value}") if value else ""
