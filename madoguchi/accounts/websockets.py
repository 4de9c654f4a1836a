"""The second sign-in step for websockets: a socket of a user who has not finished signing in
(the code of their authenticator, or setting one up where it is required) is anonymous, so
every consumer refuses it as it refuses a stranger. Installed inside AuthMiddlewareStack."""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from madoguchi.accounts.selectors import sign_in_step
from madoguchi.accounts.session_expiry import session_expired, session_is_live
from madoguchi.accounts.sessions import CLOSE_SESSION_ENDED


def _session_verified(user: Any, session: Any) -> bool:
    device_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not device_id:
        return False
    device = Device.from_persistent_id(device_id)
    return device is not None and device.user_id == user.pk and bool(device.confirmed)


def _signed_in_completely(user: Any, session: Any) -> bool:
    if user is None or not user.is_authenticated:
        return True  # nothing to hold back: the consumers refuse anonymous sockets
    verified = _session_verified(user, session)
    return sign_in_step(user, is_verified=verified) is None


class SignInStepWebsocketMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user, session = scope.get("user"), scope.get("session")
        if not await database_sync_to_async(_signed_in_completely)(user, session):
            scope = {**scope, "user": AnonymousUser()}
        return await super().__call__(scope, receive, send)


SESSION_RECHECK_SECONDS = 20.0  # at most this long between the checks of an open socket


def _expired_session(user: Any, session: Any) -> bool:
    if user is None or not user.is_authenticated or session is None:
        return False
    return session_expired(session, now=time.time())


class SessionExpiryWebsocketMiddleware(BaseMiddleware):
    """Sockets of a session that idled or lived too long (`accounts.session_expiry`).

    At the handshake such a socket is anonymous, so every consumer refuses it. An open socket's
    session is looked up again, at most every SESSION_RECHECK_SECONDS, when a frame comes in
    (the pages ping every 25 s): once it ended (expired, signed out, ended by
    `user_sessions_end`), the socket is closed with CLOSE_SESSION_ENDED and the consumer hears
    a disconnect, so it leaves its groups as on any close.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user, session = scope.get("user"), scope.get("session")
        if await database_sync_to_async(_expired_session)(user, session):
            scope = {**scope, "user": AnonymousUser()}
            return await super().__call__(scope, receive, send)
        if user is None or not user.is_authenticated or session is None:
            return await super().__call__(scope, receive, send)
        session_key = session.session_key
        checked_at = time.monotonic()
        ended = False

        async def guarded_receive() -> Any:
            nonlocal checked_at, ended
            message = await receive()
            if ended or message.get("type") != "websocket.receive":
                return message
            if time.monotonic() - checked_at < SESSION_RECHECK_SECONDS:
                return message
            checked_at = time.monotonic()
            if await database_sync_to_async(session_is_live)(session_key):
                return message
            ended = True
            await send({"type": "websocket.close", "code": CLOSE_SESSION_ENDED})
            return {"type": "websocket.disconnect", "code": CLOSE_SESSION_ENDED}

        return await super().__call__(scope, guarded_receive, send)
