"""Agency billing: the agency's settings as an issuer, contracts per client shop with their dated
terms and options, invoices and credit notes with their lines, and usage alerts.

Every row here belongs to the agency's workspace (`WorkspaceScopedManager`). Invoices and usage
alerts also carry the client shop, and a second manager scoped on the shop lets the shop's own
people read them (`Invoice.for_shop`), so neither side needs an unscoped read.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.scoping import ShopScopedManager, WorkspaceScopedManager


class TaxCategory(models.TextChoices):
    STANDARD = "standard", _("Standard rate 10%")
    REDUCED = "reduced", _("Reduced rate 8%")
    EXEMPT = "exempt", _("Not taxed")


TAX_RATES: dict[str, Decimal] = {
    TaxCategory.STANDARD: Decimal("0.10"),
    TaxCategory.REDUCED: Decimal("0.08"),
    TaxCategory.EXEMPT: Decimal("0"),
}


class Rounding(models.TextChoices):
    DOWN = "down", _("Round down (切り捨て)")
    HALF_UP = "half_up", _("Round half up (四捨五入)")
    UP = "up", _("Round up (切り上げ)")


class BillingSettings(models.Model):
    """The agency as an invoice issuer; its row also holds the gap-free invoice counter."""

    workspace = models.OneToOneField(
        "tenancy.Workspace", on_delete=models.CASCADE, related_name="billing_settings"
    )
    issuer_name = models.CharField(_("issuer name"), max_length=200)
    registration_number = models.CharField(
        _("registration number"),
        max_length=14,
        help_text=_("T and 13 digits, as registered for qualified invoices."),
    )
    issuer_address = models.TextField(_("issuer address"), blank=True)
    bank_account = models.TextField(_("bank account for payment"), blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment due after (days)"), default=30)
    rounding = models.CharField(
        _("tax rounding"), max_length=10, choices=Rounding.choices, default=Rounding.DOWN
    )
    is_auto_issue = models.BooleanField(
        _("issue the monthly invoices automatically"),
        default=False,
        help_text=_("Otherwise the monthly run makes drafts and an admin issues them."),
    )
    number_prefix = models.CharField(_("invoice number prefix"), max_length=10, default="INV")
    # The last number handed out; raised by a conditional UPDATE inside the issuing transaction.
    last_invoice_number = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = WorkspaceScopedManager()

    def __str__(self) -> str:
        return self.issuer_name


class Contract(models.Model):
    """An agency's contract with one client shop, on their engagement."""

    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.PROTECT, related_name="+")
    shop = models.ForeignKey(
        "tenancy.Shop", on_delete=models.PROTECT, related_name="+", verbose_name=_("shop")
    )
    engagement = models.ForeignKey("tenancy.Engagement", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=200)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    minimum_term_months = models.PositiveSmallIntegerField(_("minimum term (months)"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceScopedManager()

    class Meta:
        ordering = ["shop__name", "starts_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="billing_contract_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Plan(models.TextChoices):
    FIXED = "fixed", _("Monthly fixed fee with a cap and overage")
    METERED = "metered", _("Per contact, rates by channel")


class ContractTerms(models.Model):
    """One version of a contract's prices, in force from the first day of a month.

    A change never edits a version: a new one starts on a later month, so every past invoice can
    be explained by the version it was computed from.
    """

    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="terms")
    effective_from = models.DateField(_("applies from"))
    plan = models.CharField(_("plan"), max_length=10, choices=Plan.choices)
    monthly_fee = models.PositiveIntegerField(_("monthly fee (yen)"), default=0)
    included_contacts = models.PositiveIntegerField(_("contacts included per month"), default=0)
    overage_rate = models.DecimalField(
        _("overage per contact (yen)"), max_digits=10, decimal_places=2, default=Decimal("0")
    )
    # Channel value -> rate per contact as a decimal string (metered plans).
    channel_rates = models.JSONField(_("rates by channel"), default=dict, blank=True)
    setup_fee = models.PositiveIntegerField(_("setup fee (yen)"), default=0)
    tax_category = models.CharField(
        _("tax category"), max_length=10, choices=TaxCategory.choices, default=TaxCategory.STANDARD
    )
    reopen_after_days = models.PositiveSmallIntegerField(
        _("a chat quiet this many days counts anew"), default=7
    )
    excluded_tags = models.CharField(
        _("tags that never count"),
        max_length=200,
        default="spam",
        blank=True,
        help_text=_("Comma-separated tag names, for example spam."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = WorkspaceScopedManager()

    class Meta:
        ordering = ["contract", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "effective_from"], name="billing_terms_unique_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} from {self.effective_from}"

    @property
    def excluded_tag_names(self) -> frozenset[str]:
        return frozenset(name.strip() for name in self.excluded_tags.split(",") if name.strip())


class ContractOption(models.Model):
    """An option of one terms version: weekend cover, technical support, another language."""

    class Pricing(models.TextChoices):
        PER_MONTH = "per_month", _("Per month")
        PER_CONTACT = "per_contact", _("Per contact")

    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.PROTECT, related_name="+")
    terms = models.ForeignKey(ContractTerms, on_delete=models.CASCADE, related_name="options")
    name = models.CharField(_("option"), max_length=200)
    pricing = models.CharField(_("priced"), max_length=12, choices=Pricing.choices)
    unit_price = models.DecimalField(_("price (yen)"), max_digits=10, decimal_places=2)
    tax_category = models.CharField(
        _("tax category"), max_length=10, choices=TaxCategory.choices, default=TaxCategory.STANDARD
    )

    objects = WorkspaceScopedManager()

    class Meta:
        ordering = ["terms", "id"]

    def __str__(self) -> str:
        return self.name


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def issued(self) -> InvoiceQuerySet:
        return self.filter(status=Invoice.Status.ISSUED)


class Invoice(models.Model):
    """A month's invoice to a client shop, or a credit note correcting an issued one.

    A draft is computed and may be recomputed or discarded; issuing gives it the workspace's next
    number and freezes it (`save` refuses to change an issued row). A correction is a credit
    note with the negated lines, itself numbered in the same sequence.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")

    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.PROTECT, related_name="+")
    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INVOICE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    sequence = models.PositiveIntegerField(null=True, blank=True, editable=False)
    number = models.CharField(_("number"), max_length=30, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    recipient_name = models.CharField(_("recipient"), max_length=200)
    issuer_name = models.CharField(max_length=200, blank=True)
    registration_number = models.CharField(max_length=14, blank=True)
    issuer_address = models.TextField(blank=True)
    bank_account = models.TextField(blank=True)
    # What was metered: {"total": n, "by_channel": {...}, "cap": n}.
    usage = models.JSONField(default=dict)
    # Per tax rate, in rate order: [{"category", "rate", "subtotal", "tax"}].
    tax_breakdown = models.JSONField(default=list)
    subtotal = models.IntegerField(_("subtotal"), default=0)
    tax = models.IntegerField(_("consumption tax"), default=0)
    total = models.IntegerField(_("total"), default=0)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceScopedManager.from_queryset(InvoiceQuerySet)()
    for_shop = ShopScopedManager.from_queryset(InvoiceQuerySet)()

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "sequence"], name="billing_invoice_unique_sequence"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(sequence__isnull=False),
                name="billing_invoice_issued_numbered",
            ),
        ]
        indexes = [models.Index(fields=["shop", "status", "-period_start"], name="invoice_shop")]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_stored_status", None) == self.Status.ISSUED:
            raise TypeError("An issued invoice is immutable; correct it with a credit note")
        super().save(*args, **kwargs)
        self._stored_status = self.status

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "_stored_status", None) == self.Status.ISSUED:
            raise TypeError("An issued invoice is never deleted")
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Invoice:
        instance = super().from_db(db, field_names, values)
        instance._stored_status = instance.status
        return instance

    @property
    def is_credit_note(self) -> bool:
        return self.kind == self.Kind.CREDIT_NOTE


class InvoiceLine(models.Model):
    """One line of an invoice: tax-exclusive amount in whole yen."""

    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=12, decimal_places=4)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    amount = models.IntegerField()
    tax_category = models.CharField(max_length=10, choices=TaxCategory.choices)

    objects = WorkspaceScopedManager()

    class Meta:
        ordering = ["invoice", "position"]

    def __str__(self) -> str:
        return self.description

    @property
    def is_reduced_rate(self) -> bool:
        return self.tax_category == TaxCategory.REDUCED


class UsageAlert(models.Model):
    """A shop's contacts this month reached 80% or 100% of its cap (once per threshold)."""

    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.PROTECT, related_name="+")
    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="alerts")
    month = models.DateField()
    threshold = models.PositiveSmallIntegerField()
    contacts = models.PositiveIntegerField()
    cap = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceScopedManager()
    for_shop = ShopScopedManager()

    class Meta:
        ordering = ["-month", "-threshold"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "month", "threshold"], name="billing_alert_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.month} {self.threshold}%"
