"""Forms of the accounts pages: sign-in (throttled), codes, profile, 2FA, workspace security."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts import services
from madoguchi.accounts.models import User
from madoguchi.accounts.sessions import client_address

LOCKED_MESSAGE = _(
    "Too many failed sign-in attempts. Wait 15 minutes, then try again, or reset your password."
)


class EmailAuthenticationForm(AuthenticationForm):
    """Email and password; refused for a while after too many failures (`accounts.throttling`).

    The refusal reads the same whether the account exists or not.
    """

    username = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {**AuthenticationForm.error_messages, "locked": LOCKED_MESSAGE}

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not email or not password:
            return super().clean()
        address = client_address(self.request)
        hold = services.sign_in_hold(email=email, address=address)  # counted before the check
        if hold is None:
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        cleaned = super().clean()  # a failure keeps the hold's rows as its count
        hold.release()
        return cleaned


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class SignInCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_("The 6-digit code of your authenticator app, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "one-time-code", "spellcheck": "false"}
        ),
    )


class AuthenticatorConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class PasswordConfirmForm(forms.Form):
    """The user's current password, asked again before a sensitive change."""

    password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("The password is not correct."), code="wrong_password")
        return password


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=100)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)


class WorkspaceSecurityForm(forms.Form):
    requires_two_factor = forms.BooleanField(
        label=_("Require two-step sign-in for staff"),
        required=False,
        help_text=_(
            "Admins, supervisors and operators without an authenticator app are asked to set "
            "one up at their next page and can use nothing else until they have."
        ),
    )


class IpAllowlistForm(forms.Form):
    ip_allowlist = forms.CharField(
        label=_("Networks staff may work from"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_(
            "One IP address or network (CIDR, IPv4 or IPv6) per line, for example "
            "203.0.113.0/24. Admins, supervisors and operators of the workspace are refused "
            "from any other address. Leave empty to allow every address."
        ),
    )
