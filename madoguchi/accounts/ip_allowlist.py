"""A workspace's IP allowlist: its staff work only from the networks its admins list.

A workspace admin lists networks (CIDR, IPv4 or IPv6; a bare address is one host) on the
security page. While the list is not empty, an admin, supervisor or operator of that workspace
is refused from any other address: at sign-in (before the session starts) and on every request
of a session (`IpAllowlistMiddleware`), with a 403 page and a `user.ip_refused` audit entry.
Websockets get the same rule at the handshake (`IpAllowlistWebsocketMiddleware`: the socket
is anonymous, so every staff consumer refuses it). A person who is staff of several workspaces
must satisfy every list that applies to them.
Clients (shop owners) and anonymous visitors are not affected, nor are the public pages
(web form, chat widget, webhooks), signing out and the language switch. The address is the
one `core.client_address` gives (trusted proxies only). An admin cannot save a list that
leaves out their own current address (ADR 0014).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.client_address import client_address, scope_client_address
from madoguchi.core.errors import ValidationError
from madoguchi.tenancy.access import STAFF_ROLES
from madoguchi.tenancy.models import Membership

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.tenancy.models import Workspace

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_NETWORKS = 100
# Pages a refused person may still open: the public ones (no staff work there) and the way out.
OPEN_URL_NAMES = frozenset(
    {
        "healthz",
        "healthz_jobs",
        "set_language",
        "accounts:logout",
        "webform:public",
        "chat:widget_config",
        "chat:conversation_open",
        "line:webhook",
        "commerce:webhook",
    }
)


def networks_parse(text: str) -> list[str]:
    """Return the networks in `text` (one per line, or separated by commas or spaces),
    normalised (`192.0.2.7/24` -> `192.0.2.0/24`, `2001:db8::1` -> `2001:db8::1/128`), each once.

    Raises ValidationError (field `ip_allowlist`) naming the first entry that is no network.
    """
    networks: list[str] = []
    for entry in re.split(r"[\s,]+", text.strip()):
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValidationError(
                gettext_noop("“%(entry)s” is not an IP address or network (CIDR)."),
                extra={"entry": entry[:60]},
                field="ip_allowlist",
            ) from None
        if str(network) not in networks:
            networks.append(str(network))
    if len(networks) > MAX_NETWORKS:
        raise ValidationError(
            gettext_noop("List at most %(count)s networks."),
            extra={"count": MAX_NETWORKS},
            field="ip_allowlist",
        )
    return networks


def address_in(address: str | None, networks: Iterable[str]) -> bool:
    """Whether `address` lies in one of `networks` (an unknown address lies in none)."""
    if not address:
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    for entry in networks:
        network = ipaddress.ip_network(entry, strict=False)
        if parsed.version == network.version and parsed in network:
            return True
    return False


def staff_allowlists(user: Any) -> list[tuple[int, list[str]]]:
    """Return (workspace id, networks) of each non-empty allowlist that applies to `user`:
    those of the workspaces where they are active staff (one query)."""
    rows = Membership.objects.filter(
        user_id=user.pk, is_active=True, role__in=[str(role) for role in STAFF_ROLES]
    ).values_list("workspace_id", "workspace__staff_ip_allowlist")
    return [(workspace_id, list(networks)) for workspace_id, networks in rows if networks]


def refusing_workspaces(user: Any, address: str | None) -> list[int]:
    """Return the ids of the workspaces whose allowlist refuses `user` at `address`."""
    return [
        workspace_id
        for workspace_id, networks in staff_allowlists(user)
        if not address_in(address, networks)
    ]


def ip_refused_record(
    *, user: User, address: str | None, workspace_ids: Sequence[int], path: str, step: str
) -> None:
    """Audit that the allowlist refused the user (`user.ip_refused`) at `step`: `sign_in`,
    `request` or `websocket`."""
    record(
        actor=user,
        action=actions.USER_IP_REFUSED,
        ip_address=address,
        changes={"workspaces": list(workspace_ids), "path": path[:200], "step": step},
    )


@transaction.atomic
def workspace_ip_allowlist_set(
    *, user: User, workspace: Workspace, text: str, ip_address: str | None
) -> list[str]:
    """Save the workspace's staff IP allowlist from `text`; audited with the old and new list.

    An empty text allows every address again. A list that leaves out the saving admin's own
    current address is refused (field `ip_allowlist`), so nobody locks themselves out.
    """
    networks = networks_parse(text)
    if networks and not address_in(ip_address, networks):
        raise ValidationError(
            gettext_noop(
                "Your current address (%(address)s) is not in the list: saving it would lock "
                "you out. Add your network first."
            ),
            extra={"address": ip_address or "?"},
            field="ip_allowlist",
        )
    before = list(workspace.staff_ip_allowlist or [])
    if before == networks:
        return networks
    workspace.staff_ip_allowlist = networks
    workspace.save(update_fields=["staff_ip_allowlist"])
    record(
        actor=user,
        action=actions.WORKSPACE_SECURITY_CHANGED,
        target=workspace,
        changes={"staff_ip_allowlist": [before, networks]},
        ip_address=ip_address,
    )
    return networks


def refused_page(request: HttpRequest, address: str | None) -> HttpResponse:
    """The 403 page a refused person gets (no menu: none of its links would open)."""
    request.sign_in_step_pending = True  # type: ignore[attr-defined]
    return render(request, "accounts/ip_refused.html", {"address": address or ""}, status=403)


def _is_open(path: str) -> bool:
    if path.startswith(str(settings.STATIC_URL)):
        return True
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.view_name in OPEN_URL_NAMES


class IpAllowlistMiddleware:
    """Refuse every request of a signed-in staff member from outside their allowlists.

    After AuthenticationMiddleware, before the pages' own middleware (second sign-in step,
    session expiry), so a refused request does nothing else. One query per signed-in request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        allowlists = staff_allowlists(user)
        if not allowlists:
            return self.get_response(request)
        address = client_address(request)
        refusing = [
            workspace_id
            for workspace_id, networks in allowlists
            if not address_in(address, networks)
        ]
        if not refusing or _is_open(request.path_info):
            return self.get_response(request)
        ip_refused_record(
            user=user,
            address=address,
            workspace_ids=refusing,
            path=request.path,
            step="request",
        )
        return refused_page(request, address)


def _socket_refused(user: Any, address: str | None, path: str) -> bool:
    refusing = refusing_workspaces(user, address)
    if refusing:
        ip_refused_record(
            user=user, address=address, workspace_ids=refusing, path=path, step="websocket"
        )
    return bool(refusing)


class IpAllowlistWebsocketMiddleware(BaseMiddleware):
    """A staff member's socket from outside their allowlists is anonymous (and audited), so
    every consumer refuses it as it refuses a stranger. Inside AuthMiddlewareStack."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is not None and user.is_authenticated:
            address = scope_client_address(scope)
            path = str(scope.get("path", ""))
            if await database_sync_to_async(_socket_refused)(user, address, path):
                scope = {**scope, "user": AnonymousUser()}
        return await super().__call__(scope, receive, send)
