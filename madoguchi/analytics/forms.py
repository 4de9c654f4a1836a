"""The dashboard's filter form (read from the query string) and the settings form."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.conversations.models import Channel

MAX_PERIOD_DAYS = 366


class DashboardFilterForm(forms.Form):
    shop = forms.ChoiceField(label=_("Shop"), required=False)
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("To"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    category = forms.TypedChoiceField(
        label=_("Category"), required=False, coerce=int, empty_value=None
    )
    operator = forms.TypedChoiceField(
        label=_("Operator"), required=False, coerce=int, empty_value=None
    )

    def __init__(
        self,
        *args: Any,
        shop_choices: list[tuple[str, str]],
        category_choices: list[tuple[int, str]],
        operator_choices: list[tuple[int, str]] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["shop"]).choices = [
            ("", _("All my shops")),
            *shop_choices,
        ]
        cast(forms.ChoiceField, self.fields["channel"]).choices = [
            ("", _("All channels")),
            *Channel.choices,
        ]
        category_field = self.fields["category"]
        assert isinstance(category_field, forms.TypedChoiceField)
        category_field.choices = [("", _("All categories")), *category_choices]
        if operator_choices is None:
            del self.fields["operator"]
        else:
            operator_field = self.fields["operator"]
            assert isinstance(operator_field, forms.TypedChoiceField)
            operator_field.choices = [("", _("All operators")), *operator_choices]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start: dt.date | None = cleaned.get("date_from")
        end: dt.date | None = cleaned.get("date_to")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The end of the period is before its start."))
            if (end - start).days >= MAX_PERIOD_DAYS:
                raise forms.ValidationError(_("A period is at most 366 days."))
        return cleaned


class AnalyticsSettingsForm(forms.Form):
    shows_operator_names_to_client = forms.BooleanField(
        label=_("Show operator names to the shop's client users"), required=False
    )
