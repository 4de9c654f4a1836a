from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.privacy.models import RetentionPolicy


class RetentionPolicyForm(forms.ModelForm[RetentionPolicy]):
    class Meta:
        model = RetentionPolicy
        fields = ["is_enabled", "closed_ticket_years", "raw_payload_days"]


class ErasureForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("For example: the customer asked for deletion by mail on 2026-12-01."),
    )
    confirmation = forms.CharField(
        label=_("Confirmation"),
        max_length=200,
        help_text=_("Type the customer's name, or 削除 if the customer has no name."),
    )
