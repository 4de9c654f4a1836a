"""Forms of the order and deposit pages: they parse input; `commerce.services` decides.

A service's refusal is shown on the form that asked (`core.service_forms`): the fields are
named as the services' keywords, so an error that names one lands beside it.
"""

from __future__ import annotations

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from madoguchi.commerce import services
from madoguchi.commerce.carriers import Carrier
from madoguchi.commerce.models import (
    DepositImport,
    Order,
    OrderImport,
    OrderRequest,
    PaymentMethod,
)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024

# The services' refusals, shown translated on the forms (`core.service_forms.error_text`).
SERVICE_MESSAGES = (
    gettext_noop("An order needs a number."),
    gettext_noop("Unknown payment method %(value)s."),
    gettext_noop("Unknown order status %(value)s."),
    gettext_noop("Unknown payment status %(value)s."),
    gettext_noop("%(item)s: the quantity must be 1 or more, the price 0 or more."),
    gettext_noop("%(item)s: the tax rate must be 8 or 10."),
    gettext_noop("Fees and discounts cannot be negative."),
    gettext_noop("The customer belongs to another shop."),
    gettext_noop("Order %(number)s already exists."),
    gettext_noop("Unknown carrier %(value)s."),
    gettext_noop("%(number)s is not a valid tracking number for %(carrier)s."),
    gettext_noop("A payment cannot be negative."),
    gettext_noop("Unknown request kind %(value)s."),
    gettext_noop("The ticket belongs to another shop."),
    gettext_noop("An address change needs the new address."),
    gettext_noop("A request cannot move to %(value)s."),
    gettext_noop("Unknown notice %(value)s."),
    gettext_noop("This deposit has already been handled."),
    gettext_noop("This deposit has already been applied."),
    gettext_noop("Choose at least one order."),
    gettext_noop("Unknown order."),
    gettext_noop("One of these orders is already paid."),
    gettext_noop("An order of this match no longer exists."),
)

ENTRY_SOURCES = [
    (Order.Source.PHONE, _("Phone")),
    (Order.Source.FAX, _("Fax")),
]


def _upload_checked(upload: UploadedFile | None) -> UploadedFile:
    if upload is None:
        raise forms.ValidationError(gettext("Choose a file."))
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise forms.ValidationError(gettext("The file is too large."))
    return upload


def lines_parsed(text: str) -> list[services.LineInput]:
    """Parse "item, unit price, quantity, rate" lines (quantity and rate optional)."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [part.strip() for part in raw.replace("，", ",").split(",")]
        try:
            price = int(parts[1].replace("円", "").replace("¥", "").replace(",", ""))
            quantity = int(parts[2]) if len(parts) > 2 and parts[2] else 1
            rate = int(parts[3].rstrip("%％")) if len(parts) > 3 and parts[3] else 10
        except (IndexError, ValueError) as error:
            raise forms.ValidationError(
                gettext("Line %(number)d: write item, price, quantity, rate.") % {"number": number}
            ) from error
        lines.append(
            services.LineInput(name=parts[0], unit_price=price, quantity=quantity, tax_rate=rate)
        )
    if not lines:
        raise forms.ValidationError(gettext("An order needs at least one line."))
    return lines


class OrderEntryForm(forms.Form):
    """A phone or fax order (受発注) as staff take it down."""

    number = forms.CharField(label=_("Order number"), max_length=40)
    source = forms.ChoiceField(
        label=_("Received through"), choices=ENTRY_SOURCES, initial=Order.Source.PHONE
    )
    payment_method = forms.ChoiceField(label=_("Payment method"), choices=PaymentMethod.choices)
    lines = forms.CharField(
        label=_("Lines (item, unit price tax incl., quantity, tax rate 8 or 10)"),
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "煎茶 100g, 1080, 2, 8"}),
    )
    shipping_fee = forms.IntegerField(label=_("Shipping (tax incl.)"), min_value=0, initial=0)
    name = forms.CharField(label=_("Recipient's name"), max_length=200, required=False)
    name_kana = forms.CharField(label=_("Name in kana"), max_length=200, required=False)
    postal_code = forms.CharField(label=_("Postal code"), max_length=10, required=False)
    prefecture = forms.CharField(label=_("Prefecture"), max_length=10, required=False)
    address1 = forms.CharField(label=_("Address"), max_length=200, required=False)
    address2 = forms.CharField(label=_("Building"), max_length=200, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_lines(self) -> list[services.LineInput]:
        return lines_parsed(self.cleaned_data["lines"])


class OrderImportForm(forms.Form):
    """A CSV of orders, and for the generic format which column holds what."""

    profile = forms.ChoiceField(
        label=_("Format"), choices=OrderImport.Profile.choices, initial=OrderImport.Profile.SHOPIFY
    )
    file = forms.FileField(
        label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
    )
    map_number = forms.CharField(label=_("Order number"), required=False, max_length=100)
    map_placed_at = forms.CharField(label=_("Order date"), required=False, max_length=100)
    map_line_name = forms.CharField(label=_("Item"), required=False, max_length=100)
    map_line_quantity = forms.CharField(label=_("Quantity"), required=False, max_length=100)
    map_line_price = forms.CharField(label=_("Unit price"), required=False, max_length=100)
    map_payment_method = forms.CharField(label=_("Payment method"), required=False, max_length=100)
    map_shipping_name = forms.CharField(label=_("Recipient"), required=False, max_length=100)
    map_shipping_name_kana = forms.CharField(
        label=_("Recipient (kana)"), required=False, max_length=100
    )

    def clean_file(self) -> UploadedFile:
        return _upload_checked(self.cleaned_data.get("file"))

    def mapping_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("map_")]

    def mapping(self) -> dict[str, str]:
        """The generic format's column names, by the order field they fill."""
        return {
            name[len("map_") :]: value.strip()
            for name, value in self.cleaned_data.items()
            if name.startswith("map_") and value and value.strip()
        }


