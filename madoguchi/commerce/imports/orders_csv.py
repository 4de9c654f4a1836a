"""Import orders from CSV: the Shopify order export, or any file with a column mapping.

Rows are grouped by order number (Shopify writes one row per line item and fills the order
columns only on the first). Each order is written in its own transaction: a bad row is
reported with its line number and never stops the others. Progress is saved on the
`OrderImport` row every `PROGRESS_EVERY` orders, for the progress bar.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.commerce.models import Order, OrderImport, PaymentMethod, PaymentStatus
from madoguchi.commerce.services import AddressInput, LineInput, OrderInput, order_upsert
from madoguchi.commerce.textfiles import decode_sniffed
from madoguchi.core.errors import ApplicationError, ValidationError
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop

PROGRESS_EVERY = 25
MAX_ERRORS_KEPT = 500

# Our field -> the Shopify order export's column.
SHOPIFY_COLUMNS = {
    "number": "Name",
    "email": "Email",
    "financial_status": "Financial Status",
    "placed_at": "Created at",
    "shipping_fee": "Shipping",
    "total": "Total",
    "discount": "Discount Amount",
    "line_name": "Lineitem name",
    "line_quantity": "Lineitem quantity",
    "line_price": "Lineitem price",
    "line_sku": "Lineitem sku",
    "shipping_name": "Shipping Name",
    "shipping_address1": "Shipping Address1",
    "shipping_address2": "Shipping Address2",
    "shipping_city": "Shipping City",
    "shipping_postal_code": "Shipping Zip",
    "shipping_prefecture": "Shipping Province Name",
    "shipping_phone": "Shipping Phone",
    "note": "Notes",
    "payment_method": "Payment Method",
    "external_id": "Id",
}
REQUIRED = ("number", "placed_at", "line_name", "line_price")

_PAYMENT_WORDS = (
    (PaymentMethod.BANK_TRANSFER, ("bank", "銀行振込", "振込", "bank_transfer")),
    (PaymentMethod.COD, ("cod", "代引", "代金引換", "cash on delivery")),
    (PaymentMethod.KONBINI, ("konbini", "コンビニ", "convenience")),
    (PaymentMethod.DEFERRED, ("後払い", "deferred", "np", "paidy", "atone")),
)


def payment_method_from_text(text: str) -> str:
    """Map a payment method as platforms write it; unknown text is a card payment."""
    folded = unicodedata.normalize("NFKC", text or "").strip().lower()
    for method, words in _PAYMENT_WORDS:
        if any(word in folded for word in words):
            return method
    return PaymentMethod.CARD


def _yen(raw: str) -> int:
    text = unicodedata.normalize("NFKC", raw or "").replace(",", "").replace("¥", "")
    text = text.replace("円", "").strip()
    if not text:
        return 0
    if not re.fullmatch(r"\d+(?:\.0+)?", text):
        raise ValueError(f"not a yen amount: {raw!r}")
    value = float(text)
    if value != int(value):
        raise ValueError(f"not a yen amount: {raw!r}")
    return int(value)


def _when(raw: str, tz: ZoneInfo) -> dt.datetime:
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        raise ValueError("no order date")
    text = re.sub(r"^(\d{4})/(\d{1,2})/(\d{1,2})", r"\1-\2-\3", text)
    text = re.sub(r"-(\d)(?=\D|$)", r"-0\1", text)
    try:
        parsed = dt.datetime.fromisoformat(text.replace(" +", "+").replace(" -", "-"))
    except ValueError as error:
        raise ValueError(f"not a date: {raw!r}") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


@dataclass
class _Group:
    first_line: int
    rows: list[tuple[int, Mapping[str, str]]] = field(default_factory=list)


def _value(row: Mapping[str, str], mapping: Mapping[str, str], name: str) -> str:
    column = mapping.get(name, "")
    return (row.get(column) or "").strip() if column else ""


def _order_input(group: _Group, mapping: Mapping[str, str], tz: ZoneInfo) -> OrderInput:
    first = group.rows[0][1]
    lines = []
    for line_number, row in group.rows:
        name = _value(row, mapping, "line_name")
        if not name:
            continue
        try:
            quantity = int(_value(row, mapping, "line_quantity") or "1")
            price = _yen(_value(row, mapping, "line_price"))
        except ValueError as error:
            raise ValueError(f"line {line_number}: {error}") from error
        lines.append(
            LineInput(
                name=name,
                unit_price=price,
                quantity=quantity,
                sku=_value(row, mapping, "line_sku"),
                tax_rate=int(_value(row, mapping, "line_tax_rate") or "10"),
            )
        )
    if not lines:
        raise ValueError("the order has no line items")
    financial = _value(first, mapping, "financial_status").lower()
    method = payment_method_from_text(_value(first, mapping, "payment_method"))
    placed_at = _when(_value(first, mapping, "placed_at"), tz)
    city = _value(first, mapping, "shipping_city")
    address1 = _value(first, mapping, "shipping_address1")
    return OrderInput(
        number=_value(first, mapping, "number"),
        placed_at=placed_at,
        payment_method=method,
        lines=lines,
        source=Order.Source.CSV,
        address=AddressInput(
            postal_code=_value(first, mapping, "shipping_postal_code").lstrip("'"),
            prefecture=_value(first, mapping, "shipping_prefecture"),
            address1=f"{city}{address1}" if city and not address1.startswith(city) else address1,
            address2=_value(first, mapping, "shipping_address2"),
            name=_value(first, mapping, "shipping_name"),
            name_kana=_value(first, mapping, "shipping_name_kana"),
            phone=_value(first, mapping, "shipping_phone").lstrip("'"),
        ),
        shipping_fee=_yen(_value(first, mapping, "shipping_fee")),
        discount=_yen(_value(first, mapping, "discount")),
        payment_due_on=(
            timezone.localtime(placed_at, tz).date() + dt.timedelta(days=7)
            if method == PaymentMethod.BANK_TRANSFER
            else None
        ),
        email=_value(first, mapping, "email"),
        note=_value(first, mapping, "note"),
        external_id=_value(first, mapping, "external_id"),
        payment_status=PaymentStatus.PAID if financial == "paid" else PaymentStatus.UNPAID,
    )


def _check_total(order: Order, expected: str) -> str:
    if not expected:
        return ""
    try:
        total = _yen(expected)
    except ValueError:
        return ""
    if total != order.total:
        return (
            f"order {order.number}: the file says total {total}, the lines add up to {order.total}"
        )
    return ""


@transaction.atomic
def order_import_create(
    *,
    actor: Actor,
    shop: Shop,
    profile: str,
    mapping: Mapping[str, str],
    filename: str,
    data: bytes,
) -> OrderImport:
    """Keep an uploaded order file to import in the background (`run_import`), audited."""
    require_staff(actor=actor, shop_id=shop.id)
    if profile not in OrderImport.Profile.values:
        raise ValidationError(gettext_noop("Unknown import format."), field="profile")
    created = OrderImport.objects.create(
        shop=shop,
        profile=profile,
        mapping=dict(mapping),
        filename=filename[:255],
        content=data,
        created_by=actor.user,
    )
    record(
        actor=actor.user,
        action=actions.ORDERS_IMPORTED,
        target=created,
        shop=shop,
        changes={"profile": profile, "filename": created.filename, "bytes": len(data)},
    )
    return created


def run_import(order_import: OrderImport) -> OrderImport:
    """Process the import's file; safe to run again (orders are upserted by number)."""
    shop = Shop.objects.get(pk=order_import.shop_id)
    tz = ZoneInfo(shop.time_zone)
    text, encoding = decode_sniffed(bytes(order_import.content))
    mapping = SHOPIFY_COLUMNS if order_import.profile == OrderImport.Profile.SHOPIFY else {}
    mapping = {**mapping, **order_import.mapping}
    reader = csv.DictReader(io.StringIO(text))
    errors: list[dict[str, object]] = []
    missing = [name for name in REQUIRED if mapping.get(name) not in (reader.fieldnames or [])]
    groups: dict[str, _Group] = {}
    if missing:
        errors.append({"row": 1, "message": f"missing columns for: {', '.join(missing)}"})
    else:
        for line_number, row in enumerate(reader, start=2):
            number = _value(row, mapping, "number")
            if not number:
                errors.append({"row": line_number, "message": "no order number"})
                continue
            groups.setdefault(number, _Group(first_line=line_number)).rows.append(
                (line_number, row)
            )
    order_import.encoding = encoding
    order_import.status = OrderImport.Status.RUNNING
    order_import.total_rows = len(groups)
    order_import.processed_rows = 0
    order_import.created_count = order_import.updated_count = 0
    order_import.save()
    for index, group in enumerate(groups.values(), start=1):
        try:
            data = _order_input(group, mapping, tz)
            with transaction.atomic():
                order, created = order_upsert(shop=shop, data=data)
            mismatch = _check_total(order, _value(group.rows[0][1], mapping, "total"))
            if mismatch:
                errors.append({"row": group.first_line, "message": mismatch})
            if created:
                order_import.created_count += 1
            else:
                order_import.updated_count += 1
        except ApplicationError as error:
            # The sentence and its parameters, so the page shows it in the reader's language.
            extra = {name: str(value) for name, value in error.extra.items()}
            errors.append({"row": group.first_line, "message": error.message, "extra": extra})
        except ValueError as error:
            errors.append({"row": group.first_line, "message": str(error)})
        order_import.processed_rows = index
        if index % PROGRESS_EVERY == 0:
            order_import.save(update_fields=["processed_rows", "created_count", "updated_count"])
    order_import.errors = errors[:MAX_ERRORS_KEPT]
    order_import.error_count = len(errors)
    order_import.status = OrderImport.Status.FINISHED
    order_import.finished_at = timezone.now()
    order_import.save()
    return order_import


def import_error_rows(order_import: OrderImport) -> list[tuple[object, str]]:
    """The import's row errors as (row, text) in the active language: a service's sentence is
    translated with its parameters, any other text is shown as it was kept."""
    rows: list[tuple[object, str]] = []
    for error in order_import.errors or []:
        text = gettext(str(error.get("message", "")))
        extra = error.get("extra")
        rows.append((error.get("row"), text % extra if extra else text))
    return rows
