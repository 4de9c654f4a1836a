from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.audit.models import AppendOnlyQuerySet
from madoguchi.tenancy.scoping import ShopScopedManager


class ActorKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    OPERATOR = "operator", _("Operator")
    CLIENT = "client", _("Client")
    SYSTEM = "system", _("System")


class Event(models.Model):
    """One fact in a shop's append-only log; the id is the cursor readers resume from."""

    id = models.BigAutoField(primary_key=True)
    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey(
        "conversations.Ticket",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
    )
    type = models.CharField(max_length=64)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    occurred_at = models.DateTimeField()
    payload_version = models.PositiveSmallIntegerField(default=1)
    payload = models.JSONField(default=dict)

    objects = ShopScopedManager.from_queryset(AppendOnlyQuerySet)()

    class Meta:
        indexes = [
            models.Index(fields=["shop", "id"], name="event_shop_cursor"),
            models.Index(fields=["ticket", "id"], name="event_ticket_cursor"),
            models.Index(fields=["shop", "type", "occurred_at"], name="event_shop_type_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("Event rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("Event rows are append-only")


class ConsumerCursor(models.Model):
    """How far a background reader (SLA clocks, reports, webhooks) has read the event log."""

    name = models.CharField(max_length=100, primary_key=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"
