"""Forms of the shop settings pages of operations: business calendar, SLA policies, routing.

They parse what people type (times such as 10:00-12:00, durations such as 4:30 or 90) and
report mistakes beside the field; the services decide and check again.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from madoguchi.conversations.models import Channel, Ticket
from madoguchi.operations.business_calendar import (
    MAX_INTERVALS_PER_DAY,
    Hours,
    day_hours_problem,
)
from madoguchi.operations.models import RoutingSettings, Weekday

# Messages the services raise, shown through gettext (collected here for the catalog).
SERVICE_MESSAGES = (
    gettext_noop("Only a supervisor or admin may change the business calendar."),
    gettext_noop("Only a supervisor or admin may change SLA policies."),
    gettext_noop("Only a supervisor or admin may change routing."),
    gettext_noop("Unknown weekday."),
    gettext_noop("A closure needs a name."),
    gettext_noop("The name is too long."),
    gettext_noop("A closure must end on or after its first day."),
    gettext_noop("A closure lasts at most a year."),
    gettext_noop("This closure is already in the calendar."),
    gettext_noop("A policy needs a name."),
    gettext_noop("Unknown priority."),
    gettext_noop("Unknown channel."),
    gettext_noop("Set at least one target."),
    gettext_noop("A target is between one minute and a year."),
    gettext_noop("The warning is between 0 minutes and a year."),
    gettext_noop("The position is between 0 and 999."),
    gettext_noop("A policy of this name exists."),
    gettext_noop("Unknown routing mode."),
    gettext_noop("The limit is between 1 and 999 open tickets."),
)

_DASHES = str.maketrans({"〜": "-", "~": "-", "–": "-", "—": "-", "－": "-", "ー": "-"})
_INTERVAL = re.compile(r"^(\d{1,2})(?::(\d{2}))?-(\d{1,2})(?::(\d{2}))?$")


def _time(hour: str, minute: str | None, *, is_close: bool) -> dt.time | None:
    hours, minutes = int(hour), int(minute or 0)
    if is_close and (hours, minutes) == (24, 0):
        return dt.time(0)  # midnight at the day's end
    if hours > 23 or minutes > 59:
        return None
    return dt.time(hours, minutes)


def parse_day_hours(text: str) -> list[Hours]:
    """Return the intervals of a text such as "10:00-12:00, 13:00-18:00" (also 10-12,
    full-width digits, 〜 and 、); raise forms.ValidationError naming the piece not understood."""
    normal = unicodedata.normalize("NFKC", text).translate(_DASHES)
    normal = re.sub(r"\s*-\s*", "-", normal)
    intervals = []
    for piece in re.split(r"[,、;\s]+", normal.strip()):
        if not piece:
            continue
        match = _INTERVAL.match(piece)
        opens = closes = None
        if match:
            opens = _time(match[1], match[2], is_close=False)
            closes = _time(match[3], match[4], is_close=True)
        if opens is None or closes is None:
            raise forms.ValidationError(
                gettext("“%(piece)s” is not a time range such as 10:00-12:00.") % {"piece": piece},
                code="invalid",
            )
        intervals.append((opens, closes))
    return sorted(intervals)


_PLAIN_MINUTES = re.compile(r"^(\d+)$")
_HOURS_COLON_MINUTES = re.compile(r"^(\d+):([0-5]\d)$")
_HOURS_AND_MINUTES = re.compile(
    r"^(?:(\d+(?:\.\d+)?)(?:h|hr|hrs|hour|hours|時間))?(?:(\d+)(?:m|min|mins|minute|minutes|分))?$"
)


def parse_minutes(text: str) -> int | None:
    """Return the minutes of "4:30", "4h", "4h30m", "1.5h", "90m", "4時間30分" or "90"; None
    when the text is none of these."""
    normal = unicodedata.normalize("NFKC", text).lower().replace(" ", "")
    if match := _PLAIN_MINUTES.match(normal):
        return int(match[1])
    if match := _HOURS_COLON_MINUTES.match(normal):
        return int(match[1]) * 60 + int(match[2])
    match = _HOURS_AND_MINUTES.match(normal)
    if match and (match[1] or match[2]):
        return round(float(match[1] or 0) * 60) + int(match[2] or 0)
    return None


def minutes_text(minutes: int) -> str:
    """Return minutes as h:mm, the way the duration fields show a stored value."""
    return f"{minutes // 60}:{minutes % 60:02d}"


class MinutesField(forms.Field):
    """A duration typed as h:mm, hours (4h, 4時間), minutes (90, 90m, 90分) or both; in minutes."""

    widget = forms.TextInput(attrs={"inputmode": "text", "size": 8})
    default_error_messages = {
        "invalid": _("Enter a duration such as 4:30, 4h, 4h30m or 90 (minutes)."),
        "too_long": _("At most a year."),
    }

    def to_python(self, value: Any) -> int | None:
        text = str(value or "").strip()
        if not text:
            return None
        if len(text) > 20:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        minutes = parse_minutes(text)
        if minutes is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if minutes > 365 * 24 * 60:
            raise forms.ValidationError(self.error_messages["too_long"], code="too_long")
        return minutes

    def prepare_value(self, value: Any) -> Any:
        return minutes_text(value) if isinstance(value, int) else value


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


# Business calendar ------------------------------------------------------------------------------


def hours_field_name(weekday: int) -> str:
    return f"hours_{weekday}"


class CalendarForm(forms.Form):
    """The shop's holiday rule, 24/365 flag and one hours field per weekday (the time zone is
    the shop's, set on its settings page)."""

    observes_national_holidays = forms.BooleanField(
        label=_("Closed on national holidays"),
        required=False,
        help_text=_("Japanese public holidays, substitute holidays included."),
    )
    always_open = forms.BooleanField(
        label=_("Open 24/365"),
        required=False,
        help_text=_(
            "SLA clocks run around the clock, every day: the weekly hours, holidays and closures"
            " below are then not used."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for weekday, label in Weekday.choices:
            self.fields[hours_field_name(weekday)] = forms.CharField(
                label=label,
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"placeholder": gettext("closed")}),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for weekday in Weekday.values:
            name = hours_field_name(weekday)
            if name in self.errors:
                continue
            try:
                intervals = parse_day_hours(str(cleaned.get(name) or ""))
            except forms.ValidationError as error:
                self.add_error(name, error)
                continue
            problem = day_hours_problem(intervals)
            if problem is not None:
                message, values = problem
                self.add_error(name, gettext(message) % values)
                continue
            cleaned[name] = intervals
        return cleaned

    def weekly_hours(self) -> dict[int, list[Hours]]:
        return {
            weekday: list(self.cleaned_data[hours_field_name(weekday)])
            for weekday in Weekday.values
            if self.cleaned_data[hours_field_name(weekday)]
        }


CALENDAR_HELP = _(
    "Several ranges a day make breaks: 10:00-12:00, 13:00-18:00. Empty: closed all day."
    " 24:00 (or 00:00) closes at midnight. At most %(count)s ranges a day."
)


def calendar_help() -> str:
    return str(CALENDAR_HELP) % {"count": MAX_INTERVALS_PER_DAY}


class ClosureForm(forms.Form):
    name = forms.CharField(
        label=pgettext_lazy("closure", "Name"),
        max_length=100,
        help_text=_("For example 年末年始, お盆 or 棚卸."),
    )
    starts_on = forms.DateField(label=_("From"), widget=DateInput())
    ends_on = forms.DateField(label=_("To (inclusive)"), widget=DateInput())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", gettext("A closure must end on or after its first day."))
        return cleaned


# SLA policies -----------------------------------------------------------------------------------


class SlaPolicyForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("SLA policy", "Name"), max_length=100)
    priority = forms.ChoiceField(
        label=_("Priority"),
        required=False,
        choices=[("", _("Any priority")), *Ticket.Priority.choices],
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("Any channel")), *Channel.choices]
    )
    first_response_minutes = MinutesField(
        label=_("First response within"),
        required=False,
        help_text=_("h:mm, hours (4h) or minutes (90). Empty: no target."),
    )
    next_response_minutes = MinutesField(
        label=_("Next response within"),
        required=False,
        help_text=_("After each new customer message. Empty: no target."),
    )
    resolution_minutes = MinutesField(
        label=_("Resolution within"),
        required=False,
        help_text=_("From the first message to solved. Empty: no target."),
    )
    in_business_hours = forms.BooleanField(
        label=_("Count business hours only"),
        required=False,
        help_text=_(
            "On: the clock runs only while the business calendar is open (4h means four open"
            " hours). Off: calendar time, around the clock."
        ),
    )
    warn_minutes_before = MinutesField(
        label=_("Warn before the due time"),
        help_text=_("The leads' alerts page shows a warning this long before a target is due."),
    )
    escalate_on_breach = forms.BooleanField(
        label=_("Escalate a breach to the shop's supervisors"),
        required=False,
        help_text=_(
            "Also hands the ticket to another operator when routing reassigns at a breach."
        ),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False)
    position = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        max_value=999,
        help_text=_("Among equally specific policies, the lower position wins."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        targets = ("first_response_minutes", "next_response_minutes", "resolution_minutes")
        if not any(name in self.errors for name in targets) and all(
            cleaned.get(name) is None for name in targets
        ):
            raise forms.ValidationError(gettext("Set at least one target."))
        return cleaned


# Routing ----------------------------------------------------------------------------------------


def channel_field_name(channel: str) -> str:
    return f"channel_{channel}"


class RoutingForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("Routing of new tickets"),
        choices=RoutingSettings.Mode.choices,
        widget=forms.RadioSelect,
    )
    requires_on_duty = forms.BooleanField(
        label=_("Only operators on duty"),
        required=False,
        help_text=_(
            "On duty: status available and a shift covering the moment. Off: every operator"
            " assigned to the shop may get tickets."
        ),
    )
    requires_language_skill = forms.BooleanField(
        label=_("Match the ticket's language"),
        required=False,
        help_text=_("Only operators with the ticket's language among their skills."),
    )
    max_open_per_operator = forms.IntegerField(
        label=_("Open tickets per operator (limit)"),
        required=False,
        min_value=1,
        max_value=999,
        help_text=_("An operator at the limit gets no new tickets. Empty: no limit."),
    )
    reassign_on_breach = forms.BooleanField(
        label=_("Reassign a ticket when its SLA is breached"),
        required=False,
        help_text=_(
            "Another eligible operator takes the ticket by the routing mode (least load when"
            " routing is manual); when nobody else may take it, it stays."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for channel, label in Channel.choices:
            self.fields[channel_field_name(channel)] = forms.ChoiceField(
                label=label,
                required=False,
                choices=[("", _("As the shop's mode")), *RoutingSettings.Mode.choices],
            )

    def channel_fields(self) -> list[forms.BoundField]:
        return [self[channel_field_name(channel)] for channel in Channel.values]

    def general_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name in (
                "requires_on_duty",
                "requires_language_skill",
                "max_open_per_operator",
                "reassign_on_breach",
            )
        ]

    def channel_modes(self) -> dict[str, str]:
        return {
            channel: str(self.cleaned_data[channel_field_name(channel)])
            for channel in Channel.values
            if self.cleaned_data.get(channel_field_name(channel))
        }
