"""Connections to EC platforms, received webhooks and CSV order imports: durable work rows."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.core.secrets import EncryptedTextField
from madoguchi.tenancy.scoping import ShopScopedManager


def _new_token() -> str:
    return secrets.token_urlsafe(24)


def new_token() -> str:
    """A fresh token for a connection's webhook URL."""
    return _new_token()


def new_webhook_secret() -> str:
    """A signing secret we generate (EC-CUBE); Shopify's comes from the Shopify app."""
    return secrets.token_urlsafe(32)


class CommerceConnection(models.Model):
    """A shop's store on an EC platform; its webhook URL carries `token`, signed with `secret`.

    The secret is stored encrypted. A connection that received deliveries is deactivated rather
    than deleted (the deliveries keep it); rotating the token retires the old webhook URL.
    """

    class Platform(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        ECCUBE = "eccube", "EC-CUBE 4"

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    store_domain = models.CharField(_("store domain"), max_length=255, blank=True)
    token = models.CharField(max_length=64, unique=True, default=_new_token, editable=False)
    webhook_secret = EncryptedTextField(_("webhook secret"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.store_domain}"


class WebhookDelivery(models.Model):
    """A verified webhook body, stored before anything else happens; a task processes it."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    connection = models.ForeignKey(
        CommerceConnection, on_delete=models.PROTECT, related_name="deliveries"
    )
    topic = models.CharField(max_length=64, blank=True)
    delivery_id = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict)
    raw_body = models.BinaryField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "delivery_id"],
                condition=~Q(delivery_id=""),
                name="webhook_delivery_unique_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.delivery_id}"


class OrderImport(models.Model):
    """A CSV of orders being imported; the progress and the per-row errors live here."""

    class Profile(models.TextChoices):
        SHOPIFY = "shopify", _("Shopify order export")
        GENERIC = "generic", _("Generic column mapping")

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("import status", "Queued")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    profile = models.CharField(max_length=16, choices=Profile.choices)
    mapping = models.JSONField(default=dict, blank=True)
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    encoding = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.FINISHED else 0
        return min(100, self.processed_rows * 100 // self.total_rows)
