"""Rollups of the event log: one fact row per ticket, its measured durations and its tags.

Every row is a pure function of a ticket's events, its current classification and the shop's
business calendar, so `analytics_rebuild` recomputes the same rows the periodic job maintains
(ADR 0022). Figures are counted and ranked by the database over these rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.scoping import ShopScopedManager


class TicketFact(models.Model):
    """What the dashboard counts about one ticket."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    ticket = models.OneToOneField(
        "conversations.Ticket", on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField()
    # Local to the shop's time zone: the day bucket and the heatmap cell.
    created_on = models.DateField()
    created_hour = models.PositiveSmallIntegerField()
    created_weekday = models.PositiveSmallIntegerField()  # 0 = Monday
    channel = models.CharField(max_length=16)
    category = models.ForeignKey(
        "conversations.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    customer_id = models.BigIntegerField(null=True, blank=True)
    is_new_customer = models.BooleanField(default=True)
    status = models.CharField(max_length=16)
    is_open = models.BooleanField(default=True)
    is_resolved = models.BooleanField(default=False)
    was_ever_resolved = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    reply_count = models.PositiveIntegerField(default=0)
    reopen_count = models.PositiveIntegerField(default=0)
    is_one_touch = models.BooleanField(default=False)
    is_csat_requested = models.BooleanField(default=False)
    csat_score = models.PositiveSmallIntegerField(null=True, blank=True)
    last_event_id = models.BigIntegerField(default=0)

    objects = ShopScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["shop", "created_at"], name="ticketfact_shop_created"),
            models.Index(fields=["shop", "is_open", "created_at"], name="ticketfact_shop_open"),
            models.Index(fields=["shop", "customer_id", "created_at"], name="ticketfact_customer"),
        ]

    def __str__(self) -> str:
        return f"fact of ticket {self.ticket_id}"


class DurationFact(models.Model):
    """One finished clock of a ticket: first response, a next response cycle or resolution.

    `business_seconds` counts the shop's opening hours only, without the time the ticket was
    pending (waiting on the customer); `elapsed_seconds` is plain wall-clock time. A duration
    belongs to the period in which its clock started, as SLA attainment does.
    """

    class Metric(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        NEXT_RESPONSE = "next_response", _("Next response")
        RESOLUTION = "resolution", _("Resolution")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    fact = models.ForeignKey(TicketFact, on_delete=models.CASCADE, related_name="durations")
    metric = models.CharField(max_length=16, choices=Metric.choices)
    cycle = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField()
    business_seconds = models.BigIntegerField()
    elapsed_seconds = models.BigIntegerField()
    channel = models.CharField(max_length=16)
    category_id = models.BigIntegerField(null=True, blank=True)
    assignee_id = models.BigIntegerField(null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["shop", "metric", "started_at"], name="durationfact_shop_metric"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["fact", "metric", "cycle"], name="durationfact_unique_cycle"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} #{self.cycle} of fact {self.fact_id}"


class TagFact(models.Model):
    """A tag a ticket carries, for volume by tag."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    fact = models.ForeignKey(TicketFact, on_delete=models.CASCADE, related_name="tags")
    tag = models.ForeignKey("conversations.Tag", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=50)

    objects = ShopScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fact", "tag"], name="tagfact_unique")]

    def __str__(self) -> str:
        return self.name


class AnalyticsSettings(models.Model):
    """A shop's analytics choices: whether its client users see operator names."""

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    shows_operator_names_to_client = models.BooleanField(
        _("show operator names to the shop's client users"), default=False
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"analytics settings of shop {self.shop_id}"
