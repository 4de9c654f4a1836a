"""The forms of the customer page."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.customers.services import NOTE_MAX_CHARS, REVEAL_REASON_MAX_CHARS


class CustomerNoteForm(forms.Form):
    """The staff's memo on a customer; an empty memo removes it."""

    note = forms.CharField(
        label=_("Memo"),
        required=False,
        max_length=NOTE_MAX_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For the support staff: gift orders, preferred contact times, and so on."),
    )


class RevealForm(forms.Form):
    """Why the masked contacts of a customer are needed (written to the audit log)."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=REVEAL_REASON_MAX_CHARS,
        help_text=_("For example: confirming the address for a redelivery. It is recorded."),
    )
