"""Signed-in sessions end after a while without activity, and some hours after sign-in at most.

A session keeps when it was signed in and when it was last used (epoch seconds in its data).
Every request of a signed-in user slides the last use forward (written at most once a minute,
so most requests write nothing). A request that comes after SESSION_IDLE_SECONDS without
activity, or SESSION_COOKIE_AGE after sign-in, signs the user out first: the page asked for is
then answered as to anyone signed out (the sign-in page, with a note why), and the websockets
of that session are closed. Websockets do not count as activity (their pings are automatic);
`accounts.websockets` refuses and closes the sockets of a session that ended this way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from madoguchi.accounts.sessions import (
    LAST_SEEN_AT_KEY,
    SIGNED_IN_AT_KEY,
    session_mark_signed_in,
    session_sockets_close,
    session_store,
)

LAST_SEEN_RESOLUTION_SECONDS = 60  # how stale the stored last use may be: one write a minute


def idle_seconds() -> int:
    return int(settings.SESSION_IDLE_SECONDS)


IDLE, MAX_AGE = "idle", "max_age"  # why a session expired (kept in its audit entry)


def expiry_reason(data: Mapping[str, Any] | SessionBase, *, now: float) -> str | None:
    """Return why a session with `data` has expired (`idle` or `max_age`), None if it has not.

    A session without the clocks (signed in before they existed) is not expired: its next
    request starts them.
    """
    last_seen_at = data.get(LAST_SEEN_AT_KEY)
    signed_in_at = data.get(SIGNED_IN_AT_KEY)
    if isinstance(signed_in_at, int) and now - signed_in_at > settings.SESSION_COOKIE_AGE:
        return MAX_AGE
    if isinstance(last_seen_at, int) and now - last_seen_at > idle_seconds():
        return IDLE
    return None


def session_expired(data: Mapping[str, Any] | SessionBase, *, now: float) -> bool:
    """Whether a session with `data` has been idle too long or lived too long."""
    return expiry_reason(data, now=now) is not None


def session_is_live(session_key: str | None) -> bool:
    """Whether the stored session `session_key` still signs a user in and has not expired."""
    if not session_key:
        return False
    data = session_store()(session_key=session_key).load()
    return SESSION_KEY in data and not session_expired(data, now=time.time())


class SessionExpiryMiddleware:
    """Sign out a session that idled or lived too long; slide the last use of the others.

    After AuthenticationMiddleware and MessageMiddleware (the note on the sign-in page).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated or request.path.startswith(str(settings.STATIC_URL)):
            return self.get_response(request)
        session = request.session
        now = time.time()
        reason = expiry_reason(session, now=now)
        if reason is not None:
            return self._sign_out(request, reason)
        last_seen_at = session.get(LAST_SEEN_AT_KEY)
        if not isinstance(last_seen_at, int):
            session_mark_signed_in(session, now=now)
        elif now - last_seen_at >= LAST_SEEN_RESOLUTION_SECONDS:
            session[LAST_SEEN_AT_KEY] = int(now)
        return self.get_response(request)

    def _sign_out(self, request: HttpRequest, reason: str) -> HttpResponse:
        user_id, session_key = request.user.pk, request.session.session_key
        # The sign-out is audited as `user.session_expired` with the reason (accounts.signals).
        request.session_expiry_reason = reason  # type: ignore[attr-defined]
        logout(request)
        if session_key and user_id is not None:
            session_sockets_close(user_id=user_id, session_key=session_key)
        messages.info(
            request, _("You were signed out after a time without activity. Please sign in again.")
        )
        if "HX-Request" in request.headers:
            return HttpResponseClientRedirect(reverse(settings.LOGIN_URL))
        return self.get_response(request)
