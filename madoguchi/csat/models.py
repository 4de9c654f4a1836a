"""CSAT: a shop's survey settings, one survey per solved ticket with its answer, opt-outs."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.scoping import ShopScopedManager

# A first answer may be changed for this long; after that the answer stands.
CHANGE_WINDOW = dt.timedelta(days=7)
# A survey not answered within this long after it went out expires.
ANSWER_WINDOW = dt.timedelta(days=28)
MAX_DELAY_MINUTES = 7 * 24 * 60
MAX_COMMENT_CHARS = 2000


class CsatSettings(models.Model):
    """A shop's CSAT survey: on or off, how long after solving, and its wording per language.

    Empty wording fields use the built-in default of their language (`csat.wording`).
    """

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    is_enabled = models.BooleanField(_("send surveys"), default=False)
    # Tickets solved before the survey was (last) switched on are never surveyed.
    enabled_at = models.DateTimeField(null=True, blank=True)
    delay_minutes = models.PositiveIntegerField(_("delay after solving (minutes)"), default=60)
    question_ja = models.TextField(_("question (Japanese)"), blank=True)
    question_en = models.TextField(_("question (English)"), blank=True)
    comment_prompt_ja = models.CharField(_("comment prompt (Japanese)"), max_length=200, blank=True)
    comment_prompt_en = models.CharField(_("comment prompt (English)"), max_length=200, blank=True)
    thanks_ja = models.TextField(_("thanks (Japanese)"), blank=True)
    thanks_en = models.TextField(_("thanks (English)"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopScopedManager()

    class Meta:
        verbose_name = _("CSAT settings")
        verbose_name_plural = _("CSAT settings")

    def __str__(self) -> str:
        return f"CSAT settings of shop {self.shop_id}"


class CsatSurvey(models.Model):
    """The one survey of a solved ticket: sent on the ticket's channel, or skipped with why.

    The link's token is never stored: only its SHA-256 digest (`token_digest`). The answer
    lives here too (one answer per ticket; a change within `CHANGE_WINDOW` replaces it, each
    answer and change is a `csat.answered` event).
    """

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        ANSWERED = "answered", _("Answered")
        SKIPPED = "skipped", _("Not sent")

    class SkipReason(models.TextChoices):
        NONE = "", _("—")
        OPTED_OUT = "opted_out", _("The customer asked for no surveys")
        MACHINE_MAIL = "machine_mail", _("The last mail was an auto-reply or a bounce")
        UNDELIVERABLE = "undeliverable", _("The customer's address is undeliverable")
        BLOCKED = "blocked", _("The customer blocked the LINE account")
        CHANNEL = "channel", _("No survey on this channel")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    ticket = models.OneToOneField(
        "conversations.Ticket", on_delete=models.CASCADE, related_name="csat_survey"
    )
    channel = models.CharField(_("channel"), max_length=16)
    language = models.CharField(_("language"), max_length=2, default="ja")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    skip_reason = models.CharField(
        _("why not sent"), max_length=16, choices=SkipReason.choices, blank=True, default=""
    )
    token_digest = models.CharField(max_length=64, blank=True)
    message = models.ForeignKey(
        "conversations.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    first_answered_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token_digest"],
                condition=~models.Q(token_digest=""),
                name="csatsurvey_unique_token",
            ),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=1, score__lte=5),
                name="csatsurvey_score_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "answered_at"], name="csatsurvey_shop_answered"),
            models.Index(fields=["shop", "sent_at"], name="csatsurvey_shop_sent"),
        ]

    def __str__(self) -> str:
        return f"CSAT survey of ticket {self.ticket_id}"

    @property
    def is_answered(self) -> bool:
        return self.score is not None

    def change_deadline(self) -> dt.datetime | None:
        """Until when the answer may be changed (None before the first answer)."""
        if self.first_answered_at is None:
            return None
        return self.first_answered_at + CHANGE_WINDOW


class CsatOptOut(models.Model):
    """A customer of the shop who gets no more surveys (asked on the survey page, or by staff)."""

    class Source(models.TextChoices):
        CUSTOMER = "customer", _("The customer")
        STAFF = "staff", _("Staff")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "customer"], name="csatoptout_unique_customer")
        ]

    def __str__(self) -> str:
        return f"CSAT opt-out of customer {self.customer_id}"
