"""The web contact form of a shop: its settings, and each submission stored before processing."""

import secrets

from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.scoping import ShopScopedManager


def new_public_key() -> str:
    return secrets.token_urlsafe(16)


class WebForm(models.Model):
    """One shop's contact form. Email and message are always asked for: replies go by mail."""

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    public_key = models.CharField(
        _("public key"), max_length=64, unique=True, default=new_public_key
    )
    is_enabled = models.BooleanField(_("accept submissions"), default=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    intro = models.TextField(_("text above the form"), blank=True)
    has_name = models.BooleanField(_("ask for the name"), default=True)
    has_phone = models.BooleanField(_("ask for the phone number"), default=False)
    has_order_number = models.BooleanField(_("ask for the order number"), default=True)
    has_category = models.BooleanField(_("ask for the category"), default=False)
    has_attachments = models.BooleanField(_("allow attachments"), default=True)
    categories = models.TextField(_("categories"), blank=True, help_text=_("One per line."))
    allowed_origins = models.TextField(
        _("sites that may embed the form"),
        blank=True,
        help_text=_("One origin per line, for example https://shop.example.jp"),
    )
    privacy_policy_url = models.CharField(
        _("privacy policy URL"),
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["https", "http"])],
        help_text=_(
            "The shop's page on the handling of personal information. The form links to it "
            "beside the consent box that every customer must tick."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"web form of shop {self.shop_id}"

    @property
    def category_list(self) -> list[str]:
        return [line.strip() for line in self.categories.splitlines() if line.strip()]

    @property
    def origin_list(self) -> list[str]:
        return [
            line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()
        ]


class Submission(models.Model):
    """What a customer sent, stored first; processing turns it into a ticket (durable work)."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254)
    phone = models.CharField(max_length=40, blank=True)
    order_number = models.CharField(max_length=64, blank=True)
    category = models.CharField(max_length=100, blank=True)
    message = models.TextField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # The customer's consent to the handling of personal information: when, and the policy
    # (its URL as the form linked it then) they agreed to.
    privacy_consent_at = models.DateTimeField(null=True, blank=True)
    privacy_policy_url = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    ticket = models.ForeignKey(
        "conversations.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="webform_submission_status")]

    def __str__(self) -> str:
        return f"submission {self.id} ({self.status})"


class SubmissionFile(models.Model):
    """An attached file, kept with the submission until it becomes a ticket attachment."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return self.filename
