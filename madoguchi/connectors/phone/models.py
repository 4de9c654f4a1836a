"""The shop's phone numbers, phone calls logged by operators, and the callbacks they owe."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.scoping import ShopScopedManager


class PhoneNumber(models.Model):
    """A number the shop answers or calls from (代表, 注文専用, ...): never a caller's number."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("phone number"), max_length=40)
    number_normalized = models.CharField(max_length=40)
    label = models.CharField(_("label"), max_length=50, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["-is_active", "label", "number_normalized"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "number_normalized"], name="phonenumber_unique_per_shop"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.number}".strip()


class CallLog(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound call")
        OUTBOUND = "outbound", _("Outbound call")

    class Result(models.TextChoices):
        ANSWERED = "answered", _("Talked")
        VOICEMAIL = "voicemail", _("Left a voicemail")
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        MISSED = "missed", _("Missed call")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    number = models.CharField(_("phone number"), max_length=40)
    number_normalized = models.CharField(max_length=40, db_index=True)
    shop_number = models.ForeignKey(
        PhoneNumber,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("our number"),
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket = models.ForeignKey(
        "conversations.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), default=0)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    notes = models.TextField(_("notes"), blank=True)
    follow_up_needed = models.BooleanField(_("call back"), default=False)
    callback_due_at = models.DateTimeField(_("call back by"), null=True, blank=True)
    callback_done_at = models.DateTimeField(null=True, blank=True)
    callback_done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    objects = ShopScopedManager()

    class Meta:
        indexes = [
            models.Index(
                fields=["shop", "callback_due_at"],
                condition=Q(follow_up_needed=True, callback_done_at__isnull=True),
                name="calllog_open_callbacks",
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.number} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def duration_display(self) -> str:
        minutes, seconds = divmod(self.duration_seconds, 60)
        return f"{minutes}:{seconds:02d}"
