"""The audit log page's filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.audit.labels import ALL_GROUPS
from madoguchi.audit.selectors import AuditFilters, AuditReach


class AuditFilterForm(forms.Form):
    date_from = forms.DateField(
        label=pgettext_lazy("audit log", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label=pgettext_lazy("audit log", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    group = forms.ChoiceField(label=pgettext_lazy("audit log", "Kind"), required=False)
    actor = forms.CharField(label=_("Who (email address)"), required=False, max_length=254)
    shop = forms.TypedChoiceField(label=_("Shop"), required=False, coerce=int, empty_value=None)
    target = forms.CharField(label=_("Target (kind or ID)"), required=False, max_length=64)

    def __init__(self, *args: Any, reach: AuditReach, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        everything = ("", _("All"))
        group_field = self.fields["group"]
        shop_field = self.fields["shop"]
        assert isinstance(group_field, forms.ChoiceField)
        assert isinstance(shop_field, forms.ChoiceField)
        group_field.choices = [everything, *((group.key, group.label) for group in ALL_GROUPS)]
        shop_field.choices = [everything, *((shop.id, shop.name) for shop in reach.shops)]

    def filters(self) -> AuditFilters:
        """The filters of a valid form (an invalid one filters nothing)."""
        if not self.is_valid():
            return AuditFilters()
        data = self.cleaned_data
        return AuditFilters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            group=data["group"] or "",
            actor=data["actor"].strip(),
            shop_id=data["shop"],
            target=data["target"].strip(),
        )
