"""State of the LINE channel: channels per shop, raw webhook deliveries, events, the outbox.

A webhook delivery is stored as it came (raw body) before anything else; each event in it is
recorded once per channel by its `webhookEventId` (unique constraint), so a redelivery or a
parallel duplicate never makes a second message.
"""

import secrets
import uuid

from django.db import models
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from madoguchi.core.secrets import EncryptedTextField
from madoguchi.tenancy.scoping import ShopScopedManager


def new_public_id() -> str:
    return secrets.token_urlsafe(18)


class LineChannel(models.Model):
    """A LINE Messaging API channel (an official account) of one shop.

    The secret and access token are stored encrypted and never shown again after they are saved.
    The API base URLs are configurable so tests run against a local server; they are not
    editable from the operator UI.
    """

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    public_id = models.CharField(
        _("webhook id"), max_length=64, unique=True, default=new_public_id, editable=False
    )
    channel_id = models.CharField(_("channel ID"), max_length=64)
    channel_secret = EncryptedTextField(_("channel secret"))
    access_token = EncryptedTextField(_("channel access token"))
    api_base_url = models.URLField(_("API base URL"), default="https://api.line.me")
    api_data_base_url = models.URLField(
        _("content API base URL"), default="https://api-data.line.me"
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class LineWebhook(models.Model):
    """One webhook delivery, stored raw before processing (durable work)."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    channel = models.ForeignKey(LineChannel, on_delete=models.CASCADE, related_name="+")
    body = models.BinaryField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="linewebhook_due")]

    def __str__(self) -> str:
        return f"webhook {self.id} ({self.status})"


class LineEvent(models.Model):
    """One event of a delivery, recorded once per channel by its `webhookEventId`."""

    class Outcome(models.TextChoices):
        MESSAGE = "message", _("Message")
        FOLLOW = "follow", _("Follow")
        UNFOLLOW = "unfollow", _("Unfollow")
        UNSEND = "unsend", _("Unsend")
        IGNORED = "ignored", _("Ignored")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    channel = models.ForeignKey(LineChannel, on_delete=models.CASCADE, related_name="+")
    webhook = models.ForeignKey(
        LineWebhook, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    webhook_event_id = models.CharField(max_length=128)
    type = models.CharField(max_length=32)
    mode = models.CharField(max_length=16, blank=True)
    source_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    message = models.ForeignKey(
        "conversations.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The LINE message id an `unsend` event withdraws: kept so a message arriving after its
    # unsend (out of order) is hidden when it is stored.
    unsent_message_id = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "webhook_event_id"], name="lineevent_unique_per_channel"
            )
        ]
        indexes = [
            models.Index(
                fields=["channel", "unsent_message_id"],
                name="lineevent_unsent",
                condition=~models.Q(unsent_message_id=""),
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.webhook_event_id}"


class LineInbound(models.Model):
    """What a reply needs from an inbound LINE message: its reply token and the push target."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    message = models.OneToOneField(
        "conversations.Message", on_delete=models.CASCADE, related_name="line_inbound"
    )
    channel = models.ForeignKey(LineChannel, on_delete=models.CASCADE, related_name="+")
    push_to = models.CharField(max_length=64, help_text=_("User, group or room id."))
    reply_token = models.CharField(max_length=255, blank=True)
    quote_token = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField()
    reply_token_used_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"LINE inbound {self.message_id}"


def line_error_sentence(status: int | None, detail: str = "") -> str:
    """Say in the UI language what went wrong with a call to LINE.

    `status` is LINE's HTTP status (None: LINE was not reached, or we refused to send), `detail`
    the stored text: a sentence of ours (translated as it is) or LINE's own answer, which stays
    on the row for whoever reads the raw record.
    """
    if status is None:
        if detail and gettext(detail) != detail:
            return gettext(detail)  # a sentence of ours: "The customer has no LINE user id."
        return gettext("LINE could not be reached.")
    if status == 429 and "monthly" in detail.lower():
        return gettext("LINE refused the message: the monthly message quota is used up.")
    if status == 429:
        return gettext("LINE asked to send more slowly; the reply is tried again later.")
    if status in (401, 403):
        return gettext("LINE refused the channel access token (HTTP %(status)s).") % {
            "status": status
        }
    return gettext("LINE refused the request (HTTP %(status)s).") % {"status": status}


class LineOutbound(models.Model):
    """One reply waiting in (or gone from) the LINE outbox.

    `retry_key` is sent as `X-Line-Retry-Key` with every push attempt of this row, so LINE
    accepts a retried push at most once.
    """

    class Method(models.TextChoices):
        NONE = "", _("—")
        REPLY = "reply", _("Reply token")
        PUSH = "push", _("Push")

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("delivery status", "Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey("conversations.Ticket", on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(
        "conversations.Message", on_delete=models.CASCADE, related_name="line_outbound"
    )
    channel = models.ForeignKey(
        LineChannel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inbound = models.ForeignKey(
        LineInbound, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    push_to = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=8, choices=Method.choices, blank=True, default="")
    retry_key = models.UUIDField(default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    # The worker that claimed the row (core.workers): its death re-queues the row at once.
    claimed_by = models.CharField(max_length=64, blank=True)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="lineoutbound_due"),
            models.Index(fields=["shop", "status", "-created_at"], name="lineoutbound_shop"),
        ]

    def __str__(self) -> str:
        return f"LINE reply {self.message_id} ({self.status})"

    @property
    def error_sentence(self) -> str:
        """Why the reply failed (or waits), in the UI language; LINE's answer is `last_error`."""
        if not self.last_error:
            return ""
        return line_error_sentence(self.http_status, self.last_error)
