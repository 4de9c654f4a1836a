"""Forms of the workspace, shop, engagement and category pages: parse input; services decide."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.models import Engagement, Workspace

PREFIX_PATTERN = re.compile(r"[A-Z0-9]{2,10}")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


def _date_field(label: Any, *, required: bool, help_text: Any = "") -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=DateInput(), help_text=help_text)


class TicketPrefixField(forms.CharField):
    """A ticket prefix in capitals; full-width letters typed on a Japanese keyboard are folded."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Ticket prefix"))
        kwargs.setdefault(
            "help_text", _("2 to 10 capital letters or digits, for example TEA in #TEA-1234.")
        )
        super().__init__(max_length=20, **kwargs)

    def clean(self, value: Any) -> str:
        prefix = unicodedata.normalize("NFKC", str(super().clean(value))).strip().upper()
        if not PREFIX_PATTERN.fullmatch(prefix):
            raise forms.ValidationError(
                _("A ticket prefix is 2 to 10 capital letters or digits (A-Z, 0-9).")
            )
        return prefix


class PeriodForm(forms.Form):
    """A form with `starts_on` and `ends_on`: the end is not before the start."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("The end date must not be before the start date."))
        return cleaned


class WorkspaceForm(forms.Form):
    name = forms.CharField(label=_("Company name"), max_length=200)


class MerchantShopForm(forms.Form):
    name = forms.CharField(label=_("Shop name"), max_length=200)
    ticket_prefix = TicketPrefixField()


class AgencyShopForm(PeriodForm):
    client_name = forms.CharField(
        label=_("Client company"),
        max_length=200,
        help_text=_("The shop company that owns the shop; it gets its own workspace."),
    )
    name = forms.CharField(label=_("Shop name"), max_length=200)
    ticket_prefix = TicketPrefixField()
    mode = forms.ChoiceField(label=_("Engagement"), choices=Engagement.Mode.choices)
    starts_on = _date_field(_("Starts on"), required=False, help_text=_("Empty: today."))
    ends_on = _date_field(_("Ends on"), required=False, help_text=_("Empty: open-ended."))


def shop_create_form(workspace: Workspace, data: Any = None) -> forms.Form:
    """The new-shop form for this kind of workspace."""
    if workspace.kind == Workspace.Kind.AGENCY:
        return AgencyShopForm(data, initial={"mode": Engagement.Mode.OUTSOURCED})
    return MerchantShopForm(data)


class ShopSettingsForm(forms.Form):
    name = forms.CharField(label=_("Shop name"), max_length=200)
    ticket_prefix = TicketPrefixField(
        help_text=_(
            "Shown before ticket numbers, for example TEA in #TEA-1234. Existing tickets show the"
            " new prefix; replies to earlier mail still find their tickets by the mail headers."
        )
    )
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        help_text=_("An IANA time zone name, for example Asia/Tokyo."),
    )
    default_language = forms.ChoiceField(label=_("Default language"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["default_language"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = list(settings.LANGUAGES)


class OwnerInvitationForm(forms.Form):
    """An engaged agency invites the shop company's first admin (the shop page)."""

    prefix = "owner"

    email = forms.EmailField(
        label=_("Email address"), widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    display_name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("Optional: the mail greets them by it, and they may change it."),
    )


class EngagementForm(PeriodForm):
    mode = forms.ChoiceField(label=_("Engagement"), choices=Engagement.Mode.choices)
    starts_on = _date_field(_("Starts on"), required=True)
    ends_on = _date_field(_("Ends on"), required=False, help_text=_("Empty: open-ended."))


class EngagementEndForm(forms.Form):
    ends_on = _date_field(
        _("Last day"), required=True, help_text=_("The agency loses the shop the day after.")
    )


class InvitationForm(PeriodForm):
    mode = forms.ChoiceField(label=_("Engagement"), choices=Engagement.Mode.choices)
    starts_on = _date_field(
        _("Starts on"), required=False, help_text=_("Empty: the day the agency accepts.")
    )
    ends_on = _date_field(_("Ends on"), required=False, help_text=_("Empty: open-ended."))


class AcceptForm(forms.Form):
    code = forms.CharField(
        label=_("Invitation code"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The code or the link the shop company gave you."),
    )
    agency = forms.TypedChoiceField(label=_("Agency"), coerce=int)

    def __init__(self, *args: Any, agencies: list[Workspace], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["agency"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(agency.id, agency.name) for agency in agencies]
        if len(agencies) == 1:
            field.initial = agencies[0].id
            field.widget = forms.HiddenInput()

    def clean_code(self) -> str:
        return invitation_code_from(str(self.cleaned_data["code"]))


def invitation_code_from(raw: str) -> str:
    """The code itself, or the `code` parameter of a pasted link."""
    text = raw.strip()
    if "?" in text:
        return parse_qs(urlsplit(text).query).get("code", [""])[0].strip()
    return text


class CategoryForm(forms.Form):
    """Add or rename a category."""

    name = forms.CharField(label=_("Category name"), max_length=100)


class TagForm(forms.Form):
    """Add or rename a tag."""

    name = forms.CharField(label=_("Tag name"), max_length=50)
