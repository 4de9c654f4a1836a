from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from madoguchi.reports.models import ImprovementPoint

MAX_EXTRA_RECIPIENTS = 10


class MonthField(forms.DateField):
    """A month as YYYY-MM (the browser's <input type=month>), cleaned to its first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
    input_formats = ["%Y-%m"]


class GenerateForm(forms.Form):
    month = MonthField(label=_("Month"))


class PointForm(forms.Form):
    month = MonthField(widget=forms.HiddenInput(), input_formats=["%Y-%m"])
    area = forms.ChoiceField(label=_("Area"), choices=ImprovementPoint.Area.choices)
    text = forms.CharField(
        label=_("Improvement point"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class AcceptForm(forms.Form):
    month = MonthField(widget=forms.HiddenInput(), input_formats=["%Y-%m"])
    source = forms.ChoiceField(
        choices=[
            (ImprovementPoint.Source.IMPROVEMENT_ITEM, ImprovementPoint.Source.IMPROVEMENT_ITEM),
            (ImprovementPoint.Source.FAQ_CANDIDATE, ImprovementPoint.Source.FAQ_CANDIDATE),
        ]
    )
    source_id = forms.IntegerField(min_value=1)


class ReportSettingsForm(forms.Form):
    is_enabled = forms.BooleanField(
        label=_("Generate last month's report on the 1st and mail it to the shop's client users"),
        required=False,
    )
    shows_operator_names = forms.BooleanField(
        label=_("Show operator names in the report"), required=False
    )
    extra_recipients = forms.CharField(
        label=_("Extra recipients (one address a line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_extra_recipients(self) -> list[str]:
        value: str = self.cleaned_data.get("extra_recipients") or ""
        addresses = [line.strip() for line in value.splitlines() if line.strip()]
        if len(addresses) > MAX_EXTRA_RECIPIENTS:
            raise forms.ValidationError(_("At most 10 extra recipients."))
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError as error:
                raise forms.ValidationError(
                    _("%(address)s is not an email address."), params={"address": address}
                ) from error
        return addresses

    def clean(self) -> dict[str, Any]:
        return super().clean() or {}
