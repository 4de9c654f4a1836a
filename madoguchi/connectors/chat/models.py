"""Live chat: a shop's widget settings, visitor conversations and operator presence."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.tenancy.scoping import ShopScopedManager


def new_public_key() -> str:
    return secrets.token_urlsafe(16)


def new_identity_secret() -> str:
    return secrets.token_hex(32)


def token_digest(token: str) -> str:
    """The stored form of a conversation token: only its SHA-256 is kept."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class ChatWidget(models.Model):
    """One shop's chat widget: the public key of its script tag and where it may run."""

    shop = models.OneToOneField("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    public_key = models.CharField(
        _("public key"), max_length=64, unique=True, default=new_public_key
    )
    is_enabled = models.BooleanField(_("chat enabled"), default=True)
    allowed_origins = models.TextField(
        _("sites that may show the widget"),
        blank=True,
        help_text=_("One origin per line, for example https://shop.example.jp"),
    )
    identity_secret = models.CharField(
        _("identity verification secret"), max_length=128, default=new_identity_secret
    )
    follows_business_hours = models.BooleanField(
        _("live chat only during business hours"), default=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"chat widget of shop {self.shop_id}"

    @property
    def origin_list(self) -> list[str]:
        return [
            line.strip().rstrip("/").lower()
            for line in self.allowed_origins.splitlines()
            if line.strip()
        ]

    def allows_origin(self, origin: str) -> bool:
        return bool(origin) and origin.rstrip("/").lower() in self.origin_list


class ChatConversation(models.Model):
    """One visitor's chat; its token (hashed here) opens the visitor's websocket."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.PROTECT, related_name="+")
    widget = models.ForeignKey(ChatWidget, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    public_id = models.CharField(max_length=32, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket = models.ForeignKey(
        "conversations.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    tickets = models.ManyToManyField("conversations.Ticket", related_name="+", blank=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    verified_user_id = models.CharField(max_length=200, blank=True)
    # The highest message id of this conversation that an operator's page has received: the
    # visitor's messages up to it show as delivered in the widget.
    delivered_id = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ShopScopedManager()

    def __str__(self) -> str:
        return f"chat conversation {self.public_id}"


class OperatorPresence(models.Model):
    """An operator's open socket for a shop; any fresh row means someone is there."""

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200)
    seen_at = models.DateTimeField()

    objects = ShopScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "channel_name"], name="chat_presence_unique_socket"
            )
        ]
        indexes = [models.Index(fields=["shop", "seen_at"], name="chat_presence_seen")]

    def __str__(self) -> str:
        return f"operator {self.user_id} on shop {self.shop_id}"


class VisitorSocket(models.Model):
    """A visitor's open chat socket, counted against the caps per conversation and per address.

    Written at connect, removed at disconnect. The process holding the socket touches `seen_at`
    every minute, so the rows of a process that died stop counting once they are stale.
    """

    shop = models.ForeignKey("tenancy.Shop", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(ChatConversation, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=45, blank=True)
    channel_name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    objects = ShopScopedManager()

    class Meta:
        indexes = [
            models.Index(fields=["conversation", "seen_at"], name="chat_socket_conversation"),
            models.Index(fields=["address", "seen_at"], name="chat_socket_address"),
            models.Index(fields=["seen_at"], name="chat_socket_seen"),
        ]

    def __str__(self) -> str:
        return f"visitor socket of conversation {self.conversation_id}"
