"""Who may work on which shop: workspaces, shops, engagements, memberships, assignments."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Workspace(models.Model):
    """A company using Madoguchi: a shop's owner, or a support agency."""

    class Kind(models.TextChoices):
        MERCHANT = "merchant", _("Shop company")
        AGENCY = "agency", _("Support agency")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    requires_two_factor = models.BooleanField(
        _("require two-factor sign-in for staff"),
        default=False,
        help_text=_("Admins, supervisors and operators must set up an authenticator app."),
    )
    # Networks (CIDR strings, normalised) staff may work from; empty: any address.
    staff_ip_allowlist = models.JSONField(_("staff IP allowlist"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Shop(models.Model):
    """The tenant: every customer, ticket and order belongs to exactly one shop."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.PROTECT, related_name="shops", verbose_name=_("owner")
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    ticket_prefix = models.CharField(
        _("ticket prefix"),
        max_length=10,
        unique=True,
        help_text=_("Shown before ticket numbers, for example TEA in #TEA-1234."),
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Tokyo")
    default_language = models.CharField(_("default language"), max_length=10, default="ja")
    last_ticket_number = models.PositiveIntegerField(default=0, editable=False)
    archived_at = models.DateTimeField(
        _("archived"),
        null=True,
        blank=True,
        help_text=_("An archived shop receives nothing new and leaves the menus; its data stays."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Engagement(models.Model):
    """An agency works a client's shop: 受託型 from its workspace, 常駐型 inside the shop's."""

    class Mode(models.TextChoices):
        OUTSOURCED = "outsourced", _("Outsourced (受託型)")
        EMBEDDED = "embedded", _("Embedded (常駐型)")

    agency = models.ForeignKey(
        Workspace, on_delete=models.PROTECT, related_name="engagements", verbose_name=_("agency")
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="engagements", verbose_name=_("shop")
    )
    mode = models.CharField(_("mode"), max_length=20, choices=Mode.choices)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="engagement_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agency} → {self.shop}"


class Membership(models.Model):
    """A user's role in one workspace."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        SUPERVISOR = "supervisor", _("Supervisor")
        OPERATOR = "operator", _("Operator")
        CLIENT = "client", _("Client")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_trainee = models.BooleanField(
        _("trainee"), default=False, help_text=_("Replies wait for a supervisor's approval.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.workspace} ({self.role})"


class ShopAssignment(models.Model):
    """An operator of a workspace is assigned to work one shop."""

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="shop_assignments"
    )
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="assignments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "shop"], name="assignment_unique")
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} → {self.shop_id}"


class EngagementInvitation(models.Model):
    """A shop company invites an agency to work its shop: the code an agency admin accepts.

    The code handed out is this row's id signed with `django.core.signing`; the row makes the code
    single-use and lets the shop take it back before an agency accepts it.
    """

    shop = models.ForeignKey(
        Shop,
        on_delete=models.CASCADE,
        related_name="engagement_invitations",
        verbose_name=_("shop"),
    )
    mode = models.CharField(_("mode"), max_length=20, choices=Engagement.Mode.choices)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    engagement = models.OneToOneField(
        Engagement, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.shop_id} ({self.mode})"
