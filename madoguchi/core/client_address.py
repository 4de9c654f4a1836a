"""The client's address, for rate limits and the audit log: one rule for every caller.

The peer that connected (REMOTE_ADDR, or an ASGI scope's `client`) is the client, unless it is
one of the proxies the deployment names in MADOGUCHI_TRUSTED_PROXIES (addresses or CIDR
networks; none by default). Only then is `X-Forwarded-For` read: from the right, each hop a
trusted proxy added is skipped, and the first address no trusted proxy vouches for is the
client. Anything to its left was written by the client itself and is never used.

`madoguchi serve` starts uvicorn without its proxy-header rewriting (which trusts any loopback
peer by default), so the peer seen here is the one that really connected.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)


def trusted_proxies() -> tuple[Network, ...]:
    """Return the configured trusted proxies (read at call time, parsed once per value)."""
    entries = settings.MADOGUCHI.get("TRUSTED_PROXIES") or ()
    return _networks(tuple(str(entry) for entry in entries))


def _parse(value: str) -> Address | None:
    """Return the address in `value` (`1.2.3.4`, `1.2.3.4:5678`, `[::1]:5678`, `::1`), or None."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address in network for network in networks)


def address_from(*, peer: str | None, forwarded_for: str = "") -> str | None:
    """Return the client's address given the connecting peer and its X-Forwarded-For value."""
    address = _parse(peer or "")
    if address is None:
        return None
    networks = trusted_proxies()
    if not networks or not _is_trusted(address, networks):
        return str(address)
    for hop in reversed(forwarded_for.split(",") if forwarded_for else []):
        hop_address = _parse(hop)
        if hop_address is None:
            break  # garbage our proxy would not write: keep the last address we can vouch for
        address = hop_address
        if not _is_trusted(address, networks):
            break
    return str(address)


def client_address(request: HttpRequest) -> str | None:
    """Return the address of the client that sent `request` (None when the server gave none)."""
    return address_from(
        peer=request.META.get("REMOTE_ADDR"),
        forwarded_for=str(request.META.get("HTTP_X_FORWARDED_FOR") or ""),
    )


def scope_client_address(scope: Mapping[str, Any]) -> str | None:
    """Return the client's address of an ASGI connection (websockets), by the same rule."""
    client = scope.get("client")
    peer = str(client[0]) if client else None
    forwarded = b",".join(
        value for name, value in scope.get("headers", ()) if name.lower() == b"x-forwarded-for"
    )
    return address_from(peer=peer, forwarded_for=forwarded.decode("latin-1"))


def scope_peer_is_trusted(scope: Mapping[str, Any]) -> bool:
    """Whether an ASGI connection's peer is a trusted proxy (so its X-Forwarded-* count)."""
    client = scope.get("client")
    peer = _parse(str(client[0])) if client else None
    networks = trusted_proxies()
    return peer is not None and bool(networks) and _is_trusted(peer, networks)


# Headers only a proxy may write: from anyone else they are a client's claim and are dropped.
PROXY_HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT")


def _peer_is_trusted(request: HttpRequest) -> bool:
    peer = _parse(str(request.META.get("REMOTE_ADDR") or ""))
    networks = trusted_proxies()
    return peer is not None and bool(networks) and _is_trusted(peer, networks)


class ProxyHeadersMiddleware:
    """Drop X-Forwarded-Proto/Host/Port unless a trusted proxy connected.

    Django reads X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER) from whoever sends it; a client
    that reaches the app past the proxy must not claim HTTPS. First in MIDDLEWARE, so the
    security middleware's redirect already sees the truth.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _peer_is_trusted(request):
            for name in PROXY_HEADERS:
                request.META.pop(name, None)
        return self.get_response(request)
