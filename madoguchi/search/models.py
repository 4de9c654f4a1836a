from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.scoping import ShopScopedManager


class SearchDocument(models.Model):
    """One searchable unit: a ticket's conversation, its internal notes, a customer, an order.

    `content` is the text in `normalize_text` form (readable, used for snippets and for checking
    phrases); its tokens live in the engine's full-text index, which the migration creates:
    an FTS5 table `search_fts` (rowid = id) on SQLite, a GIN-indexed `search_vector` column on
    PostgreSQL. The id is re-assigned whenever a document is re-indexed, so id order is the
    order of last activity and "newest first" is a backward walk of the index (see
    docs/adr on search).
    """

    class Kind(models.TextChoices):
        TICKET = "ticket", _("Ticket")
        CUSTOMER = "customer", _("Customer")
        ORDER = "order", _("Order")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()
    is_internal = models.BooleanField(
        default=False, help_text=_("Internal notes: found only by the shop's staff.")
    )
    number = models.PositiveIntegerField(null=True, blank=True)
    title = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    activity_at = models.DateTimeField()
    content = models.TextField(blank=True)

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "is_internal"], name="search_document_unique_object"
            )
        ]
        indexes = [
            models.Index(fields=["shop", "kind", "-id"], name="search_document_recent"),
            # Actors of many shops walk one kind newest first and filter the shop.
            models.Index(fields=["kind", "-id"], name="search_document_kind_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"
