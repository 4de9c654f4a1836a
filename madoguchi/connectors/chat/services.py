"""Live chat writes: widget settings, opening a conversation, visitor messages, presence, closing.

Visitor messages enter through `conversations.services.receive_inbound`, idempotent on the
client's message id (prefixed with the conversation's public id, so one visitor can never name
another visitor's message). A visitor who gives an e-mail address gets a new customer of their
own unless the shop's site vouches for them with an HMAC of its user id (identity verification).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.connectors.chat.models import (
    ChatConversation,
    ChatWidget,
    OperatorPresence,
    token_digest,
)
from madoguchi.conversations.models import Channel, Message
from madoguchi.conversations.services import InboundMessage, receive_inbound
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.tasks import enqueue_on_commit
from madoguchi.customers.services import IdentityInput
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def limit(name: str) -> int:
    """The chat abuse limits, from settings (CHAT_MAX_FRAME_BYTES and friends)."""
    defaults = {
        "CHAT_MAX_FRAME_BYTES": 16 * 1024,
        "CHAT_MAX_MESSAGE_CHARS": 4000,
        "CHAT_RATE_MESSAGES": 20,
        "CHAT_RATE_SECONDS": 10,
        "CHAT_PRESENCE_SECONDS": 90,
        "CHAT_HISTORY_LIMIT": 500,
        "CHAT_OPENS_PER_HOUR": 30,
    }
    return int(getattr(settings, name, defaults[name]))


def widget_for(shop: Shop) -> ChatWidget:
    widget, _ = ChatWidget.objects.get_or_create(shop=shop)
    return widget


def widget_by_key(public_key: str) -> ChatWidget | None:
    """The enabled widget with this public key (found before any shop scope exists).

    An archived shop's widget is not found: the shop accepts no new contacts, so its site
    shows no chat.
    """
    with unscoped("chat widget: found by its public key"):
        return (
            ChatWidget.objects.filter(
                public_key=public_key, is_enabled=True, shop__archived_at__isnull=True
            )
            .select_related("shop")
            .first()
        )


def _check_origins(text: str) -> None:
    for origin in text.splitlines():
        origin = origin.strip()
        if origin and not origin.startswith(("https://", "http://")):
            raise ValidationError(
                gettext_noop("Each origin starts with https:// (or http://)."),
                field="allowed_origins",
            )
        if any(character in origin for character in " ;,'\""):
            raise ValidationError(
                gettext_noop("An origin may not contain spaces, quotes, commas or semicolons."),
                field="allowed_origins",
            )


@transaction.atomic
def widget_update(*, actor: Actor, shop: Shop, values: dict[str, object]) -> ChatWidget:
    """Change the shop's chat settings (supervisors and admins of the shop)."""
    require_staff(actor=actor, shop_id=shop.id)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError(
            gettext_noop("Only a supervisor or admin may change the chat settings.")
        )
    values = dict(values)
    renew_secret = bool(values.pop("new_identity_secret", False))
    _check_origins(str(values.get("allowed_origins", "")))
    widget = widget_for(shop)
    changes: dict[str, list[object]] = {}
    for name, value in values.items():
        if getattr(widget, name) != value:
            changes[name] = [getattr(widget, name), value]
            setattr(widget, name, value)
    if renew_secret:
        widget.identity_secret = secrets.token_hex(32)
        changes["identity_secret"] = ["(old)", "(new)"]
    if changes:
        widget.save()
        record(
            actor=actor.user,
            action=actions.CHAT_SETTINGS_CHANGED,
            target=widget,
            shop=shop,
            changes=changes,
        )
    return widget


