"""Websockets only over TLS where the site is HTTPS-only (security case 21, ASVS 5.0 4.4.1).

Under SECURE_SSL_REDIRECT (production) a handshake over plain `ws` is refused before any
consumer runs: the session cookie is `Secure` there, and a live conversation must not cross the
network in clear text. A handshake is secure when the server itself terminated TLS (the ASGI
scope's scheme is `wss`) or when a trusted proxy (MADOGUCHI_TRUSTED_PROXIES, as for
X-Forwarded-For in `core.client_address`) says the client's side was `https`/`wss`. The header
from anyone else is a client's claim and counts for nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings

from madoguchi.core.client_address import scope_peer_is_trusted

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
SECURE_PROTOS = frozenset({"https", "wss"})


def _forwarded_proto(scope: Mapping[str, Any]) -> str:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-forwarded-proto":
            # The proxy nearest to us wrote the last value.
            return str(value.decode("latin-1").split(",")[-1].strip().lower())
    return ""


def websocket_is_secure(scope: Mapping[str, Any]) -> bool:
    """Whether the websocket handshake of `scope` came over TLS."""
    if scope.get("scheme") == "wss":
        return True
    return scope_peer_is_trusted(scope) and _forwarded_proto(scope) in SECURE_PROTOS


class SecureWebsocketMiddleware:
    """Refuse plain-`ws` handshakes while SECURE_SSL_REDIRECT is on (read per connection)."""

    def __init__(self, inner: Callable[[dict[str, Any], Receive, Send], Awaitable[Any]]) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> Any:
        if (
            scope.get("type") == "websocket"
            and settings.SECURE_SSL_REDIRECT
            and not websocket_is_secure(scope)
        ):
            message = await receive()
            if message.get("type") == "websocket.connect":
                await send({"type": "websocket.close"})  # before accept: HTTP 403
            return None
        return await self.inner(scope, receive, send)
