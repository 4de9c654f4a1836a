"""Orders with their lines, status history, shipments, requests and ticket links."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.commerce.carriers import Carrier, tracking_url
from madoguchi.core.secrets import DigestField, EncryptedTextField
from madoguchi.tenancy.scoping import ShopScopedManager


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    COD = "cod", _("Cash on delivery")
    KONBINI = "konbini", _("Convenience store")
    DEFERRED = "deferred", _("Deferred payment")


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    REFUNDED = "refunded", _("Refunded")


class Order(models.Model):
    """One order of a shop; amounts are tax-included yen."""

    class Status(models.TextChoices):
        # Not the ticket's "pending" (waiting for the customer): an order not yet confirmed.
        PENDING = "pending", pgettext_lazy("order status", "Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        RETURNED = "returned", _("Returned")

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by staff")
        PHONE = "phone", _("Phone")
        FAX = "fax", _("Fax")
        CSV = "csv", _("CSV import")
        SHOPIFY = "shopify", _("Shopify")
        ECCUBE = "eccube", _("EC-CUBE")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("order number"), max_length=40)
    # How customers' mentions find the order (commerce.order_numbers): "YE-20260137" is
    # "YE20260137", its digits "20260137". Written with `number` by the services.
    number_key = models.CharField(max_length=40, blank=True, editable=False)
    number_digits = models.CharField(max_length=40, blank=True, editable=False)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        verbose_name=_("customer"),
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    external_id = models.CharField(_("platform id"), max_length=64, blank=True)
    placed_at = models.DateTimeField(_("placed"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    payment_method = models.CharField(
        _("payment method"), max_length=16, choices=PaymentMethod.choices
    )
    payment_status = models.CharField(
        _("payment status"),
        max_length=16,
        choices=PaymentStatus.choices,
        default=PaymentStatus.UNPAID,
    )
    payment_due_on = models.DateField(_("payment due"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    # The customer's contacts and address are encrypted at rest (ADR 0013); the names and
    # the prefecture are not (orders are found and listed by them).
    email = EncryptedTextField(_("email"), blank=True)
    # The keyed digests of the email and the shipping phone normalised as customers' contact
    # identities are (`customers.normalize.identity_digest`): how an order without a customer
    # finds the customer who writes or calls from them later.
    contact_email = DigestField(
        of=("email",), label="email", normalize="madoguchi.customers.normalize.matchable_email"
    )
    contact_phone = DigestField(
        of=("shipping_phone",),
        label="phone",
        normalize="madoguchi.customers.normalize.matchable_phone",
    )
    items_total = models.PositiveIntegerField(_("items (tax incl.)"), default=0)
    shipping_fee = models.PositiveIntegerField(_("shipping (tax incl.)"), default=0)
    payment_fee = models.PositiveIntegerField(_("payment fee (tax incl.)"), default=0)
    discount = models.PositiveIntegerField(_("discount"), default=0)
    total = models.PositiveIntegerField(_("total (tax incl.)"), default=0)
    total_10 = models.PositiveIntegerField(_("total at 10%"), default=0)
    tax_10 = models.PositiveIntegerField(_("tax at 10%"), default=0)
    total_8 = models.PositiveIntegerField(_("total at 8% (reduced)"), default=0)
    tax_8 = models.PositiveIntegerField(_("tax at 8% (reduced)"), default=0)
    amount_paid = models.PositiveIntegerField(_("paid so far"), default=0)
    shipping_postal_code = EncryptedTextField(_("postal code"), blank=True)
    shipping_prefecture = models.CharField(_("prefecture"), max_length=10, blank=True)
    shipping_address1 = EncryptedTextField(_("address"), blank=True)
    shipping_address2 = EncryptedTextField(_("building"), blank=True)
    shipping_name = models.CharField(_("recipient"), max_length=200, blank=True)
    shipping_name_kana = models.CharField(_("recipient (kana)"), max_length=200, blank=True)
    shipping_phone = EncryptedTextField(_("phone"), blank=True)
    billing_name_kana = models.CharField(_("buyer (kana)"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopScopedManager()

    # What lists that show none of them leave unread (each would be decrypted).
    ENCRYPTED_FIELDS = (
        "email",
        "shipping_postal_code",
        "shipping_address1",
        "shipping_address2",
        "shipping_phone",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "number"], name="order_unique_number")
        ]
        indexes = [
            models.Index(fields=["shop", "-placed_at"], name="order_shop_placed"),
            models.Index(fields=["customer", "-placed_at"], name="order_customer"),
            models.Index(fields=["shop", "number_key"], name="order_shop_number_key"),
            models.Index(fields=["shop", "number_digits"], name="order_shop_number_digits"),
            models.Index(fields=["shop", "contact_email"], name="order_shop_contact_email"),
            models.Index(fields=["shop", "contact_phone"], name="order_shop_contact_phone"),
            models.Index(
                fields=["shop", "payment_method", "payment_status"], name="order_shop_payment"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"

    @property
    def amount_due(self) -> int:
        return max(self.total - self.amount_paid, 0)

    @property
    def is_awaiting_transfer(self) -> bool:
        return self.payment_method == PaymentMethod.BANK_TRANSFER and self.payment_status in (
            PaymentStatus.UNPAID,
            PaymentStatus.PARTIALLY_PAID,
        )


class OrderLine(models.Model):
    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    name = models.CharField(_("item"), max_length=255)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.PositiveIntegerField(_("unit price (tax incl.)"))
    tax_rate = models.PositiveSmallIntegerField(
        _("tax rate"), choices=[(10, "10%"), (8, _("8% (reduced)"))], default=10
    )

    objects = ShopScopedManager()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.name} × {self.quantity}"

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity


class OrderStatusChange(models.Model):
    """One change of an order's status or payment status: the order's history."""

    class Field(models.TextChoices):
        STATUS = "status", _("Status")
        PAYMENT_STATUS = "payment_status", _("Payment status")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    field = models.CharField(max_length=16, choices=Field.choices)
    old_value = models.CharField(max_length=16, blank=True)
    new_value = models.CharField(max_length=16)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)
    changed_at = models.DateTimeField()

    objects = ShopScopedManager()

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} → {self.new_value}"

    def _label(self, value: str) -> str:
        """The label of a stored value in the changed field's choices (the value if unknown)."""
        choices = Order.Status if self.field == self.Field.STATUS else PaymentStatus
        return str(choices(value).label) if value in choices.values else value

    @property
    def old_label(self) -> str:
        return self._label(self.old_value) if self.old_value else ""

    @property
    def new_label(self) -> str:
        return self._label(self.new_value)


