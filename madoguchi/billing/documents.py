"""An issued invoice as a document: the PDF of a qualified invoice (適格請求書), and the CSV of
invoices for accounting software (UTF-8 with a BOM, or CP932 for older Japanese software).

Documents are Japanese whatever the reader's language: they are business records.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import override

from madoguchi.billing.models import TAX_RATES, Invoice, TaxCategory
from madoguchi.core.csv import BOM, spreadsheet_safe
from madoguchi.core.pdf import render_pdf


def rate_label(category: str) -> str:
    rate = TAX_RATES[category]
    return f"{int(rate * 100)}%" if category != TaxCategory.EXEMPT else _("Not taxed")


def invoice_context(invoice: Invoice) -> dict[str, object]:
    lines = list(invoice.lines.all())
    return {
        "invoice": invoice,
        "lines": [
            {
                "line": line,
                "quantity": _quantity(line.quantity),
                "rate": rate_label(line.tax_category),
                "is_reduced": line.is_reduced_rate,
            }
            for line in lines
        ],
        "tax_rows": [
            {**row, "label": rate_label(row["category"])} for row in invoice.tax_breakdown
        ],
        "has_reduced": any(line.is_reduced_rate for line in lines),
    }


def _quantity(value: Decimal) -> str:
    normalized = value.normalize()
    return f"{normalized:f}"


def invoice_pdf(invoice: Invoice) -> bytes:
    """Return the PDF of an issued invoice or credit note (drafts are marked as drafts)."""
    with override("ja"):
        return render_pdf("billing/invoice_pdf.html", invoice_context(invoice))


def invoice_filename(invoice: Invoice) -> str:
    return f"{invoice.number or f'draft-{invoice.pk}'}.pdf"


CSV_ENCODINGS = ("utf-8", "cp932")


def invoices_csv(invoices: Iterable[Invoice], *, encoding: str = "utf-8") -> bytes:
    """Return one row per invoice and tax rate: number, dates, recipient, rate, net, tax.

    A row per rate is what accounting software imports for journal entries (仕訳) under the
    qualified-invoice rules. Text cells are made formula-safe; amounts stay numbers (a credit
    note's are negative). CP932 replaces what it cannot encode with `?`.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    with override("ja"):
        writer.writerow(
            [
                _("Invoice number"),
                _("Kind"),
                _("Issued on"),
                _("Due on"),
                _("Period from"),
                _("Period to"),
                _("Recipient"),
                _("Shop"),
                _("Tax rate"),
                _("Net amount"),
                _("Consumption tax"),
                _("Gross amount"),
                _("Corrects"),
                _("Registration number"),
            ]
        )
        for invoice in invoices:
            for row in invoice.tax_breakdown:
                writer.writerow(
                    [
                        spreadsheet_safe(invoice.number),
                        str(Invoice.Kind(invoice.kind).label),
                        invoice.issued_on.isoformat() if invoice.issued_on else "",
                        invoice.due_on.isoformat() if invoice.due_on else "",
                        invoice.period_start.isoformat(),
                        invoice.period_end.isoformat(),
                        spreadsheet_safe(invoice.recipient_name),
                        spreadsheet_safe(invoice.shop.name),
                        rate_label(row["category"]),
                        row["subtotal"],
                        row["tax"],
                        row["subtotal"] + row["tax"],
                        spreadsheet_safe(invoice.corrects.number if invoice.corrects else ""),
                        invoice.registration_number,
                    ]
                )
    text = buffer.getvalue()
    if encoding == "cp932":
        return text.encode("cp932", errors="replace")
    return (BOM + text).encode("utf-8")
