"""Forms of the people pages and of the invitation's accept page: they parse; services decide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from madoguchi.accounts.models import User
from madoguchi.operations.profiles import LANGUAGE_CHOICES
from madoguchi.tenancy.models import Membership, Shop

# Messages the people services raise, translated where the views show them.
SERVICE_MESSAGES = (
    gettext_noop("This role does not exist in this workspace."),
    gettext_noop("Choose shops that this workspace works."),
    gettext_noop("Unknown language."),
    gettext_noop("%(email)s is already a member of this workspace."),
    gettext_noop("An invitation to %(email)s is already open: resend or revoke it."),
    gettext_noop("This invitation was already accepted or revoked."),
    gettext_noop("This invitation link does not work."),
    gettext_noop("This invitation was sent to another email address."),
    gettext_noop("You are already a member of this workspace."),
    gettext_noop("An account with this email address exists: sign in to accept."),
    gettext_noop("The workspace needs an active admin: make someone else an admin first."),
    gettext_noop("This person is already deactivated."),
    gettext_noop("This person is already active."),
    gettext_noop("Only an admin of the workspace may do this."),
    gettext_noop("Only an admin or a supervisor of the workspace may do this."),
)


def _shop_field() -> forms.TypedMultipleChoiceField:
    return forms.TypedMultipleChoiceField(
        label=_("Shops"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Operators work only the shops checked here; admins and supervisors see every shop"
            " of the workspace."
        ),
    )


def _languages_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Languages"),
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Routing by language gives tickets in these languages to this person."),
    )


class _MembershipFields(forms.Form):
    """Role, trainee flag, shops and languages: what an invitation and a person page set."""

    role = forms.ChoiceField(label=_("Role"))
    is_trainee = forms.BooleanField(
        label=_("Trainee (replies wait for a supervisor's approval)"),
        required=False,
        help_text=_("Operators only."),
    )
    shops = _shop_field()
    languages = _languages_field()

    def __init__(
        self,
        *args: Any,
        roles: Sequence[Membership.Role],
        shops: Sequence[Shop],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        role_field: forms.ChoiceField = self.fields["role"]  # type: ignore[assignment]
        role_field.choices = [(str(role), role.label) for role in roles]
        shop_field: forms.TypedMultipleChoiceField = self.fields["shops"]  # type: ignore[assignment]
        shop_field.choices = [(shop.id, shop.name) for shop in shops]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("role") == Membership.Role.OPERATOR and not cleaned.get("shops"):
            # An operator sees only the shops assigned: without one they would see nothing.
            self.add_error("shops", _("Choose at least one shop for an operator."))
        return cleaned


class InvitationForm(_MembershipFields):
    """Invite a person by email."""

    email = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    field_order = ["email", "role", "is_trainee", "shops", "languages"]


class PersonForm(_MembershipFields):
    """Change a member's role, trainee flag, shops and languages."""


class AcceptAsNewForm(forms.Form):
    """A new person sets the name others see and a password."""

    display_name = forms.CharField(
        label=_("Your name"),
        max_length=100,
        help_text=_("Shown to your colleagues, for example 山田 花子."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email
        # The validators' rules in the request's language (not at import time).
        self.fields["password1"].help_text = " ".join(
            password_validation.password_validators_help_texts()
        )

    def clean_display_name(self) -> str:
        name = " ".join(str(self.cleaned_data["display_name"]).split())
        if not name:
            raise forms.ValidationError(_("Enter your name."))
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            candidate = User(email=self.email, display_name=cleaned.get("display_name", ""))
            try:
                password_validation.validate_password(first, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned
