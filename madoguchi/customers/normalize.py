"""Normalise contact values so the same person is found however the value was typed."""

import re
import unicodedata

_NON_DIGITS = re.compile(r"\D+")


def normalize_email(raw: str) -> str:
    """Return the address in NFKC, trimmed and lower-cased (shops treat mailboxes as one)."""
    return unicodedata.normalize("NFKC", raw).strip().lower()


def normalize_phone(raw: str) -> str:
    """Return only the digits of a Japanese phone number, in domestic form.

    Full-width digits, hyphens, spaces and brackets are dropped; +81 becomes a leading 0.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    digits = _NON_DIGITS.sub("", text)
    if text.startswith("+81") or (digits.startswith("81") and len(digits) in (11, 12)):
        # "+81 (0)90-..." writes the trunk 0 as well; keep exactly one.
        national = digits[2:]
        digits = national if national.startswith("0") else "0" + national
    return digits


def normalize_identity(kind: str, raw: str) -> str:
    """Return the normalised value for a contact identity of `kind`."""
    if kind == "email":
        return normalize_email(raw)
    if kind == "phone":
        return normalize_phone(raw)
    return raw.strip()
