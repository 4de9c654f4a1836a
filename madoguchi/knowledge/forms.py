from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.knowledge.models import (
    Article,
    ArticleCategory,
    ImprovementItem,
    KnowledgeSettings,
    Language,
)


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Body"), widget=forms.Textarea(attrs={"rows": 14}))
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    visibility = forms.ChoiceField(label=_("Visibility"), choices=Article.Visibility.choices)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=ArticleCategory.objects.none(), required=False
    )
    note = forms.CharField(
        label=_("Change note"),
        max_length=200,
        required=False,
        help_text=_("What changed, for the revision history (optional)."),
    )
    expected_revision = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, shop_id: int, may_write_internal: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category_field = self.fields["category"]
        assert isinstance(category_field, forms.ModelChoiceField)
        category_field.queryset = ArticleCategory.objects.filter(shop_id=shop_id)
        if not may_write_internal:
            visibility = self.fields["visibility"]
            assert isinstance(visibility, forms.ChoiceField)
            visibility.choices = [(Article.Visibility.PUBLIC, Article.Visibility.PUBLIC.label)]


class KnowledgeSettingsForm(forms.ModelForm[KnowledgeSettings]):
    class Meta:
        model = KnowledgeSettings
        fields = ["is_help_center_enabled", "clients_may_edit"]


class CategoryForm(forms.Form):
    name = forms.CharField(label=_("New category"), max_length=80)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=999, initial=0)


class ImprovementForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=ImprovementItem.Kind.choices)
    status = forms.ChoiceField(label=_("Status"), choices=ImprovementItem.Status.choices)
    owner = forms.TypedChoiceField(label=_("Owner"), coerce=int, required=False, empty_value=None)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    ticket_numbers = forms.CharField(
        label=_("Tickets"),
        required=False,
        help_text=_("The numbers of the tickets that motivated it, separated by spaces or commas."),
    )

    def __init__(self, *args: Any, owners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.TypedChoiceField)
        owner.choices = [("", "—"), *owners]

    def clean_ticket_numbers(self) -> list[int]:
        raw = str(self.cleaned_data.get("ticket_numbers") or "")
        numbers = []
        for part in raw.replace(",", " ").replace("、", " ").split():
            digits = part.lstrip("#").split("-")[-1]
            if not digits.isdigit():
                raise forms.ValidationError(_("Enter ticket numbers such as 12 or TEA-12."))
            numbers.append(int(digits))
        return numbers
