"""Forms of the shift schedule, coverage and attainment pages: they parse; services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from madoguchi.operations.models import OperatorProfile
from madoguchi.tenancy.models import Membership

SERVICE_MESSAGES = (
    gettext_noop("This person does not work for this shop."),
    gettext_noop("Only an admin or supervisor of the person's workspace may plan their shifts."),
    gettext_noop("A shift must end after it starts."),
    gettext_noop("A shift lasts at most 24 hours."),
    gettext_noop("This overlaps the same person's shift %(starts_at)s – %(ends_at)s."),
    gettext_noop("Unknown status."),
    gettext_noop("Only a supervisor or admin may change the coverage promise."),
    gettext_noop("Only the shop's supervisors and its client may read this."),
)

# Suggested labels of the label field (a datalist); any other label is fine too.
SHIFT_LABELS = (_("Day shift"), _("Night shift"), _("Weekend shift"))
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=LOCAL_INPUT)


def member_label(membership: Membership) -> str:
    return membership.user.display_name or membership.user.email


class ShiftForm(forms.Form):
    """A shift of one person; times are read in the shop's time zone (the view activates it)."""

    membership = forms.TypedChoiceField(label=_("Person"), coerce=int)
    label = forms.CharField(
        label=_("Label"),
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"list": "shift-labels"}),
        help_text=_("For example day, night or weekend shift."),
    )
    starts_at = forms.DateTimeField(
        label=_("Starts"), input_formats=[LOCAL_INPUT], widget=LocalDateTimeInput()
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"),
        input_formats=[LOCAL_INPUT],
        widget=LocalDateTimeInput(),
        help_text=_("A night shift ends on the next day."),
    )

    def __init__(self, *args: Any, memberships: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.memberships = {membership.id: membership for membership in memberships}
        field = self.fields["membership"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(m.id, member_label(m)) for m in memberships]

    def chosen_membership(self) -> Membership:
        return self.memberships[int(self.cleaned_data["membership"])]


class DutyForm(forms.Form):
    duty = forms.ChoiceField(label=_("My status"), choices=OperatorProfile.Duty.choices)


class CoveragePromiseForm(forms.Form):
    promises_24_7 = forms.BooleanField(
        label=_("The contract promises someone on duty 24/365"), required=False
    )


def parse_week(raw: str | None, today: dt.date) -> dt.date:
    """Return the date named by `?week=YYYY-MM-DD`, or today when absent or invalid."""
    try:
        return dt.date.fromisoformat(raw) if raw else today
    except ValueError:
        return today


def parse_month(raw: str | None, today: dt.date) -> tuple[int, int]:
    """Return (year, month) named by `?month=YYYY-MM`, or the current month."""
    try:
        year, month = (int(part) for part in (raw or "").split("-"))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return year, month
    except ValueError:
        pass
    return today.year, today.month
