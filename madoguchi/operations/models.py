"""A shop's business calendar and SLA policies, and the SLA measures stored per ticket."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.scoping import ShopScopedManager, WorkspaceScopedManager


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BusinessCalendarSettings(models.Model):
    """The shop's calendar: whether national holidays close it, 24/365 or not.

    Its time zone is the shop's (`Shop.time_zone`, set on the shop's settings page): the SLA
    clocks, the shifts and the coverage read one zone.
    """

    shop = models.OneToOneField(
        "tenancy.Shop", on_delete=models.CASCADE, related_name="business_calendar"
    )
    observes_national_holidays = models.BooleanField(_("closed on national holidays"), default=True)
    always_open = models.BooleanField(_("open 24/365"), default=False)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"calendar of shop {self.shop_id}"


class OpeningHours(models.Model):
    """One opening interval on a weekday; several per day make breaks and split shifts."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens_at = models.TimeField(_("opens"))
    closes_at = models.TimeField(_("closes"), help_text=_("00:00 means midnight at day's end."))

    objects = ShopScopedManager()

    class Meta:
        ordering = ["weekday", "opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")) | Q(closes_at="00:00"),
                name="opening_hours_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class Closure(models.Model):
    """Days the shop is closed: 年末年始, お盆, stock-taking (inclusive dates)."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"))

    objects = ShopScopedManager()

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="closure_period_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.starts_on}–{self.ends_on}"


class SlaPolicy(models.Model):
    """Targets for tickets of a shop, chosen by priority and channel (blank matches any).

    The most specific matching policy wins (priority and channel both set, then one, then none);
    `position` orders policies of equal specificity.
    """

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    priority = models.CharField(_("priority"), max_length=16, blank=True)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    first_response_minutes = models.PositiveIntegerField(
        _("first response (minutes)"), null=True, blank=True
    )
    next_response_minutes = models.PositiveIntegerField(
        _("next response (minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (minutes)"), null=True, blank=True
    )
    in_business_hours = models.BooleanField(_("count business hours only"), default=True)
    warn_minutes_before = models.PositiveIntegerField(
        _("warn before the due time (minutes)"), default=30
    )
    escalate_on_breach = models.BooleanField(
        _("notify the shop's supervisors at a breach"), default=True
    )
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name


class SlaMeasureRecord(models.Model):
    """A ticket's SLA measure as last computed: what reports read for attainment."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(
        "conversations.Ticket", on_delete=models.CASCADE, related_name="sla_measures"
    )
    policy = models.ForeignKey(SlaPolicy, null=True, on_delete=models.SET_NULL, related_name="+")
    metric = models.CharField(max_length=32)
    cycle = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True)
    completed_at = models.DateTimeField(null=True)
    is_breached = models.BooleanField(default=False)
    breach_notified_at = models.DateTimeField(null=True, blank=True)
    warning_notified_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField()

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "metric", "cycle"], name="sla_measure_unique_cycle"
            )
        ]
        indexes = [
            models.Index(
                fields=["shop", "due_at"],
                name="sla_open_due",
                condition=Q(completed_at__isnull=True),
            ),
            models.Index(fields=["shop", "policy", "started_at"], name="sla_attainment"),
        ]

    def __str__(self) -> str:
        return f"{self.metric}#{self.cycle} of ticket {self.ticket_id}"

    @property
    def metric_label(self) -> str:
        from madoguchi.operations.labels import METRIC_LABELS

        return str(METRIC_LABELS.get(self.metric, self.metric))


class RoutingSettings(models.Model):
    """How a shop's new tickets find an operator."""

    class Mode(models.TextChoices):
        MANUAL = "manual", _("Manual")
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_LOAD = "least_load", _("Least load")

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.CASCADE, related_name="routing")
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices, default=Mode.MANUAL)
    max_open_per_operator = models.PositiveSmallIntegerField(
        _("open tickets per operator (limit)"), null=True, blank=True
    )
    requires_language_skill = models.BooleanField(_("match the ticket's language"), default=True)
    requires_on_duty = models.BooleanField(
        _("only operators on duty"),
        default=True,
        help_text=_("On duty: status available and a shift covering the moment."),
    )
    channel_modes = models.JSONField(
        _("mode per channel"),
        default=dict,
        blank=True,
        help_text=_("Channels routed differently from the shop's mode: channel to mode."),
    )
    last_assigned_user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promises_24_7 = models.BooleanField(_("contract promises 24/365 coverage"), default=False)
    reassign_on_breach = models.BooleanField(
        _("reassign a ticket when its SLA is breached"),
        default=False,
        help_text=_(
            "Another eligible operator takes the ticket by the routing mode (least load when"
            " routing is manual); when nobody else may take it, it stays."
        ),
    )

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"routing of shop {self.shop_id}: {self.mode}"

    def mode_for_channel(self, channel: str) -> str:
        """Return the routing mode of a ticket that came in on `channel`."""
        mode = self.channel_modes.get(channel) if isinstance(self.channel_modes, dict) else None
        return str(mode) if mode in self.Mode.values else str(self.mode)


