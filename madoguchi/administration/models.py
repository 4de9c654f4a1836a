"""Rows of the administration pages: invitations of people into a workspace."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.models import Membership


class Invitation(models.Model):
    """An invitation by email to join a workspace with a role (and, for operators, shops).

    Only the SHA-256 of the link's token is stored: the raw token exists in the emailed link
    alone, so a copy of the database opens no invitation. A resend replaces the token (the old
    link dies) and restarts the expiry.
    """

    workspace = models.ForeignKey(
        "tenancy.Workspace", on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email address"))  # lower-cased by the services
    # The name the inviter knows the person by: the mail greets them, the accept form starts
    # with it (they may change it).
    display_name = models.CharField(_("name"), max_length=100, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Membership.Role.choices)
    is_trainee = models.BooleanField(_("trainee"), default=False)
    shops = models.ManyToManyField(
        "tenancy.Shop", blank=True, related_name="+", verbose_name=_("shops")
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_send_error = models.TextField(blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "email"], name="invitation_workspace_email")]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace_id} ({self.role})"

    @property
    def is_open(self) -> bool:
        """Neither accepted nor revoked (it may still have expired)."""
        return self.accepted_at is None and self.revoked_at is None
