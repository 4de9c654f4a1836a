"""Bank deposits, the files they came from, the payments applied and the review candidates."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.commerce.models.orders import Order, PaymentMethod
from madoguchi.tenancy.scoping import ShopScopedManager


class DepositImport(models.Model):
    """One uploaded bank file: Zengin 振込入金通知 or a net-bank CSV statement."""

    class Format(models.TextChoices):
        ZENGIN = "zengin", _("Zengin transfer notice (種別01)")
        RAKUTEN = "rakuten", _("Rakuten Bank CSV")
        SBI = "sbi", _("SBI Sumishin Net Bank CSV")
        GENERIC = "generic", _("Generic CSV (date, amount, name)")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    format = models.CharField(max_length=16, choices=Format.choices)
    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    record_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename


class Deposit(models.Model):
    """Money that arrived in the shop's account; matched to orders by the reconciler."""

    class MatchState(models.TextChoices):
        PENDING = "pending", _("Not matched yet")
        APPLIED = "applied", _("Applied")
        REVIEW = "review", _("Needs review")
        UNMATCHED = "unmatched", _("No candidate")
        DISMISSED = "dismissed", _("Not an order payment")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    source_import = models.ForeignKey(
        DepositImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="deposits"
    )
    dedup_key = models.CharField(max_length=120)
    received_on = models.DateField(_("received"))
    amount = models.PositiveIntegerField(_("amount"))
    remitter_name = models.CharField(_("remitter"), max_length=96)
    sending_bank = models.CharField(_("sending bank"), max_length=60, blank=True)
    reference = models.CharField(_("bank reference"), max_length=20, blank=True)
    match_state = models.CharField(
        _("match"), max_length=16, choices=MatchState.choices, default=MatchState.PENDING
    )
    match_note = models.CharField(max_length=255, blank=True)
    matched_at = models.DateTimeField(null=True, blank=True)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["received_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "dedup_key"], name="deposit_unique_key")
        ]
        indexes = [models.Index(fields=["shop", "match_state"], name="deposit_shop_state")]

    def __str__(self) -> str:
        return f"{self.received_on} {self.amount} {self.remitter_name}"


class Payment(models.Model):
    """Money applied to one order; one deposit paying two orders makes two payments."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    deposit = models.ForeignKey(
        Deposit, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    amount = models.PositiveIntegerField(_("amount"))
    fee_absorbed = models.PositiveIntegerField(
        _("transfer fee absorbed"),
        default=0,
        help_text=_("The bank fee the customer deducted, accepted as paid."),
    )
    paid_on = models.DateField(_("paid on"))
    is_automatic = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["paid_on", "id"]

    def __str__(self) -> str:
        return f"{self.amount} → {self.order_id}"


class DepositCandidate(models.Model):
    """A ranked guess of which order(s) a deposit in review pays; a person decides."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    deposit = models.ForeignKey(Deposit, on_delete=models.CASCADE, related_name="candidates")
    rank = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField()
    orders = models.ManyToManyField(Order, related_name="+")
    reasons = models.JSONField(default=list)
    fee_absorbed = models.PositiveIntegerField(default=0)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["deposit", "rank"], name="deposit_candidate_rank")
        ]

    def __str__(self) -> str:
        return f"{self.deposit_id} #{self.rank} ({self.score})"