class DepositImportForm(forms.Form):
    """A Zengin transfer notice or a net bank's CSV statement."""

    format = forms.ChoiceField(
        label=_("Format"), choices=DepositImport.Format.choices, initial=DepositImport.Format.ZENGIN
    )
    file = forms.FileField(label=_("File"))

    def clean_file(self) -> UploadedFile:
        return _upload_checked(self.cleaned_data.get("file"))


class ShipmentForm(forms.Form):
    carrier = forms.ChoiceField(label=_("Carrier"), choices=Carrier.choices)
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=40)


class OrderRequestForm(forms.Form):
    kind = forms.ChoiceField(
        label=pgettext_lazy("order request", "Request"), choices=OrderRequest.Kind.choices
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
    postal_code = forms.CharField(label=_("New postal code"), max_length=10, required=False)
    address1 = forms.CharField(label=_("New address"), max_length=200, required=False)

    def details(self) -> dict[str, str]:
        return {
            key: self.cleaned_data[key].strip()
            for key in ("postal_code", "address1")
            if self.cleaned_data.get(key, "").strip()
        }


class DepositApplyForm(forms.Form):
    """The orders a deposit pays, by their numbers, when no suggested match fits."""

    order_numbers = forms.CharField(label=_("Order numbers"), max_length=500)

    def clean_order_numbers(self) -> list[str]:
        text: str = self.cleaned_data["order_numbers"]
        numbers = text.replace("#", " ").replace(",", " ").replace("、", " ").split()
        if not numbers:
            raise forms.ValidationError(gettext("Choose at least one order."))
        return numbers


# The deposit files' refusals (`commerce.banking`), shown on the file field.
FILE_MESSAGES = (
    gettext_noop("Record %(line)s: the %(name)s is not a number (%(raw)s)."),
    gettext_noop("Not a YYMMDD date: %(text)s"),
    gettext_noop("Not a date: %(text)s"),
    gettext_noop("The file is %(size)s bytes, not a multiple of %(length)s-byte records."),
    gettext_noop("Record %(line)s is %(size)s bytes, not %(length)s."),
    gettext_noop("The file does not start with a header record (1)."),
    gettext_noop("Kind code %(code)s is not 01 (振込入金通知)."),
    gettext_noop("Record %(line)s follows the end record."),
    gettext_noop("Data record %(line)s follows the trailer."),
    gettext_noop("Record %(line)s has an unknown type (%(kind)s)."),
    gettext_noop("The file has no trailer record (8)."),
    gettext_noop("The file has no end record (9)."),
    gettext_noop(
        "The trailer says %(count)s transfers totalling %(total)s yen; the file holds "
        "%(found)s totalling %(found_total)s yen."
    ),
    gettext_noop(
        "The trailer says %(count)s cancellations totalling %(total)s yen; "
        "the file holds %(found)s."
    ),
    gettext_noop("Unknown bank CSV profile %(value)s."),
    gettext_noop("The file has no column %(columns)s for %(profile)s."),
)
