"""Monthly client reports: a shop's settings, the improvement points supervisors draft for a
month, and the versioned snapshots (HTML, PDF, figures) the shop's client users read."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.scoping import ShopScopedManager


class ReportSettings(models.Model):
    """Whether the shop gets a report on the 1st, who else receives it, and operator names."""

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    is_enabled = models.BooleanField(_("generate and mail the report on the 1st"), default=False)
    shows_operator_names = models.BooleanField(
        _("show operator names in the report"), default=False
    )
    extra_recipients = models.TextField(_("extra recipients (one address a line)"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"report settings of shop {self.shop_id}"

    @property
    def extra_recipient_list(self) -> list[str]:
        return [line.strip() for line in self.extra_recipients.splitlines() if line.strip()]


class ImprovementPoint(models.Model):
    """An improvement point for the shop (商品・ウェブサイト・発送対応の改善点) in a month's report,
    written by a supervisor or accepted from a suggestion (a copy: the source may change later)."""

    class Area(models.TextChoices):
        PRODUCT = "product", _("Products")
        WEBSITE = "website", _("Website")
        SHIPPING = "shipping", _("Shipping")
        OTHER = "other", _("Other")

    class Source(models.TextChoices):
        WRITTEN = "written", _("Written")
        IMPROVEMENT_ITEM = "improvement_item", _("Improvement list")
        FAQ_CANDIDATE = "faq_candidate", _("FAQ candidate")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the first day of the report's month
    area = models.CharField(_("area"), max_length=16, choices=Area.choices)
    text = models.TextField(_("improvement point"))
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.WRITTEN)
    source_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        indexes = [models.Index(fields=["shop", "month"], name="reportpoint_shop_month")]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "month", "source", "source_id"],
                condition=Q(source_id__isnull=False),
                name="reportpoint_accepted_once",
            )
        ]

    def __str__(self) -> str:
        return self.text[:40]


class ClientReport(models.Model):
    """One generated version of a shop's monthly report; never changed once made (only the
    time it was mailed is noted). A scheduled run makes at most one per shop and month."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    month = models.DateField()  # the first day of the month reported
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_scheduled = models.BooleanField(default=False)
    figures = models.JSONField()
    html = models.TextField()  # the self-contained document the PDF is made from
    pdf = models.BinaryField()
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "month", "version"], name="clientreport_unique_version"
            ),
            models.UniqueConstraint(
                fields=["shop", "month"],
                condition=Q(is_scheduled=True),
                name="clientreport_one_scheduled",
            ),
        ]
        ordering = ["-month", "-version"]

    def __str__(self) -> str:
        return f"report {self.month:%Y-%m} v{self.version} of shop {self.shop_id}"
