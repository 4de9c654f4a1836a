"""The customer's contact form, with the fields the shop turned on, and its file checks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.connectors.mail.attachments import safe_display_name, sniff_content_type
from madoguchi.connectors.webform.models import WebForm

ALLOWED_TYPES = {
    "image/jpeg": _("JPEG image"),
    "image/png": _("PNG image"),
    "image/gif": _("GIF image"),
    "image/webp": _("WebP image"),
    "image/heic": _("HEIC image"),
    "application/pdf": _("PDF"),
}
HONEYPOT_FIELD = "website"


def limits() -> dict[str, int]:
    config = settings.MADOGUCHI
    return {
        "file": int(config.get("WEBFORM_MAX_FILE_BYTES", 10 * 1024 * 1024)),
        "total": int(config.get("WEBFORM_MAX_TOTAL_BYTES", 20 * 1024 * 1024)),
        "files": int(config.get("WEBFORM_MAX_FILES", 5)),
        "message": int(config.get("WEBFORM_MAX_MESSAGE_CHARS", 10_000)),
    }


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class ContactForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=200)
    email = forms.EmailField(label=_("Email address"), max_length=254)
    phone = forms.CharField(label=_("Phone number"), max_length=40, required=False)
    order_number = forms.CharField(label=_("Order number"), max_length=64, required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    message = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 8}))
    # The consent to the handling of personal information (APPI): required on every form.
    privacy_consent = forms.BooleanField(
        label=_("I agree to the handling of personal information"),
        required=True,
        error_messages={
            "required": _(
                "Please agree to the handling of personal information to send your message."
            )
        },
    )
    # A field people never see: bots fill it in.
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    def __init__(self, *args: Any, web_form: WebForm, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.web_form = web_form
        self.checked_files: list[CheckedFile] = []
        if not web_form.has_name:
            del self.fields["name"]
        if not web_form.has_phone:
            del self.fields["phone"]
        if not web_form.has_order_number:
            del self.fields["order_number"]
        if web_form.has_category and web_form.category_list:
            choices = [("", "---")] + [(name, name) for name in web_form.category_list]
            self.fields["category"].choices = choices  # type: ignore[attr-defined]
        else:
            del self.fields["category"]

    def clean_message(self) -> str:
        message: str = self.cleaned_data["message"]
        maximum = limits()["message"]
        if len(message) > maximum:
            raise forms.ValidationError(
                _("The message is too long: at most %(count)d characters.") % {"count": maximum}
            )
        return message

    @property
    def is_spam(self) -> bool:
        return bool((self.data.get(HONEYPOT_FIELD) or "").strip())

    def check_files(self, uploads: list[UploadedFile]) -> None:
        """Check count, sizes and the types the bytes really have; add errors for the customer."""
        if not uploads:
            return
        if not self.web_form.has_attachments:
            self.add_error(None, _("This form does not accept attachments."))
            return
        limit = limits()
        if len(uploads) > limit["files"]:
            self.add_error(None, _("Attach at most %(count)d files.") % {"count": limit["files"]})
            return
        total = 0
        for upload in uploads:
            size = upload.size or 0
            total += size
            display, _problems = safe_display_name(upload.name, fallback="attachment")
            if size > limit["file"]:
                self.add_error(
                    None,
                    _("%(name)s is too large: each file may be at most %(mb)d MB.")
                    % {"name": display, "mb": limit["file"] // (1024 * 1024)},
                )
                continue
            data = upload.read(limit["file"] + 1)
            content_type = sniff_content_type(data)
            if content_type not in ALLOWED_TYPES:
                self.add_error(
                    None,
                    _("%(name)s is not a file type we accept (images and PDF only).")
                    % {"name": display},
                )
                continue
            self.checked_files.append(CheckedFile(display, content_type, data))
        if total > limit["total"]:
            self.checked_files = []
            self.add_error(
                None,
                _("The attachments are too large together: at most %(mb)d MB in total.")
                % {"mb": limit["total"] // (1024 * 1024)},
            )


SETTINGS_TEXT_LIMITS = {"title": 200, "intro": 2000, "categories": 5000, "allowed_origins": 5000}


class WebFormSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    """The shop's form settings as a lead edits them; `services.web_form_update` saves them."""

    class Meta:
        model = WebForm
        fields = [
            "is_enabled",
            "title",
            "intro",
            "has_name",
            "has_phone",
            "has_order_number",
            "has_category",
            "categories",
            "has_attachments",
            "allowed_origins",
            "privacy_policy_url",
        ]
        widgets = {
            "intro": forms.Textarea(attrs={"rows": 3}),
            "categories": forms.Textarea(attrs={"rows": 4}),
            "allowed_origins": forms.Textarea(
                attrs={"rows": 3, "placeholder": "https://shop.example.jp"}
            ),
            "privacy_policy_url": forms.URLInput(
                attrs={"placeholder": "https://shop.example.jp/privacy"}
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, maximum in SETTINGS_TEXT_LIMITS.items():
            field = self.fields[name]
            field.validators.append(MaxLengthValidator(maximum))
            field.widget.attrs["maxlength"] = str(maximum)

    def settings_values(self) -> dict[str, object]:
        """The cleaned values, text with Unix line ends and trimmed, for the service."""
        values: dict[str, object] = {}
        for name in self.Meta.fields:
            value = self.cleaned_data[name]
            values[name] = value.replace("\r\n", "\n").strip() if isinstance(value, str) else value
        return values
