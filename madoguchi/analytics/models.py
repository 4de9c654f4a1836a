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


class TopicTermFact(models.Model):
    """A term (a two-character bigram or a pair of Latin words) of a ticket's first customer
    message, for the rising topics and their drill-down (`analytics.topics`).

    The ticket's dimensions are copied so that a filtered period counts from this table alone.
    """

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    fact = models.ForeignKey(TicketFact, on_delete=models.CASCADE, related_name="topic_terms")
    term = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    created_on = models.DateField()
    channel = models.CharField(max_length=16)
    category_id = models.BigIntegerField(null=True, blank=True)
    assignee_id = models.BigIntegerField(null=True, blank=True)

    objects = ShopScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["shop", "created_at"], name="topicterm_shop_created"),
            models.Index(fields=["shop", "created_on", "term"], name="topicterm_shop_day_term"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["fact", "term"], name="topicterm_unique_per_fact")
        ]

    def __str__(self) -> str:
        return self.term


class TopicDayCount(models.Model):
    """How many of a shop's tickets created on a (shop-local) day contain a term: the rollup the
    unfiltered dashboard ranks rising topics from. Recomputed from `TopicTermFact` for every day
    a refresh touches, so it always equals a recount."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    term = models.CharField(max_length=64)
    tickets = models.PositiveIntegerField()

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "day", "term"], name="topicday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.term} x{self.tickets} on {self.day}"


class HandleFact(models.Model):
    """How long one person worked on one ticket: the sum of its `ticket.worked` events.

    `seconds` is the time the ticket page was visible and focused (with the composer typing
    included); `composing_seconds` the part of it spent writing in the composer.
    """

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    fact = models.ForeignKey(TicketFact, on_delete=models.CASCADE, related_name="handles")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    seconds = models.PositiveIntegerField(default=0)
    composing_seconds = models.PositiveIntegerField(default=0)

    objects = ShopScopedManager()

    class Meta:
        indexes = [models.Index(fields=["shop", "fact"], name="handlefact_shop_fact")]

    def __str__(self) -> str:
        return f"{self.seconds}s by {self.operator_id} on fact {self.fact_id}"


class FactsRebuild(models.Model):
    """A shop's pending or running recomputation of its facts (its calendar changed).

    A save of the calendar sets `requested_at`; the task that starts later claims every request
    made until then (`started_at`), so several saves before it runs give one rebuild. The
    dashboard says "recomputing" while `requested_at` is newer than `finished_at`.
    """

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rebuild_count = models.PositiveIntegerField(default=0)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"facts rebuild of shop {self.shop_id}"

    @property
    def is_pending(self) -> bool:
        return self.finished_at is None or self.requested_at > self.finished_at


class DailyCount(models.Model):
    """The ticket counts of one local day of a shop for one channel x category x assignee.

    Kept by `analytics.rollups` from the ticket facts of the day (the periodic job recomputes
    every day whose facts it touched), so summing the rows of a period gives the figures of
    `selectors.summary` and the breakdowns without reading one row per ticket.
    """

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    created_on = models.DateField()  # local to the shop, as TicketFact.created_on
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
    tickets = models.PositiveIntegerField(default=0)
    new_customers = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    ever_resolved = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    one_touch = models.PositiveIntegerField(default=0)
    csat_requested = models.PositiveIntegerField(default=0)
    csat_answered = models.PositiveIntegerField(default=0)
    csat_total = models.PositiveIntegerField(default=0)
    open_tickets = models.PositiveIntegerField(default=0)

    objects = ShopScopedManager()

    class Meta:
        indexes = [models.Index(fields=["shop", "created_on"], name="dailycount_shop_day")]

    def __str__(self) -> str:
        return f"counts of shop {self.shop_id} on {self.created_on}"


class DailyDistribution(models.Model):
    """One local day of a shop: tickets created per hour, per tag, and the histograms of the
    clocks started that day (fixed log-scale bins of `analytics.rollups`, business and elapsed
    seconds), of one channel or (`channel` "") of every channel, every category and operator
    together."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    channel = models.CharField(max_length=16, blank=True)  # "": every channel together
    hours = models.JSONField(default=list)  # 24 counts, local hour of creation
    tags = models.JSONField(default=dict)  # {tag id: [name, count]}
    durations = models.JSONField(default=dict)  # {metric: {"b": {bin: n}, "e": {bin: n}}}
    open_tickets = models.PositiveIntegerField(default=0)  # created that day and open now

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "day", "channel"], name="dailydistribution_unique_day_channel"
            )
        ]

    def __str__(self) -> str:
        return f"distribution of shop {self.shop_id} on {self.day}"
