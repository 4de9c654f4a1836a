"""Who sees customers' contacts in full, and how the others (and every list) see them masked.

Contacts and addresses are shown whole only on a customer's own page, its ticket and its order,
and there only to staff who reply to customers: admins, supervisors and operators who are not
trainees. Trainees and the shop's client users see them masked ("t***@example.com",
"090-****-5678", an address to its city) and reveal them on the customer page with a reason,
which is audited (`customer_pii_reveal`). Lists (the customer picker) mask for everyone.
ADR 0013 gives the reasons.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from madoguchi.customers.models import ContactIdentity
    from madoguchi.tenancy.access import Actor

MASK = "***"
_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"\d+")
# The city, ward, town or village an address starts with (after its prefecture): "渋谷区",
# "横浜市", "西多摩郡奥多摩町". Cities with wards keep only the city ("横浜市" of "横浜市中区").
_MUNICIPALITY = re.compile(r"^((?:[^\d\s０-９]+?郡)?[^\d\s０-９]+?[市区町村])")


def sees_contacts(actor: Actor, shop_id: int) -> bool:
    """Whether the actor sees the shop's customers' contacts in full on their own pages."""
    return actor.is_staff_for(shop_id) and not actor.is_trainee_for(shop_id)


def mask_email(address: str) -> str:
    """Return "t***@example.com" for "taro@example.com": the first character and the domain."""
    local, at, domain = address.partition("@")
    if not at:
        return mask_text(address)
    return f"{local[:1]}{MASK}@{domain}"


def mask_phone(number: str) -> str:
    """Return the number with its subscriber part hidden: the group before the last one when
    it is written in groups ("090-****-5678", "03-****-5678", "+81 90-****-5678"), else every
    digit but the first three and the last four ("090****5678"; a fragment keeps its last two).
    """
    groups = list(_DIGITS.finditer(number))
    if len(groups) >= 3:
        middle = groups[-2]
        return number[: middle.start()] + "*" * len(middle.group()) + number[middle.end() :]
    digits = _DIGIT.findall(number)
    keep_start, keep_end = (3, 4) if len(digits) >= 10 else (0, 2)
    hidden = range(keep_start, max(keep_start, len(digits) - keep_end))
    position = -1

    def replace(match: re.Match[str]) -> str:
        nonlocal position
        position += 1
        return "*" if position in hidden else match.group()

    return _DIGIT.sub(replace, number)


def mask_text(value: str) -> str:
    """Return the first two characters of an identifier (a LINE user, a chat visitor) and ***."""
    return f"{value[:2]}{MASK}" if value else ""


def mask_contact(kind: str, value: str) -> str:
    """Return a contact value of `kind` ("email", "phone", ...) masked."""
    if kind == "email":
        return mask_email(value)
    if kind == "phone":
        return mask_phone(value)
    return mask_text(value)


def mask_address(address: str) -> str:
    """Return the address (after its prefecture) up to its municipality, the rest hidden:
    "渋谷区神宮前1-1-1" -> "渋谷区***"."""
    address = address.strip()
    if not address:
        return ""
    match = _MUNICIPALITY.match(address)
    return f"{match.group(1)}{MASK}" if match else MASK


def mask_postal_code(code: str) -> str:
    """Return the postal code's first three digits: "150-0001" -> "150-****"."""
    digits = "".join(_DIGIT.findall(code))
    return f"{digits[:3]}-****" if digits else ""


def identity_masked(identity: ContactIdentity) -> str:
    """Return the contact as entered, masked."""
    return mask_contact(identity.kind, identity.display_value)
