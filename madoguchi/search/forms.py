"""The search page's query string: the words, and filters for shop, status, channel and dates."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.conversations.models import Channel, Ticket
from madoguchi.search.query import MAX_QUERY_CHARS


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=MAX_QUERY_CHARS)
    shop = forms.SlugField(label=_("Shop"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Any status")), *Ticket.Status.choices],
        required=False,
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("Any channel")), *Channel.choices], required=False
    )
    date_from = forms.DateField(
        label=_("Active from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Active until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, shop_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the actor's shops are offered; any other slug gives 404 in the view.
        self.fields["shop"].widget = forms.Select(choices=[("", _("All shops")), *shop_choices])
