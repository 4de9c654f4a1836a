"""Retention policies and their runs, and the records of customers' erasures (APPI requests)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.scoping import ShopScopedManager


class RetentionPolicy(models.Model):
    """How long a shop keeps finished conversations and raw inbound payloads. Off by default."""

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    is_enabled = models.BooleanField(_("delete old data automatically"), default=False)
    closed_ticket_years = models.PositiveSmallIntegerField(
        _("keep solved and closed tickets for (years)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text=_(
            "Counted from the ticket's last activity. Then its messages and attachments are "
            "deleted and the ticket stays as an anonymous record for the reports."
        ),
    )
    raw_payload_days = models.PositiveSmallIntegerField(
        _("keep received raw mail and form data for (days)"),
        default=90,
        validators=[MinValueValidator(7), MaxValueValidator(3650)],
        help_text=_(
            "The original mails, LINE deliveries and form submissions kept for reprocessing."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ShopScopedManager()

    class Meta:
        verbose_name_plural = _("retention policies")

    def __str__(self) -> str:
        return f"retention policy of shop {self.shop_id}"


class RetentionRun(models.Model):
    """One run of a shop's retention policy: what it removed, when, and what went wrong."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    closed_ticket_years = models.PositiveSmallIntegerField()
    raw_payload_days = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    tickets_count = models.PositiveIntegerField(default=0)
    messages_count = models.PositiveIntegerField(default=0)
    attachments_count = models.PositiveIntegerField(default=0)
    raw_mails_count = models.PositiveIntegerField(default=0)
    raw_payloads_count = models.PositiveIntegerField(
        default=0, help_text=_("LINE deliveries and web-form submissions.")
    )
    errors = models.TextField(blank=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["shop", "-started_at"], name="retention_run_shop")]

    def __str__(self) -> str:
        return f"retention run of shop {self.shop_id} at {self.started_at:%Y-%m-%d %H:%M}"


class ErasureRecord(models.Model):
    """Proof that one customer's personal data was erased, without keeping that data.

    `digests` are SHA-256 of `salt` + each erased identifier (normalised); the verification
    hashes every candidate value still stored in the shop the same way and reports a match.
    `ticket_ids`, `order_ids` and `attachment_paths` name the rows and files that were emptied.
    """

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    customer_id = models.BigIntegerField()
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    erased_at = models.DateTimeField()
    reason = models.TextField(_("reason"))
    counts = models.JSONField(default=dict)
    salt = models.CharField(max_length=32)
    digests = models.JSONField(default=list)
    digest = models.CharField(max_length=64, help_text=_("SHA-256 over the sorted digests."))
    ticket_ids = models.JSONField(default=list)
    order_ids = models.JSONField(default=list)
    attachment_paths = models.JSONField(default=list)
    verified_at = models.DateTimeField(null=True, blank=True)
    is_verified = models.BooleanField(null=True)
    findings = models.JSONField(default=list, blank=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["-erased_at", "-id"]
        indexes = [models.Index(fields=["shop", "customer_id"], name="erasure_shop_customer")]

    def __str__(self) -> str:
        return f"erasure of customer {self.customer_id} at {self.erased_at:%Y-%m-%d %H:%M}"


class ShopDeletion(models.Model):
    """Proof that a whole shop's data was deleted (security checklist case 76).

    What stays of the shop: its `Shop` row (archived, as the anchor of the audit log's entries,
    which are immutable) and this record. `counts` says how many rows of each model went,
    `file_count` how many stored files; `findings` what a verification still found.
    """

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    shop_name = models.CharField(max_length=200)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    deleted_at = models.DateTimeField()
    reason = models.TextField(_("reason"))
    counts = models.JSONField(default=dict)
    file_count = models.PositiveIntegerField(default=0)
    digest = models.CharField(max_length=64, help_text=_("SHA-256 over the sorted counts."))
    verified_at = models.DateTimeField(null=True, blank=True)
    is_verified = models.BooleanField(null=True)
    findings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-deleted_at", "-id"]

    def __str__(self) -> str:
        return f"deletion of shop {self.shop_id} at {self.deleted_at:%Y-%m-%d %H:%M}"
