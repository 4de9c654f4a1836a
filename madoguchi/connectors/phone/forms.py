"""Forms of the phone pages: they parse input; the services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from madoguchi.connectors.phone import services
from madoguchi.connectors.phone.models import CallLog, PhoneNumber
from madoguchi.conversations.models import Ticket
from madoguchi.core.errors import ValidationError
from madoguchi.core.service_forms import error_text
from madoguchi.tenancy.models import Shop

# The services' refusals, shown translated on the form (`core.service_forms.error_text`).
SERVICE_MESSAGES = (
    gettext_noop("Enter the number with its area code, for example 03-1234-5678."),
    gettext_noop("This number is already one of the shop's numbers."),
    gettext_noop("Only a supervisor or admin may change the shop's numbers."),
    gettext_noop("This is one of the shop's own numbers: enter the caller's number."),
    gettext_noop("The number belongs to another shop."),
    gettext_noop("Choose one of the shop's numbers."),
    gettext_noop("Write the duration as minutes:seconds, for example 3:20."),
    gettext_noop("The duration is too long."),
    gettext_noop("Unknown call direction."),
    gettext_noop("Unknown call result."),
    gettext_noop("Enter the phone number."),
    gettext_noop("The ticket belongs to another shop."),
    gettext_noop("Enter the callback time as a date and time."),
    gettext_noop("Unknown ticket number."),
)


class PhoneNumberForm(forms.Form):
    number = forms.CharField(
        label=_("Phone number"),
        max_length=40,
        help_text=_("With the area code, for example 03-1234-5678."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    label = forms.CharField(
        label=_("Label"),
        max_length=50,
        required=False,
        help_text=_("What the number is for, for example 代表 or 注文専用."),
    )
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)


class CallForm(forms.Form):
    """A call as staff log it while on the phone: the caller, the result, what was said."""

    direction = forms.ChoiceField(
        label=_("Direction"),
        choices=CallLog.Direction.choices,
        initial=CallLog.Direction.INBOUND,
        widget=forms.RadioSelect,
    )
    number = forms.CharField(
        label=_("Phone number"),
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "autofocus": True}),
    )
    shop_number = forms.CharField(
        label=_("Our number (called on, or called from)"), required=False, widget=forms.Select
    )
    customer_name = forms.CharField(label=_("Name (new callers)"), max_length=200, required=False)
    ticket = forms.CharField(label=_("Add to ticket (number, optional)"), required=False)
    duration = forms.CharField(
        label=_("Duration (minutes:seconds)"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "3:20", "inputmode": "numeric"}),
    )
    result = forms.ChoiceField(
        label=_("Result"),
        choices=CallLog.Result.choices,
        initial=CallLog.Result.ANSWERED,
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    follow_up_needed = forms.BooleanField(label=_("Call back"), required=False)
    callback_due_at = forms.DateTimeField(
        label=_("Call back by"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": _("Enter the callback time as a date and time.")},
    )

    def __init__(self, *args: Any, shop: Shop, lookup_url: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shop = shop
        self.fields["number"].widget.attrs.update(
            {
                "hx-get": lookup_url,
                "hx-trigger": "keyup changed delay:300ms",
                "hx-target": "#caller",
                "hx-swap": "outerHTML",
            }
        )
        self.fields["ticket"].widget.attrs["placeholder"] = f"#{shop.ticket_prefix}-123"
        self.shop_numbers = services.shop_phone_numbers(shop=shop, active_only=True)
        choices = [(str(item.pk), str(item)) for item in self.shop_numbers]
        widget = self.fields["shop_number"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = [("", "—"), *choices] if len(choices) > 1 else choices

    def clean_shop_number(self) -> PhoneNumber | None:
        raw = self.cleaned_data.get("shop_number") or ""
        found = next((item for item in self.shop_numbers if str(item.pk) == raw), None)
        if raw and found is None:
            raise forms.ValidationError(gettext("Choose one of the shop's numbers."))
        return found

    def clean_ticket(self) -> Ticket | None:
        raw = self.cleaned_data["ticket"].strip()
        if not raw:
            return None
        number = raw.lstrip("#＃").rsplit("-", 1)[-1]
        ticket: Ticket | None = (
            Ticket.objects.filter(shop=self.shop, number=int(number)).select_related("shop").first()
            if number.isdigit()
            else None
        )
        if ticket is None:
            raise forms.ValidationError(gettext("Unknown ticket number."))
        return ticket

    def clean_duration(self) -> int:
        try:
            return services.parse_duration(self.cleaned_data["duration"])
        except ValidationError as error:
            raise forms.ValidationError(error_text(error)) from None

    def call_input(self) -> services.CallInput:
        data = self.cleaned_data
        due: dt.datetime | None = data["callback_due_at"]
        return services.CallInput(
            direction=data["direction"],
            number=data["number"],
            result=data["result"],
            duration_seconds=data["duration"],
            customer_name=data["customer_name"].strip(),
            notes=data["notes"],
            follow_up_needed=bool(data["follow_up_needed"]),
            callback_due_at=due,
            ticket=data["ticket"],
            shop_number=data.get("shop_number"),
        )
