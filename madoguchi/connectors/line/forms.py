"""Forms of the LINE channel pages: they parse input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

# The services' refusals, shown translated on the forms (`core.service_forms.error_text`).
SERVICE_MESSAGES = (
    gettext_noop("Only a supervisor or admin may connect a LINE channel."),
    gettext_noop("Only a supervisor or admin may change a LINE channel."),
    gettext_noop("Fill in the name, channel ID, channel secret and access token."),
    gettext_noop("Fill in the name and the channel ID."),
    gettext_noop("The channel ID is a number."),
    # Merging a LINE customer into another (customers.services.customer_merge).
    gettext_noop("Choose the customer to merge into."),
    gettext_noop("Both customers must belong to the same shop."),
    gettext_noop("A customer cannot be merged into itself."),
    gettext_noop("The customer no longer exists."),
)

SECRET_WIDGET = forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False)


class LineChannelForm(forms.Form):
    """Connect a channel, or (with `is_edit`) change one: secrets left empty stay as they are."""

    name = forms.CharField(label=pgettext_lazy("LINE channel", "Name"), max_length=100)
    channel_id = forms.RegexField(
        label=_("Channel ID"),
        regex=r"^\s*\d+\s*$",
        max_length=64,
        error_messages={"invalid": _("The channel ID is a number.")},
        help_text=_("The Messaging API channel's ID in the LINE Developers console."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    channel_secret = forms.CharField(
        label=_("Channel secret"), max_length=128, widget=SECRET_WIDGET
    )
    access_token = forms.CharField(
        label=_("Channel access token"), max_length=2000, widget=SECRET_WIDGET
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("An inactive channel answers LINE's webhooks with 404 and sends nothing."),
    )

    def __init__(self, *args: Any, is_edit: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if is_edit:
            for name in ("channel_secret", "access_token"):
                self.fields[name].required = False
                self.fields[name].help_text = _("Leave empty to keep the saved value.")
        else:
            del self.fields["is_active"]