class OperatorProfile(models.Model):
    """An agency member's working state: on-duty status and language skills."""

    class Duty(models.TextChoices):
        AVAILABLE = "available", _("Available")
        AWAY = "away", _("Away")
        OFFLINE = "offline", _("Offline")

    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.CASCADE, related_name="+")
    membership = models.OneToOneField(
        "tenancy.Membership", on_delete=models.CASCADE, related_name="operator_profile"
    )
    duty = models.CharField(_("status"), max_length=16, choices=Duty.choices, default=Duty.OFFLINE)
    duty_changed_at = models.DateTimeField(null=True, blank=True)
    languages = models.JSONField(
        _("languages"), default=list, help_text=_('Language codes, e.g. ["ja", "en"].')
    )

    objects = WorkspaceScopedManager()

    def __str__(self) -> str:
        return f"profile of membership {self.membership_id}"


class Shift(models.Model):
    """One scheduled period on duty (day, night, weekend shifts are rows like any other)."""

    workspace = models.ForeignKey("tenancy.Workspace", on_delete=models.CASCADE, related_name="+")
    membership = models.ForeignKey(
        "tenancy.Membership", on_delete=models.CASCADE, related_name="shifts"
    )
    label = models.CharField(_("label"), max_length=50, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))

    objects = WorkspaceScopedManager()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["workspace", "starts_at", "ends_at"], name="shift_period")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="shift_period_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M}"


class ReplyTemplate(models.Model):
    """A reply text (macro) of a shop in one language; it may also set status, tags, category.

    The body holds `{{ name }}` placeholders of a fixed allowlist (see `replytemplates`); it is
    never given to Django's template engine.
    """

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    language = models.CharField(_("language"), max_length=10, default="ja")
    body = models.TextField(_("text"))
    set_status = models.CharField(_("set the status to"), max_length=16, blank=True)
    set_tags = models.JSONField(_("add tags"), default=list, blank=True)
    set_category = models.ForeignKey(
        "conversations.Category",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("set the category to"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopScopedManager()

    class Meta:
        ordering = ["language", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "language", "name"], name="reply_template_unique_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    @property
    def language_name(self) -> str:
        """The template's language by its name in the UI language ("日本語"), not its code."""
        from django.utils.translation import get_language_info

        try:
            return str(get_language_info(self.language)["name_translated"])
        except KeyError:
            return self.language

    @property
    def set_status_label(self) -> str:
        """The status the template sets, as the ticket's status label (not its stored value)."""
        from madoguchi.conversations.models import Ticket

        if self.set_status in Ticket.Status.values:
            return str(Ticket.Status(self.set_status).label)
        return self.set_status


class AfterHoursSettings(models.Model):
    """Whether the shop answers customers who write outside business time, and with what text."""

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    is_enabled = models.BooleanField(_("send an after-hours reply"), default=False)
    body = models.TextField(
        _("after-hours text"),
        blank=True,
        help_text=_("Empty: the standard text. Placeholders such as {{ next_opening }} work."),
    )
    # The text goes out with nobody approving each reply, so only a text a supervisor or admin
    # saved is sent; without one (a text saved before that rule) customers get the standard text.
    body_approved_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("text approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    body_approved_at = models.DateTimeField(_("text approved at"), null=True, blank=True)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"after-hours reply of shop {self.shop_id}"

    @property
    def sent_body(self) -> str:
        """The shop's own text if a lead approved it, else "" (the standard text)."""
        return self.body if self.body_approved_by_id else ""


class ReplyDraft(models.Model):
    """A trainee's reply waiting for a supervisor: approved (then sent) or sent back."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved and sent")
        RETURNED = "returned", _("Sent back")

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(
        "conversations.Ticket", on_delete=models.CASCADE, related_name="reply_drafts"
    )
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    body_text = models.TextField(_("text as written"))
    sent_text = models.TextField(_("text as sent"), blank=True)
    status = models.CharField(_("submit as"), max_length=16, blank=True)
    template = models.ForeignKey(
        ReplyTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    reviewer = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_comment = models.TextField(_("comment"), blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    message = models.ForeignKey(
        "conversations.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    objects = ShopScopedManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["shop", "state", "created_at"], name="reply_draft_queue")]

    def __str__(self) -> str:
        return f"draft {self.id} on ticket {self.ticket_id} ({self.state})"


class AlertReadState(models.Model):
    """How far a lead has read the shop's alerts: the id of the last alert event seen."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    last_seen_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "user"], name="alert_read_state_unique_user")
        ]

    def __str__(self) -> str:
        return f"alerts of shop {self.shop_id} read by user {self.user_id}"
