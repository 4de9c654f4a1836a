from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.core.secrets import DigestField, EncryptedTextField
from madoguchi.tenancy.scoping import ShopScopedManager


class Customer(models.Model):
    """One person who contacts a shop, across every channel. Never shared between shops."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=200, blank=True)
    name_kana = models.CharField(_("name reading (kana)"), max_length=200, blank=True)
    # The staff's memo on the customer (gift orders, preferred contact time...): staff write it
    # on the customer page (`customer_note_update`), everyone who sees the customer reads it.
    note = models.TextField(_("memo"), blank=True)
    note_updated_at = models.DateTimeField(_("memo updated at"), null=True, blank=True)
    note_updated_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("memo updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopScopedManager()

    class Meta:
        indexes = [models.Index(fields=["shop", "name"], name="customer_shop_name")]

    def __str__(self) -> str:
        return self.name or str(_("(no name)"))


class ContactIdentity(models.Model):
    """A way to reach a customer on one channel: an email address, a phone number, a LINE user."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        LINE = "line", _("LINE")
        CHAT = "chat", _("Chat visitor")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # Encrypted at rest (ADR 0013); found by `value_digest`, never by the value itself.
    value = EncryptedTextField(
        _("value"), help_text=_("Normalised: lower-case email, digits-only phone.")
    )
    display_value = EncryptedTextField(_("as entered"))
    # The keyed digest of "<kind>:<value>": what lookups and the unique constraint use
    # (`customers.normalize.identity_digest` computes the same for a value to find).
    value_digest = DigestField(of=("kind", "value"))
    display_name = models.CharField(_("name on this channel"), max_length=200, blank=True)
    is_undeliverable = models.BooleanField(_("undeliverable"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "kind", "value_digest"], name="identity_unique_per_shop"
            )
        ]
        indexes = [models.Index(fields=["customer", "kind"], name="identity_customer_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.display_value}"
