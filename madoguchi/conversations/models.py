import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.conversations.querysets import TicketQuerySet
from madoguchi.tenancy.scoping import ShopScopedManager


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB_FORM = "web_form", _("Web form")
    CHAT = "chat", _("Chat")
    LINE = "line", _("LINE")
    PHONE = "phone", _("Phone")
    OTHER = "other", _("Other")


class Category(models.Model):
    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    # A category in use is deactivated instead of deleted: its tickets keep it, new ones can't.
    is_active = models.BooleanField(_("active"), default=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "name"], name="category_unique_name")
        ]
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=50)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """One conversation with a customer, numbered per shop (#TEA-1234)."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        # Two kinds of waiting, told apart in every language (issue #13): pending waits for the
        # customer (SLA clocks pause), on hold waits inside (the shop, a colleague, a carrier).
        PENDING = "pending", pgettext_lazy("ticket status", "Pending")
        ON_HOLD = "on_hold", pgettext_lazy("ticket status", "On hold")
        SOLVED = "solved", _("Solved")
        CLOSED = "closed", _("Closed")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    UNSOLVED_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField(_("number"))
    subject = models.CharField(_("subject"), max_length=255)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.NEW
    )
    priority = models.CharField(
        _("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("category")
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets", verbose_name=_("tags"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("customer"),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=10, default="ja")
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(_("last activity"))
    first_responded_at = models.DateTimeField(null=True, blank=True)
    # Kept by `conversations.outbound` whenever a reply's delivery changes: true while a reply
    # failed and nobody handled it yet (retried or marked handled). The status never clears it,
    # so a solved ticket with an unsent reply still shows in the inbox.
    has_failed_delivery = models.BooleanField(_("reply not delivered"), default=False)
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager.from_queryset(TicketQuerySet)()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "number"], name="ticket_unique_number")
        ]
        indexes = [
            # The inbox reads newest activity first within the user's shops; the keyset cursor
            # is (last_activity_at, id). One index per common filter keeps each page a range scan.
            models.Index(fields=["shop", "-last_activity_at", "-id"], name="ticket_shop_activity"),
            models.Index(
                fields=["shop", "status", "-last_activity_at", "-id"],
                name="ticket_shop_status_activity",
            ),
            # `shop` last: the shop filter and the sidebar counts of "mine" and "unassigned" read
            # it from the index instead of fetching every matching row.
            models.Index(
                fields=["assignee", "status", "-last_activity_at", "-id", "shop"],
                name="ticket_assignee_shop_activity",
            ),
            models.Index(fields=["-last_activity_at", "-id"], name="ticket_activity"),
            models.Index(fields=["customer", "-last_activity_at"], name="ticket_customer"),
            # The inbox's "not delivered" view: only the few tickets with a failed reply.
            models.Index(
                fields=["shop", "-last_activity_at", "-id"],
                condition=Q(has_failed_delivery=True),
                name="ticket_shop_failed_delivery",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def is_unsolved(self) -> bool:
        return self.status in self.UNSOLVED_STATUSES

    @property
    def reference(self) -> str:
        """The ticket tag customers see, for example `#TEA-1234` (needs `shop` loaded)."""
        return f"#{self.shop.ticket_prefix}-{self.number}"


class Message(models.Model):
    """One entry of a ticket's conversation: from the customer, to the customer, or a note."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("From customer")
        OUTBOUND = "outbound", _("Reply")
        NOTE = "note", _("Internal note")

    class DeliveryStatus(models.TextChoices):
        NOT_APPLICABLE = "", _("—")
        STORED = "stored", _("Stored")
        QUEUED = "queued", pgettext_lazy("delivery status", "Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=16, choices=Direction.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    author_customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body_text = models.TextField(_("text"))
    body_html = models.TextField(
        _("sanitized HTML"), blank=True, help_text=_("Only ever stored after nh3 sanitizing.")
    )
    external_id = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("The channel's id for this message (Message-ID, LINE webhookEventId, ...)."),
    )
    delivery_status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, blank=True, default=""
    )
    # Why the channel refused the reply: an English sentence of ours (shown translated by the
    # `stored_message` filter) or the server's own text. Empty unless the delivery failed.
    delivery_error = models.TextField(blank=True)
    # When staff dealt with a failed delivery some other way (a phone call, a new reply).
    delivery_handled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    objects = ShopScopedManager()

    class Meta:
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="message_timeline")]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "channel", "external_id"],
                condition=~Q(external_id=""),
                name="message_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_note(self) -> bool:
        return self.direction == self.Direction.NOTE


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    """Store under a random name: the display name never reaches the file system."""
    return f"attachments/{instance.shop_id}/{uuid.uuid4().hex}"


def initial_scan_status() -> str:
    """A new file waits for the virus scanner when one is configured; else it stays unscanned."""
    from madoguchi.core.clamd import configured_address

    return (
        Attachment.ScanStatus.PENDING if configured_address() else Attachment.ScanStatus.NOT_SCANNED
    )


class Attachment(models.Model):
    class ScanStatus(models.TextChoices):
        PENDING = "pending", _("Waiting for the virus scan")
        CLEAN = "clean", _("No malware found")
        INFECTED = "infected", _("Malware found")
        NOT_SCANNED = "not_scanned", _("Not scanned for malware")

    class Withheld(models.TextChoices):
        """Why a received file was not stored (conversations.storage_quota)."""

        EMPTY = "empty", _("The file is empty.")
        FILE_LIMIT = "file_limit", _("The file is over the size limit for one file.")
        TICKET_LIMIT = "ticket_limit", _("The ticket's files reached their size limit.")
        SHOP_LIMIT = "shop_limit", _("The shop's file storage is full.")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=attachment_upload_to, max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    # The malware scan (conversations.scanning): a file with malware found is kept, never served
    # without a supervisor's recorded override; "not scanned" is never taken for clean.
    scan_status = models.CharField(
        _("virus scan"), max_length=12, choices=ScanStatus.choices, default=initial_scan_status
    )
    scan_signature = models.CharField(max_length=200, blank=True)  # what the scanner found
    scanned_at = models.DateTimeField(null=True, blank=True)
    # Set when the file was not stored (no file then): the row says what the customer sent.
    withheld = models.CharField(max_length=12, choices=Withheld.choices, blank=True)

    objects = ShopScopedManager()

    class Meta:
        indexes = [
            models.Index(
                fields=["shop", "id"],
                condition=Q(scan_status="pending"),
                name="attachment_scan_pending",
            )
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_infected(self) -> bool:
        return self.scan_status == self.ScanStatus.INFECTED
