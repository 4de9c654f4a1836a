from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: agency staff or a shop owner. Customers are not users."""

    email = models.EmailField(_("email address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=100)
    language = models.CharField(_("language"), max_length=10, default="ja")
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.email


class UserSession(models.Model):
    """A session a user signed in with, so that all of a user's sessions can be ended at once.

    Written on sign-in (`accounts.sessions`); the session itself lives in the session store.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class Attempt(models.Model):
    """One counted attempt (a failed sign-in, a password-reset request) for throttling.

    Rows live in the database so that every process sees the same counts; they are pruned once
    older than the longest window (`accounts.throttling`).
    """

    class Scope(models.TextChoices):
        SIGN_IN_ACCOUNT = "sign_in.account", "sign-in failures of an account"
        SIGN_IN_ADDRESS = "sign_in.address", "sign-in failures from a client address"
        PASSWORD_RESET_ADDRESS = "password_reset.address", "password resets asked from an address"

    scope = models.CharField(max_length=32, choices=Scope.choices)
    key = models.CharField(max_length=254)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "occurred_at"], name="attempt_lookup")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} {self.occurred_at:%Y-%m-%d %H:%M:%S}"