class Shipment(models.Model):
    class Status(models.TextChoices):
        PREPARING = "preparing", _("Preparing")
        SHIPPED = "shipped", _("Shipped")
        IN_TRANSIT = "in_transit", _("In transit")
        DELIVERED = "delivered", _("Delivered")
        RETURNED = "returned", _("Returned")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(_("carrier"), max_length=16, choices=Carrier.choices)
    tracking_number = models.CharField(_("tracking number"), max_length=40, blank=True)
    tracking_number_original = models.CharField(_("as entered"), max_length=80, blank=True)
    is_tracking_number_checked = models.BooleanField(
        _("check digit verified"),
        null=True,
        help_text=_("Empty when the carrier has no published check digit."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SHIPPED
    )
    external_id = models.CharField(max_length=64, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_carrier_display()} {self.tracking_number}"

    @property
    def tracking_url(self) -> str:
        return tracking_url(self.carrier, self.tracking_number)


class OrderRequest(models.Model):
    """A customer's request about an order, taken from a ticket: return, exchange, change."""

    class Kind(models.TextChoices):
        RETURN = "return", _("Return")
        EXCHANGE = "exchange", _("Exchange")
        ADDRESS_CHANGE = "address_change", _("Address change")
        CANCELLATION = "cancellation", _("Cancellation")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        COMPLETED = "completed", _("Completed")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="requests")
    ticket = models.ForeignKey(
        "conversations.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.REQUESTED
    )
    reason = models.TextField(_("reason"), blank=True)
    details = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.order_id}"


class TicketOrderLink(models.Model):
    """An order shown beside a ticket: mentioned in a message, or linked by staff.

    A mention (a message or the web form's order-number field) is only a claim: anyone can
    type a number. Staff see the order beside the ticket, but the order's notices and details
    go to the ticket only once staff have confirmed the link (`Source.MANUAL`).
    """

    class Source(models.TextChoices):
        MENTION = "mention", _("Mentioned in a message")
        MANUAL = "manual", _("Linked by staff")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey(
        "conversations.Ticket", on_delete=models.CASCADE, related_name="order_links"
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="ticket_links")
    source = models.CharField(max_length=16, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "order"], name="ticket_order_link_unique")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} ↔ {self.order_id}"

    @property
    def is_confirmed(self) -> bool:
        return self.source == self.Source.MANUAL


class OrderNotice(models.Model):
    """A thank-you or shipping notice for an order; sent as a reply when there is a ticket."""

    class Kind(models.TextChoices):
        PAYMENT_THANKS = "payment_thanks", _("Payment received")
        SHIPPING = "shipping", _("Shipping notice")
        PAYMENT_REMINDER = "payment_reminder", _("Payment reminder")

    class UnsentReason(models.TextChoices):
        """Why a notice was only stored; the labels are the explanation staff read."""

        NO_CUSTOMER = (
            "no_customer",
            _(
                "The order has no customer yet: confirm it on the customer's ticket "
                "(orders panel) to send notices there."
            ),
        )
        NO_TICKET = (
            "no_ticket",
            _(
                "The order's customer has not written on a channel replies can be sent on "
                "(email, web form, LINE, chat)."
            ),
        )
        NO_SENDER = "no_sender", _("Recorded automatically, without a person to send it as.")
        NOT_ALLOWED = "not_allowed", _("You may not reply on the customer's ticket.")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    body_text = models.TextField()
    # Empty when the notice went out as `message`.
    unsent_reason = models.CharField(max_length=16, choices=UnsentReason.choices, blank=True)
    message = models.ForeignKey(
        "conversations.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"{self.kind} #{self.order_id}"
