"""Carriers and tracking numbers: normalise, validate check digits, build tracking links.

Every domestic carrier with a public check digit (Yamato, Sagawa, Japan Post) uses the same
12-digit "7DR" scheme: the last digit is the first eleven read as an integer, mod 7. So the
number alone cannot tell the carrier: the carrier is always an explicit field. International
Japan Post items use UPU S10. Tracking URL patterns are configuration (`tracking_urls.json`
beside this module, the `MADOGUCHI_TRACKING_URLS` setting or environment variable), never code.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from functools import cache
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Carrier(models.TextChoices):
    YAMATO = "yamato", _("Yamato Transport")
    SAGAWA = "sagawa", _("Sagawa Express")
    JAPANPOST = "japanpost", _("Japan Post")
    SEINO = "seino", _("Seino Transportation")
    FUKUYAMA = "fukuyama", _("Fukuyama Transporting")
    OTHER = "other", _("Other")


SEVEN_DR_CARRIERS = frozenset({Carrier.YAMATO, Carrier.SAGAWA, Carrier.JAPANPOST})
_S10 = re.compile(r"^[A-Z]{2}\d{9}[A-Z]{2}$")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー_.]+")
_DEFAULT_URLS_FILE = Path(__file__).with_name("tracking_urls.json")


def normalize_tracking_number(raw: str) -> str:
    """Return the number with full-width characters folded, separators removed, upper-cased."""
    folded = unicodedata.normalize("NFKC", raw or "")
    return _SEPARATORS.sub("", folded).upper()


def is_7dr(number: str) -> bool:
    """Whether `number` (normalised) is 12 digits whose last is the first eleven mod 7."""
    return (
        len(number) == 12
        and number.isascii()
        and number.isdigit()
        and int(number[:11]) % 7 == int(number[11])
    )


def s10_check_digit(serial: str) -> int:
    """Return the UPU S10 check digit of an 8-digit serial number."""
    total = sum(int(digit) * weight for digit, weight in zip(serial, _S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return 0
    if check == 11:
        return 5
    return check


def is_s10(number: str) -> bool:
    """Whether `number` (normalised) is a UPU S10 item id (`EA123456785JP`) with a valid check."""
    if not _S10.match(number):
        return False
    return s10_check_digit(number[2:10]) == int(number[10])


def is_valid_tracking_number(carrier: str, number: str) -> bool | None:
    """Return whether the normalised number passes the carrier's check; None if none is known."""
    if carrier in SEVEN_DR_CARRIERS:
        if carrier == Carrier.JAPANPOST and number[:1].isalpha():
            return is_s10(number)
        if carrier == Carrier.JAPANPOST and len(number) != 12:
            # 書留 and a few other products use 11 or 13 digits without a published check.
            return None if number.isdigit() and 11 <= len(number) <= 13 else False
        return is_7dr(number)
    if carrier in (Carrier.SEINO, Carrier.FUKUYAMA):
        return None if number.isdigit() and 8 <= len(number) <= 14 else False
    return None


@cache
def _file_patterns(path: str) -> dict[str, str]:
    with Path(path).open(encoding="utf-8") as handle:
        data: dict[str, str] = json.load(handle)
    return data


def tracking_url_patterns() -> dict[str, str]:
    """Return carrier -> URL pattern with `{number}`: file defaults, then setting, then env."""
    patterns = dict(_file_patterns(str(_DEFAULT_URLS_FILE)))
    patterns.update(getattr(settings, "MADOGUCHI_TRACKING_URLS", None) or {})
    override = os.environ.get("MADOGUCHI_TRACKING_URLS", "")
    if override:
        patterns.update(json.loads(override))
    return patterns


def tracking_url(carrier: str, number: str) -> str:
    """Return the public tracking page for this parcel, or "" if the carrier has none configured."""
    pattern = tracking_url_patterns().get(carrier, "")
    if not pattern or not number:
        return ""
    return pattern.replace("{number}", quote(number, safe=""))


# How EC platforms name carriers; the free text is matched case-insensitively by substring.
_CARRIER_NAMES = (
    (Carrier.YAMATO, ("yamato", "ヤマト", "クロネコ", "kuroneko", "1001")),
    (Carrier.SAGAWA, ("sagawa", "佐川", "1002")),
    (
        Carrier.JAPANPOST,
        ("japan post", "japanpost", "日本郵便", "ゆうパック", "ゆうパケット", "1003"),
    ),
    (Carrier.SEINO, ("seino", "西濃", "カンガルー", "1004")),
    (Carrier.FUKUYAMA, ("fukuyama", "福山", "1006")),
)


def carrier_from_name(name: str) -> Carrier:
    """Map a platform's carrier name or code (Shopify company, Rakuten 100x, free text)."""
    text = unicodedata.normalize("NFKC", name or "").strip().lower()
    if not text:
        return Carrier.OTHER
    for carrier, needles in _CARRIER_NAMES:
        if any(needle in text for needle in needles):
            return carrier
    return Carrier.OTHER
