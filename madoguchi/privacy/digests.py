"""Fingerprints of erased identifiers, and where a copy of one could still be stored.

An erasure record keeps SHA-256(salt + normalised value) of every identifier it erased (names,
addresses, phone numbers, LINE ids, in every form they were stored), never the values. The
verification hashes every value the `SCANNED` columns still hold the same way: a match means a
copy survived. Phone numbers have few possible values, so a digest could be brute-forced by
someone who reads the record; the record is shown only to the shop's leads (ADR 0015).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext_noop

_WHITESPACE = re.compile(r"\s+")


def new_salt() -> str:
    return secrets.token_hex(16)


def normalise(value: str) -> str:
    """The form a value is hashed in: NFKC, lower case, single spaces, trimmed."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", value)).strip().lower()


def fingerprint(salt: str, value: str) -> str:
    return hashlib.sha256((salt + normalise(value)).encode("utf-8")).hexdigest()


def variants(value: str) -> set[str]:
    """A value and the parts a search document may hold of it (a name's words, digits only)."""
    text = normalise(value)
    if not text:
        return set()
    found = {text}
    found.update(part for part in text.split(" ") if len(part) >= 2)
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 6:
        found.add(digits)
    return found


def fingerprints(salt: str, values: Iterable[str]) -> list[str]:
    """The sorted digests of the values and their variants."""
    return sorted({fingerprint(salt, part) for value in values for part in variants(value)})


def combined_digest(digests: Iterable[str]) -> str:
    """One SHA-256 over the sorted digests: the record's seal."""
    return hashlib.sha256("\n".join(sorted(digests)).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Scanned:
    """Columns of one model whose values the verification hashes; `rows` narrows the rows."""

    label: str
    model: Callable[[], type[Model]]
    fields: tuple[str, ...]
    rows: Callable[[int, Any], Q] = lambda shop_id, record: Q(shop_id=shop_id)


def _models() -> dict[str, type[Model]]:
    from madoguchi.commerce.models import Deposit, Order
    from madoguchi.connectors.chat.models import ChatConversation
    from madoguchi.connectors.line.models import LineEvent, LineInbound
    from madoguchi.connectors.mail.models import AutoReplyLog, OutboundMail, RawMail
    from madoguchi.connectors.phone.models import CallLog
    from madoguchi.connectors.webform.models import Submission
    from madoguchi.customers.models import ContactIdentity, Customer

    return {
        "customer": Customer,
        "identity": ContactIdentity,
        "order": Order,
        "deposit": Deposit,
        "chat": ChatConversation,
        "line_event": LineEvent,
        "line_inbound": LineInbound,
        "raw_mail": RawMail,
        "outbound_mail": OutboundMail,
        "auto_reply": AutoReplyLog,
        "call": CallLog,
        "submission": Submission,
    }


def _model(key: str) -> Callable[[], type[Model]]:
    return lambda: _models()[key]


# Every column that could hold a copy of an identifier. Customers' names are looked for on the
# erased customer only (another customer may share a name); addresses and numbers everywhere.
# An order's fields that hold personal data, which an erasure blanks; the two digest columns
# are computed from them (core.secrets.DigestField) and are never scanned for a value.
ORDER_PERSONAL_FIELDS = (
    "email",
    "contact_email",
    "contact_phone",
    "shipping_postal_code",
    "shipping_address1",
    "shipping_address2",
    "shipping_name",
    "shipping_name_kana",
    "shipping_phone",
    "billing_name_kana",
    "note",
)
DIGESTS = ("contact_email", "contact_phone")

SCANNED: tuple[Scanned, ...] = (
    Scanned(
        gettext_noop("customers"),
        _model("customer"),
        ("name", "name_kana", "note"),
        lambda shop_id, record: Q(shop_id=shop_id, id=record.customer_id),
    ),
    Scanned(gettext_noop("contact identities"), _model("identity"), ("value", "display_value")),
    Scanned(
        gettext_noop("orders"),
        _model("order"),
        tuple(name for name in ORDER_PERSONAL_FIELDS if name not in DIGESTS),
        lambda shop_id, record: Q(shop_id=shop_id, id__in=record.order_ids),
    ),
    Scanned(
        gettext_noop("orders"),
        _model("order"),
        ("email", "shipping_phone"),
    ),
    Scanned(
        gettext_noop("deposits"),
        _model("deposit"),
        ("remitter_name",),
        lambda shop_id, record: Q(shop_id=shop_id, payments__order_id__in=record.order_ids),
    ),
    Scanned(
        gettext_noop("chat conversations"), _model("chat"), ("name", "email", "verified_user_id")
    ),
    Scanned(gettext_noop("LINE events"), _model("line_event"), ("source_id",)),
    Scanned(gettext_noop("LINE replies"), _model("line_inbound"), ("push_to",)),
    Scanned(gettext_noop("raw mails"), _model("raw_mail"), ("from_address", "reply_to_address")),
    Scanned(gettext_noop("sent mails"), _model("outbound_mail"), ("to_address",)),
    Scanned(gettext_noop("automatic replies"), _model("auto_reply"), ("address",)),
    Scanned(gettext_noop("phone calls"), _model("call"), ("number", "number_normalized")),
    Scanned(gettext_noop("web form submissions"), _model("submission"), ("name", "email", "phone")),
)


def scanned_values(scanned: Scanned, *, shop_id: int, record: Any) -> Iterator[tuple[int, str]]:
    """Yield (row id, value) of every non-empty value of the scanned columns."""
    queryset: QuerySet[Any, Any] = scanned.model()._default_manager.filter(
        scanned.rows(shop_id, record)
    )
    for row in queryset.values_list("id", *scanned.fields).distinct().iterator(chunk_size=1000):
        for value in row[1:]:
            if value:
                yield row[0], str(value)