def identity_hash(secret: str, user_id: str) -> str:
    """What the shop's site puts in `data-user-hash`: HMAC-SHA256 of its user id, hex."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def _clean_email(value: str) -> str:
    email = value.strip()
    if not email:
        return ""
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationError("Enter a valid e-mail address.") from None
    return email


@dataclass(frozen=True)
class Opened:
    conversation: ChatConversation
    token: str


def conversation_open(
    *, widget: ChatWidget, name: str = "", email: str = "", user_id: str = "", user_hash: str = ""
) -> Opened:
    """Start a visitor's conversation; return it with its token (shown once, stored hashed)."""
    token = secrets.token_urlsafe(32)
    verified = ""
    user_id = user_id.strip()[:200]
    if user_id and user_hash:
        expected = identity_hash(widget.identity_secret, user_id)
        if hmac.compare_digest(expected, user_hash.strip().lower()):
            verified = user_id
    conversation = ChatConversation.objects.create(
        shop_id=widget.shop_id,
        widget=widget,
        token_hash=token_digest(token),
        public_id=secrets.token_hex(16),
        name=name.strip()[:200],
        email=_clean_email(email)[:254],
        verified_user_id=verified,
        created_at=timezone.now(),
    )
    return Opened(conversation=conversation, token=token)


def conversation_by_token(token: str) -> ChatConversation | None:
    """The open conversation whose token this is (the token is the visitor's only credential)."""
    if not token or len(token) > 128:
        return None
    with unscoped("chat: the visitor's conversation is found by its token"):
        return (
            ChatConversation.objects.filter(token_hash=token_digest(token), closed_at=None)
            .select_related("widget", "shop")
            .first()
        )


def _fresh_presence(*, shop_id: int, now: dt.datetime) -> QuerySet[OperatorPresence]:
    fresh = now - dt.timedelta(seconds=limit("CHAT_PRESENCE_SECONDS"))
    return OperatorPresence.objects.filter(shop_id=shop_id, seen_at__gte=fresh)


def operators_present(*, shop_id: int, now: dt.datetime | None = None) -> bool:
    return _fresh_presence(shop_id=shop_id, now=now or timezone.now()).exists()


def operators_online(shop_id: int, now: dt.datetime) -> frozenset[int]:
    """Return the users whose operator socket for the shop is open and fresh now.

    The chat's presence source for routing (`operations.routing.register_presence_source`):
    a chat ticket goes only to someone who can answer while the visitor waits.
    """
    with in_shop(shop_id):
        return frozenset(
            _fresh_presence(shop_id=shop_id, now=now).values_list("user_id", flat=True)
        )


def is_available(widget: ChatWidget, *, now: dt.datetime | None = None) -> bool:
    """Live chat is on when an operator is connected and (if the shop wants it) it is open."""
    from madoguchi.operations.selectors import calendar_for_shop

    now = now or timezone.now()
    if not operators_present(shop_id=widget.shop_id, now=now):
        return False
    if widget.follows_business_hours:
        return calendar_for_shop(shop_id=widget.shop_id).is_open_at(now)
    return True


def _identities(conversation: ChatConversation) -> list[IdentityInput]:
    if conversation.verified_user_id:
        identities = [IdentityInput("chat", f"user:{conversation.verified_user_id}")]
        if conversation.email:
            identities.append(IdentityInput("email", conversation.email))
        return identities
    # An unverified e-mail address is only a way to answer: it never finds an existing customer.
    return [IdentityInput("chat", f"visitor:{conversation.public_id}")]


def message_payload(message: Message, *, client_id: str = "") -> dict[str, Any]:
    """What the widget and the operator page get for one message (plain text only)."""
    if not client_id and message.direction == Message.Direction.INBOUND:
        client_id = message.external_id.partition(":")[2]
    return {
        "id": message.id,
        "client_id": client_id,
        "direction": message.direction,
        "text": message.body_text,
        "at": message.created_at.isoformat(),
    }


@dataclass(frozen=True)
class Received:
    message: Message
    is_duplicate: bool
    is_new_ticket: bool


