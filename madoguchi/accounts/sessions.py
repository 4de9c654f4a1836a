"""Every session a user is signed in with, and ending them all at once.

A `UserSession` row is written when a user signs in (Django's `user_logged_in` signal) and
removed when they sign out. `user_sessions_end` deletes the user's sessions from the session
store and closes their open websockets: the staff consumers join the group `user_group(user_id)`
on connect and close with `CLOSE_SESSION_ENDED` when they hear `session.ended` (a socket of the
kept session stays open). Password change or reset, turning the second factor on or off, new
recovery codes and deactivating a person call it (security case 67).
"""

from __future__ import annotations

import datetime as dt
import time
from importlib import import_module
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.backends.base import SessionBase
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from madoguchi.accounts.models import UserSession
from madoguchi.core.client_address import client_address as request_client_address

if TYPE_CHECKING:
    from madoguchi.accounts.models import User

CLOSE_SESSION_ENDED = 4001
SESSION_ENDED_EVENT = "session.ended"
USER_AGENT_MAX_CHARS = 300
# The session's clocks (epoch seconds), read by `accounts.session_expiry`.
SIGNED_IN_AT_KEY = "_madoguchi_signed_in_at"
LAST_SEEN_AT_KEY = "_madoguchi_last_seen_at"


def user_group(user_id: int) -> str:
    """The channel layer group every staff websocket of the user joins."""
    return f"user.{user_id}"


def session_store() -> type[SessionBase]:
    """The configured session store class."""
    return import_module(settings.SESSION_ENGINE).SessionStore  # type: ignore[no-any-return]


def session_mark_signed_in(session: SessionBase, *, now: float | None = None) -> None:
    """Start the session's clocks: signed in and last used now."""
    now = time.time() if now is None else now
    session[SIGNED_IN_AT_KEY] = int(now)
    session[LAST_SEEN_AT_KEY] = int(now)


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address by the one rule (`core.client_address`); None without a request."""
    return request_client_address(request) if request is not None else None


def user_session_record(*, user: User, request: HttpRequest) -> None:
    """Remember the request's session as one of the user's (after sign-in or a key change).

    One INSERT in the usual case: sign-in sits on the hot path, and on SQLite every write
    statement queues behind the worker's transactions.
    """
    session_key = request.session.session_key
    if session_key is None:
        request.session.save()
        session_key = request.session.session_key
    assert session_key is not None
    expired_before = timezone.now() - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    expired = list(
        UserSession.objects.filter(user=user, created_at__lt=expired_before).values_list(
            "id", flat=True
        )
    )
    if expired:  # their sessions are gone from the store
        UserSession.objects.filter(id__in=expired).delete()
    UserSession.objects.bulk_create(
        [
            UserSession(
                user=user,
                session_key=session_key,
                ip_address=client_address(request),
                user_agent=request.headers.get("user-agent", "")[:USER_AGENT_MAX_CHARS],
            )
        ],
        ignore_conflicts=True,  # already recorded (the key did not change)
    )


def user_sessions_end(*, user: User, keep_session_key: str | None = None) -> int:
    """End every session of `user` except `keep_session_key`; return how many were ended.

    Deletes the sessions from the session store and their records, and closes the user's open
    websockets (except those of the kept session). Call it from synchronous code.
    """
    records = UserSession.objects.filter(user=user)
    if keep_session_key:
        records = records.exclude(session_key=keep_session_key)
    keys = list(records.values_list("session_key", flat=True))
    store = session_store()
    for key in keys:
        store(session_key=key).delete()
    # Only the records of the sessions ended: one signed in meanwhile keeps its record.
    UserSession.objects.filter(session_key__in=keys).delete()
    async_to_sync(get_channel_layer().group_send)(
        user_group(user.pk), {"type": SESSION_ENDED_EVENT, "keep_session_key": keep_session_key}
    )
    return len(keys)


def session_sockets_close(*, user_id: int, session_key: str) -> None:
    """Close the websockets of one ended session of the user (the others stay open)."""
    async_to_sync(get_channel_layer().group_send)(
        user_group(user_id), {"type": SESSION_ENDED_EVENT, "session_key": session_key}
    )


def session_keep_end_others(request: HttpRequest, user: User) -> int:
    """Keep the request's session (under its current key) and end the user's other ones."""
    user_session_record(user=user, request=request)
    return user_sessions_end(user=user, keep_session_key=request.session.session_key)


def session_survives(scope: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether the websocket of `scope` outlives `event`: it belongs to the session that
    `user_sessions_end` kept, or to another than the one `session_sockets_close` ended."""
    session = scope.get("session")
    current: str | None = session.session_key if session is not None else None
    ended = event.get("session_key")
    if ended:
        return bool(current != ended)
    keep = event.get("keep_session_key")
    return bool(keep) and current == keep


@receiver(user_logged_in)
def _signed_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        session_mark_signed_in(request.session)
        user_session_record(user=user, request=request)


@receiver(user_logged_out)
def _signed_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if request is not None and user is not None and request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()
