from typing import Any, NoReturn

from django.conf import settings
from django.db import models


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """A queryset that cannot rewrite history."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError(f"{self.model.__name__} rows are append-only")

    def delete(self) -> NoReturn:
        raise TypeError(f"{self.model.__name__} rows are append-only")


class AuditEntry(models.Model):
    """Who did or read what: sign-ins, PII reveals, exports, permission and setting changes.

    Entries span tenants (a failed sign-in has none), so this model is not shop-scoped; it is
    read only through `audit.selectors`, which filter by the reader's shops.
    """

    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    shop = models.ForeignKey("tenancy.Shop", null=True, on_delete=models.PROTECT, related_name="+")
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        # The audit log page reads a workspace's shops by shop and its members' shop-less
        # entries (sign-ins) by actor, each newest first (`audit.selectors`).
        indexes = [
            models.Index(fields=["shop", "occurred_at"], name="audit_shop_time"),
            models.Index(fields=["actor", "occurred_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("AuditEntry rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("AuditEntry rows are append-only")
