from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.billing.models import (
    BillingSettings,
    ContractOption,
    Plan,
    TaxCategory,
)
from madoguchi.billing.pricing import CHANNEL_ORDER, OptionPrice
from madoguchi.billing.services import TermsInput
from madoguchi.tenancy.models import Engagement

OPTION_ROWS = 3


class BillingSettingsForm(forms.ModelForm[BillingSettings]):
    class Meta:
        model = BillingSettings
        fields = [
            "issuer_name",
            "registration_number",
            "issuer_address",
            "bank_account",
            "payment_terms_days",
            "rounding",
            "is_auto_issue",
            "number_prefix",
        ]
        widgets = {
            "issuer_address": forms.Textarea(attrs={"rows": 3}),
            "bank_account": forms.Textarea(attrs={"rows": 2}),
        }


def _channel_label(channel: str) -> Any:
    from madoguchi.conversations.models import Channel

    return Channel(channel).label


class TermsForm(forms.Form):
    """The prices of a terms version, with up to three options."""

    plan = forms.ChoiceField(label=_("plan"), choices=Plan.choices)
    monthly_fee = forms.IntegerField(label=_("monthly fee (yen)"), min_value=0, initial=0)
    included_contacts = forms.IntegerField(
        label=_("contacts included per month"), min_value=0, initial=0
    )
    overage_rate = forms.DecimalField(
        label=_("overage per contact (yen)"), min_value=0, decimal_places=2, initial=0
    )
    setup_fee = forms.IntegerField(label=_("setup fee (yen)"), min_value=0, initial=0)
    tax_category = forms.ChoiceField(
        label=_("tax category"), choices=TaxCategory.choices, initial=TaxCategory.STANDARD
    )
    reopen_after_days = forms.IntegerField(
        label=_("a chat quiet this many days counts anew"), min_value=0, initial=7
    )
    excluded_tags = forms.CharField(
        label=_("tags that never count"), required=False, initial="spam", max_length=200
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for channel in CHANNEL_ORDER:
            self.fields[f"rate_{channel}"] = forms.DecimalField(
                label=_("Rate per contact: %(channel)s") % {"channel": _channel_label(channel)},
                min_value=0,
                decimal_places=2,
                required=False,
            )
        for index in range(OPTION_ROWS):
            self.fields[f"option_{index}_name"] = forms.CharField(
                label=_("Option %(n)s") % {"n": index + 1}, required=False, max_length=200
            )
            self.fields[f"option_{index}_pricing"] = forms.ChoiceField(
                label=_("priced"), choices=ContractOption.Pricing.choices, required=False
            )
            self.fields[f"option_{index}_price"] = forms.DecimalField(
                label=_("price (yen)"), min_value=0, decimal_places=2, required=False
            )
            self.fields[f"option_{index}_tax"] = forms.ChoiceField(
                label=_("tax category"),
                choices=TaxCategory.choices,
                required=False,
                initial=TaxCategory.STANDARD,
            )

    def terms_input(self) -> TermsInput:
        data = self.cleaned_data
        options = []
        for index in range(OPTION_ROWS):
            name = (data.get(f"option_{index}_name") or "").strip()
            if not name:
                continue
            options.append(
                OptionPrice(
                    name=name,
                    pricing=data.get(f"option_{index}_pricing") or ContractOption.Pricing.PER_MONTH,
                    unit_price=data.get(f"option_{index}_price") or Decimal("0"),
                    tax_category=data.get(f"option_{index}_tax") or TaxCategory.STANDARD,
                )
            )
        return TermsInput(
            plan=data["plan"],
            monthly_fee=data["monthly_fee"],
            included_contacts=data["included_contacts"],
            overage_rate=data["overage_rate"],
            channel_rates={
                channel: data[f"rate_{channel}"]
                for channel in CHANNEL_ORDER
                if data.get(f"rate_{channel}")
            },
            setup_fee=data["setup_fee"],
            tax_category=data["tax_category"],
            reopen_after_days=data["reopen_after_days"],
            excluded_tags=data.get("excluded_tags") or "",
            options=options,
        )


class EngagementChoiceField(forms.ModelChoiceField[Engagement]):
    def label_from_instance(self, obj: Engagement) -> str:
        return obj.shop.name


class ContractForm(TermsForm):
    engagement = EngagementChoiceField(label=_("client shop"), queryset=Engagement.objects.none())
    name = forms.CharField(label=_("name"), max_length=200)
    starts_on = forms.DateField(
        label=_("starts on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=_("ends on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    minimum_term_months = forms.IntegerField(
        label=_("minimum term (months)"), min_value=0, initial=0
    )
    field_order = ["engagement", "name", "starts_on", "ends_on", "minimum_term_months"]

    def __init__(self, *args: Any, workspace_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["engagement"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Engagement.objects.filter(agency_id__in=workspace_ids).select_related(
            "shop"
        )
        self.order_fields(self.field_order)


class TermsChangeForm(TermsForm):
    effective_from = forms.DateField(
        label=_("applies from"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(["effective_from"])


class CreditNoteForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class DraftForm(forms.Form):
    month = forms.DateField(
        label=_("month"), widget=forms.DateInput(attrs={"type": "month"}), input_formats=["%Y-%m"]
    )
