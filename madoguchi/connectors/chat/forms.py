"""The chat settings form of a shop's leads."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from madoguchi.connectors.chat.models import ChatWidget

ORIGINS_MAX_CHARS = 5000


class ChatSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    """The widget's switches and sites; `services.widget_update` saves them."""

    new_identity_secret = forms.BooleanField(
        label=_("Make a new identity verification secret"),
        required=False,
        help_text=_("The shop's site then needs the new secret to vouch for its customers."),
    )

    class Meta:
        model = ChatWidget
        fields = ["is_enabled", "follows_business_hours", "allowed_origins"]
        widgets = {
            "allowed_origins": forms.Textarea(
                attrs={"rows": 3, "placeholder": "https://shop.example.jp"}
            ),
        }
        help_texts = {
            "follows_business_hours": _(
                "Otherwise live chat is on whenever an operator is connected."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        origins = self.fields["allowed_origins"]
        origins.validators.append(MaxLengthValidator(ORIGINS_MAX_CHARS))
        origins.widget.attrs["maxlength"] = str(ORIGINS_MAX_CHARS)

    def settings_values(self) -> dict[str, object]:
        """The cleaned values for the service (origins with Unix line ends, trimmed)."""
        data = self.cleaned_data
        return {
            "is_enabled": data["is_enabled"],
            "follows_business_hours": data["follows_business_hours"],
            "allowed_origins": data["allowed_origins"].replace("\r\n", "\n").strip(),
            "new_identity_secret": data["new_identity_secret"],
        }
