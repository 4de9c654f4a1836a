"""State of the email channel: addresses, mailboxes, outgoing servers, raw inbound mail, the
outbox, the loop log.

Raw inbound mail and outbound mail are durable work (DESIGN.md "Durable work"): each row carries
its status, attempts, next_attempt_at and last error, so a killed worker loses nothing and a
poison row stops after its attempts and shows in the failed-mail list.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.connectors.mail.authentication import AuthenticationWarning
from madoguchi.core.secrets import EncryptedTextField
from madoguchi.tenancy.scoping import ShopScopedManager


class ConnectionSecurity(models.TextChoices):
    """How a connection to a mail server is protected."""

    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (loopback only)")


class MailAddress(models.Model):
    """An address of a shop: mail to it becomes the shop's tickets; a verified one may send.

    `inbound_method` says how the shop's mail reaches us (an IMAP mailbox we poll, or the
    built-in SMTP receiver, which accepts mail for every address row); `outbound_server` is the
    shop's SMTP server replies from this address go through (none: the system's EMAIL_* settings).
    """

    class InboundMethod(models.TextChoices):
        IMAP = "imap", _("IMAP mailbox")
        SMTP = "smtp", _("Built-in SMTP receiver")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    address = models.EmailField(
        _("address"), unique=True, help_text=_("Lower-case; one address belongs to one shop.")
    )
    display_name = models.CharField(_("sender name"), max_length=200, blank=True)
    is_verified = models.BooleanField(
        _("verified sender"),
        default=False,
        help_text=_("Replies may go out from this address only when it is verified."),
    )
    is_default_sender = models.BooleanField(_("default sender"), default=False)
    inbound_method = models.CharField(
        _("inbound method"),
        max_length=8,
        choices=InboundMethod.choices,
        default=InboundMethod.IMAP,
    )
    mailbox = models.ForeignKey(
        "Mailbox",
        verbose_name=_("mailbox"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outbound_server = models.ForeignKey(
        "SmtpServer",
        verbose_name=_("outgoing server"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["address"]
        verbose_name_plural = _("mail addresses")

    def __str__(self) -> str:
        return self.address


class Mailbox(models.Model):
    """An IMAP account the shop's mail is pulled from; the password is encrypted at rest."""

    Security = ConnectionSecurity

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=993)
    security = models.CharField(
        _("security"), max_length=16, choices=Security.choices, default=Security.SSL
    )
    username = models.CharField(_("user name"), max_length=255)
    password = EncryptedTextField(_("password"))
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    processed_folder = models.CharField(
        _("move processed mail to"),
        max_length=255,
        blank=True,
        help_text=_("Empty: processed mail stays and is flagged."),
    )
    max_message_bytes = models.PositiveIntegerField(
        _("size limit (bytes)"), default=25 * 1024 * 1024
    )
    is_active = models.BooleanField(_("active"), default=True)
    uid_validity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_seen_uid = models.BigIntegerField(default=0, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"


class SmtpServer(models.Model):
    """An SMTP server (relay or provider) a shop's replies go out through.

    `last_error` and `last_used_at` are written by the sender, `verified_at` by a successful
    test send; the password is encrypted at rest and never shown again.
    """

    Security = ConnectionSecurity

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=587)
    security = models.CharField(
        _("security"), max_length=16, choices=Security.choices, default=Security.STARTTLS
    )
    username = models.CharField(_("user name"), max_length=255, blank=True)
    password = EncryptedTextField(_("password"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_error = models.TextField(blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "name"], name="smtpserver_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.host}:{self.port})"


class RawMail(models.Model):
    """One received mail for one shop, stored before anything else happens to it.

    `idempotency_key` is the Message-ID (or the sha256 of the bytes when there is none): the
    unique constraint makes a second delivery of the same mail to the same shop a duplicate,
    whichever fetcher or receiver saw it. A mail for no known shop is quarantined with no shop.
    """

    class Source(models.TextChoices):
        IMAP = "imap", _("IMAP")
        SMTP = "smtp", _("SMTP")
        IMPORT = "import", _("Import")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSING = "processing", _("Processing")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")
        DUPLICATE = "duplicate", _("Duplicate")
        AUTOMATED = "automated", _("Automated")
        QUARANTINED = "quarantined", _("Quarantined")

    class Outcome(models.TextChoices):
        NONE = "", _("—")
        CREATED = "created", _("New ticket")
        APPENDED = "appended", _("Added to a ticket")
        DUPLICATE = "duplicate", _("Duplicate")
        AUTOMATED = "automated", _("Automated mail")
        BOUNCE = "bounce", _("Bounce")
        DROPPED = "dropped", _("Dropped (mail loop)")
        OVERSIZE = "oversize", _("Too large, not downloaded")

    shop = models.ForeignKey(
        "tenancy.Shop", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    raw = models.BinaryField(_("raw message"))
    size = models.PositiveIntegerField(_("size"), default=0)
    sha256 = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=255)
    internet_message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    envelope_recipients = models.TextField(blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    reply_to_address = models.CharField(max_length=254, blank=True)
    # connectors.mail.authentication: From claims the shop's own domain, unauthenticated.
    authentication_warning = models.CharField(
        _("sender authentication"),
        max_length=16,
        choices=AuthenticationWarning.choices,
        blank=True,
        default="",
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    references = models.TextField(blank=True, help_text=_("Message-IDs, one per line."))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    # The worker that claimed the row (core.workers): its death hands the row back at once.
    claimed_by = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    ticket = models.ForeignKey(
        "conversations.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        "conversations.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    received_at = models.DateTimeField(_("received"))
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "idempotency_key"], name="rawmail_unique_key_per_shop"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="rawmail_due"),
            models.Index(fields=["shop", "status", "-received_at"], name="rawmail_shop_status"),
            models.Index(fields=["ticket", "-received_at"], name="rawmail_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.idempotency_key} ({self.status})"

    @property
    def is_reprocessable(self) -> bool:
        return (
            self.status == self.Status.FAILED
            and self.shop_id is not None
            and self.outcome != self.Outcome.OVERSIZE
        )


class OutboundMail(models.Model):
    """One mail waiting in (or gone from) the outbox: a reply or an automatic acknowledgement.

    The complete message bytes, with our Message-ID, are composed once when the row is queued,
    so a retry sends exactly the same mail.
    """

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        ACKNOWLEDGEMENT = "ack", _("Acknowledgement")

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("delivery status", "Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey("conversations.Ticket", on_delete=models.CASCADE, related_name="+")
    message = models.OneToOneField(
        "conversations.Message",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbound_mail",
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.REPLY)
    internet_message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    from_address = models.CharField(max_length=254)
    to_address = models.CharField(max_length=254)
    subject = models.CharField(max_length=998)
    raw = models.BinaryField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    # The worker that claimed the row (core.workers): its death settles the row at once.
    claimed_by = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    smtp_response = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbound_due"),
            models.Index(fields=["shop", "internet_message_id"], name="outbound_shop_message_id"),
            models.Index(fields=["shop", "status", "-created_at"], name="outbound_shop_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.message_id} ({self.status})"

    @property
    def is_retryable(self) -> bool:
        """A failed mail that was composed (it has a recipient) may be queued again."""
        return self.status == self.Status.FAILED and bool(self.to_address)


class MailSettings(models.Model):
    """A shop's choices for the email channel: the acknowledgement and threading by subject."""

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    is_ack_enabled = models.BooleanField(_("send an acknowledgement for new tickets"), default=True)
    ack_subject = models.CharField(_("acknowledgement subject"), max_length=255, blank=True)
    ack_body = models.TextField(
        _("acknowledgement text"),
        blank=True,
        help_text=_(
            "Empty uses the default text. Placeholders: {customer_name}, {shop_name}, "
            "{ticket_reference}, {subject}."
        ),
    )
    is_subject_threading_enabled = models.BooleanField(
        _("thread by subject from the same customer"), default=False
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"mail settings of shop {self.shop_id}"


class AutoReplyLog(models.Model):
    """Each automatic mail we sent, or held back, per sender: the loop breaker counts these."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    address = models.CharField(max_length=254)
    ticket = models.ForeignKey(
        "conversations.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_suppressed = models.BooleanField(
        default=False, help_text=_("Held back by the loop breaker: an operator alert.")
    )
    created_at = models.DateTimeField()

    objects = ShopScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["shop", "address", "-created_at"], name="autoreply_sender"),
            models.Index(
                fields=["shop", "-created_at"],
                condition=Q(is_suppressed=True),
                name="autoreply_alerts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.address} {self.created_at:%Y-%m-%d %H:%M}"


class MailReference(models.Model):
    """A Message-ID an inbound mail named in References or In-Reply-To.

    Kept so that a mail arriving after its reply (an import in any file order, a slow relay)
    finds the reply's ticket by its own Message-ID: threading looks the newcomer's Message-ID
    up here when none of the Message-IDs it names is known.
    """

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey("conversations.Message", on_delete=models.CASCADE, related_name="+")
    referenced_id = models.CharField(max_length=255)

    objects = ShopScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["shop", "referenced_id"], name="mailref_shop_referenced"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} -> {self.referenced_id}"
