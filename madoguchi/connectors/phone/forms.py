"""Forms of the phone pages: they parse input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# The services' refusals, shown translated on the form (`gettext(error.message)`).
SERVICE_MESSAGES = (
    gettext_noop("Enter the number with its area code, for example 03-1234-5678."),
    gettext_noop("This number is already one of the shop's numbers."),
    gettext_noop("Only a supervisor or admin may change the shop's numbers."),
    gettext_noop("This is one of the shop's own numbers: enter the caller's number."),
    gettext_noop("The number belongs to another shop."),
    gettext_noop("Choose one of the shop's numbers."),
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
