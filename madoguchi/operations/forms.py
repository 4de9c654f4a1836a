"""Forms of the operations pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from madoguchi.conversations.models import Category, Ticket
from madoguchi.operations.templating import VARIABLES, placeholder_problems

SERVICE_MESSAGES = (
    gettext_noop("The template belongs to another shop."),
    gettext_noop("A template needs a name and a text."),
    gettext_noop("A template of this name and language exists."),
    gettext_noop("Only a supervisor may approve replies."),
    gettext_noop("This reply was already handled."),
    gettext_noop("Write what the trainee should change."),
    gettext_noop("A trainee's reply waits for a supervisor's approval."),
    gettext_noop("A ticket cannot be merged into itself."),
    gettext_noop("Only tickets of the same shop can be merged."),
    gettext_noop("Only tickets of the same customer can be merged."),
    gettext_noop("A closed ticket cannot be merged."),
    gettext_noop("Only a customer's message can be split out."),
    gettext_noop("A ticket keeps at least one message."),
)


def placeholder_help() -> str:
    names = ", ".join("{{ " + name + " }}" for name in VARIABLES)
    return gettext("Placeholders: %(names)s") % {"names": names}


def clean_template_text(text: str) -> str:
    """Refuse a template text with unknown placeholders, unclosed braces or template tags."""
    problems = placeholder_problems(text)
    if problems:
        raise forms.ValidationError(
            [
                forms.ValidationError(gettext(problem.message) % dict(problem.params))
                for problem in problems
            ]
        )
    return text


def _tag_names(raw: str) -> list[str]:
    names = raw.replace("、", ",").replace("，", ",").split(",")
    return [name.strip() for name in names if name.strip()]


class ReplyTemplateForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("reply template", "Name"), max_length=100)
    language = forms.ChoiceField(label=_("Language"))
    body = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"rows": 8}), max_length=20_000
    )
    set_status = forms.ChoiceField(
        label=_("Set the status to"),
        choices=[("", _("(keep)")), *Ticket.Status.choices],
        required=False,
    )
    set_tags = forms.CharField(
        label=_("Add tags"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas."),
    )
    set_category = forms.ModelChoiceField(
        label=_("Set the category to"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=_("(keep)"),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, categories: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].help_text = placeholder_help()
        language_field = self.fields["language"]
        assert isinstance(language_field, forms.ChoiceField)
        language_field.choices = list(settings.LANGUAGES)
        category_field = self.fields["set_category"]
        assert isinstance(category_field, forms.ModelChoiceField)
        category_field.queryset = categories

    def clean_body(self) -> str:
        return clean_template_text(str(self.cleaned_data["body"]))

    def tag_names(self) -> list[str]:
        return _tag_names(str(self.cleaned_data.get("set_tags") or ""))


class AfterHoursForm(forms.Form):
    is_enabled = forms.BooleanField(label=_("Send an after-hours reply"), required=False)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=20_000,
        help_text=_("Empty: the standard text in the ticket's language."),
    )

    def clean_body(self) -> str:
        return clean_template_text(str(self.cleaned_data.get("body") or ""))


class DraftReviewForm(forms.Form):
    body = forms.CharField(
        label=_("Reply to the customer"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=200_000,
    )


class DraftReturnForm(forms.Form):
    comment = forms.CharField(
        label=_("What should change"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
