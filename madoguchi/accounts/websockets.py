"""The second sign-in step for websockets: a socket of a user who has not finished signing in
(the code of their authenticator, or setting one up where it is required) is anonymous, so
every consumer refuses it as it refuses a stranger. Installed inside AuthMiddlewareStack."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from madoguchi.accounts.selectors import sign_in_step


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