@transaction.atomic
def visitor_message(
    *, conversation: ChatConversation, client_id: str, text: str, email: str = ""
) -> Received:
    """Store the visitor's message on the conversation's ticket (a new one when needed).

    One transaction: when this returns, the message is committed (unless the caller holds a
    transaction of its own), so the socket may acknowledge it. A repeated client id returns
    the stored message (`is_duplicate`).
    """
    if not CLIENT_ID_RE.match(client_id):
        raise ValidationError("Bad client message id.")
    body = text.replace("\x00", "").strip()
    if not body:
        raise ValidationError("The message is empty.")
    if len(body) > limit("CHAT_MAX_MESSAGE_CHARS"):
        raise ValidationError("The message is too long.")
    email = _clean_email(email)
    if email and email != conversation.email:
        ChatConversation.objects.filter(pk=conversation.pk).update(email=email)
        conversation.email = email
    result = receive_inbound(
        InboundMessage(
            shop_id=conversation.shop_id,
            channel=Channel.CHAT,
            external_id=f"{conversation.public_id}:{client_id}",
            body_text=body,
            identities=_identities(conversation),
            customer_name=conversation.name or conversation.email,
            ticket_id=conversation.ticket_id,
            metadata={"chat_email": conversation.email},
        )
    )
    if result.ticket.id != conversation.ticket_id or conversation.customer_id is None:
        conversation.ticket = result.ticket
        conversation.customer_id = result.ticket.customer_id
        conversation.save(update_fields=["ticket", "customer"])
        conversation.tickets.add(result.ticket)
    return Received(result.message, result.is_duplicate, result.is_new_ticket)


def presence_add(*, user_id: int, shop_ids: list[int], channel_name: str) -> None:
    now = timezone.now()
    for shop_id in shop_ids:
        OperatorPresence.objects.update_or_create(
            shop_id=shop_id,
            channel_name=channel_name,
            defaults={"user_id": user_id, "seen_at": now},
        )


def presence_touch(*, channel_name: str) -> None:
    OperatorPresence.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())


def presence_remove(*, channel_name: str) -> None:
    OperatorPresence.objects.filter(channel_name=channel_name).delete()


def conversation_close(*, conversation: ChatConversation, transcript: bool) -> bool:
    """End the conversation (its token stops working); mail the transcript when asked."""
    from madoguchi.connectors.chat.tasks import send_transcript_task

    with transaction.atomic():
        updated = ChatConversation.objects.filter(pk=conversation.pk, closed_at=None).update(
            closed_at=timezone.now()
        )
        wants_mail = bool(updated and transcript and conversation.email and conversation.ticket_id)
        if wants_mail:
            enqueue_on_commit(send_transcript_task, conversation.id, conversation.shop_id)
    return wants_mail


def presence_remove_shops(*, channel_name: str, shop_ids: list[int]) -> None:
    OperatorPresence.objects.filter(channel_name=channel_name, shop_id__in=shop_ids).delete()


def delivered_mark(*, message_id: int, shop_ids: list[int]) -> list[tuple[int, int]]:
    """Record that an operator's page received the visitor's message `message_id`.

    Only a chat message a visitor sent in one of `shop_ids` (the operator's staff shops) counts.
    Return (conversation id, delivered id) for each conversation whose delivered id moved
    forward; an older or repeated receipt changes nothing and returns [].
    """
    message = (
        Message.objects.filter(
            pk=message_id,
            shop_id__in=shop_ids,
            channel=Channel.CHAT,
            direction=Message.Direction.INBOUND,
        )
        .values("id", "ticket_id")
        .first()
    )
    if message is None:
        return []
    moved = []
    conversations = ChatConversation.objects.filter(
        tickets=message["ticket_id"], delivered_id__lt=message_id
    ).values_list("id", flat=True)
    for conversation_id in list(conversations):
        if ChatConversation.objects.filter(pk=conversation_id, delivered_id__lt=message_id).update(
            delivered_id=message_id
        ):
            moved.append((conversation_id, message_id))
    return moved
