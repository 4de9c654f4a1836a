"""Forms of the survey page (customers) and the CSAT settings page (the shop's leads)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.csat.models import MAX_COMMENT_CHARS, MAX_DELAY_MINUTES
from madoguchi.csat.services import MAX_WORDING_CHARS, WORDING_LIMITS

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


class SurveyForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=[(str(score), str(score)) for score in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=MAX_COMMENT_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    opt_out = forms.BooleanField(label=_("Do not send me surveys again"), required=False)


def _wording_field(label: _StrPromise, name: str) -> forms.CharField:
    limit = WORDING_LIMITS.get(name, MAX_WORDING_CHARS)
    widget = forms.TextInput() if limit <= 200 else forms.Textarea(attrs={"rows": 3})
    return forms.CharField(
        label=label,
        required=False,
        max_length=limit,
        widget=widget,
        help_text=_("Empty: the default text."),
    )


class CsatSettingsForm(forms.Form):
    is_enabled = forms.BooleanField(
        label=_("Send a survey after a ticket is solved"), required=False
    )
    delay_minutes = forms.IntegerField(
        label=_("Delay after solving (minutes)"),
        min_value=0,
        max_value=MAX_DELAY_MINUTES,
        help_text=_("A ticket reopened within the delay gets its survey when it is solved again."),
    )
    question_ja = _wording_field(_("Question (Japanese)"), "question_ja")
    question_en = _wording_field(_("Question (English)"), "question_en")
    comment_prompt_ja = _wording_field(_("Comment prompt (Japanese)"), "comment_prompt_ja")
    comment_prompt_en = _wording_field(_("Comment prompt (English)"), "comment_prompt_en")
    thanks_ja = _wording_field(_("Thanks (Japanese)"), "thanks_ja")
    thanks_en = _wording_field(_("Thanks (English)"), "thanks_en")

    WORDING = (
        "question_ja",
        "question_en",
        "comment_prompt_ja",
        "comment_prompt_en",
        "thanks_ja",
        "thanks_en",
    )

    def wording(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in self.WORDING}
