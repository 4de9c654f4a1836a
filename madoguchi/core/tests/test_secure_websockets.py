"""Security case 21 (WSS only): under SECURE_SSL_REDIRECT a websocket handshake over plain `ws`
is refused, unless a trusted proxy says the client's side was TLS; a client's own claim does not
count. Real handshakes through the project's ASGI application."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client, override_settings

from madoguchi.accounts.tests.conftest import post_password
from madoguchi.config.asgi import application

pytestmark = [
    pytest.mark.usefixtures("fresh_channel_layer"),
    pytest.mark.django_db(transaction=True),
]

HOST = "madoguchi.test"
PROXY = "10.0.0.2"


@pytest.fixture
def fresh_channel_layer():
    with override_settings(
        CHANNEL_LAYERS={
            "default": {"BACKEND": "madoguchi.core.channel_layers.InProcessChannelLayer"}
        }
    ):
        yield


@pytest.fixture
def operator_cookie(world) -> str:
    client = Client()
    assert post_password(client, world.operator_tea.email).status_code == 302
    return f"sessionid={client.cookies['sessionid'].value}"


def handshake(
    cookie: str, *, scheme: str, peer: str = "198.51.100.7", forwarded_proto: str = ""
) -> bool:
    """Open the operator's socket with this scheme, peer and X-Forwarded-Proto; accepted?"""
    origin = f"{'https' if scheme == 'wss' or forwarded_proto else 'http'}://{HOST}"
    headers = [(b"host", HOST.encode()), (b"origin", origin.encode()), (b"cookie", cookie.encode())]
    if forwarded_proto:
        headers.append((b"x-forwarded-proto", forwarded_proto.encode()))
    communicator = WebsocketCommunicator(application, "/ws/operator/", headers=headers)
    communicator.scope.update(scheme=scheme, client=(peer, 50000))

    async def connect() -> bool:
        accepted, _ = await communicator.connect(timeout=5)
        if accepted:
            await communicator.disconnect()
        return bool(accepted)

    return bool(async_to_sync(connect)())


def production(*, proxies: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return override_settings(
        SECURE_SSL_REDIRECT=True,
        MADOGUCHI={**settings.MADOGUCHI, "TRUSTED_PROXIES": list(proxies)},
    )


def test_plain_ws_is_refused_in_production_and_wss_is_accepted(operator_cookie):
    with production():
        assert handshake(operator_cookie, scheme="ws") is False
        assert handshake(operator_cookie, scheme="wss") is True


def test_a_clients_own_forwarded_proto_does_not_count(operator_cookie):
    with production():  # no trusted proxy configured
        assert handshake(operator_cookie, scheme="ws", forwarded_proto="https") is False
    with production(proxies=(PROXY,)):  # one is, but this peer is not it
        assert handshake(operator_cookie, scheme="ws", forwarded_proto="https") is False


def test_a_trusted_proxy_that_terminated_tls_is_believed(operator_cookie):
    with production(proxies=("10.0.0.0/8",)):
        assert handshake(operator_cookie, scheme="ws", peer=PROXY, forwarded_proto="https")
        assert handshake(operator_cookie, scheme="ws", peer=PROXY, forwarded_proto="wss")
        # The proxy saw plain HTTP from the client: still refused.
        assert not handshake(operator_cookie, scheme="ws", peer=PROXY, forwarded_proto="http")
        assert not handshake(operator_cookie, scheme="ws", peer=PROXY)


def test_plain_ws_works_where_the_site_is_not_https_only(operator_cookie):
    with override_settings(SECURE_SSL_REDIRECT=False):
        assert handshake(operator_cookie, scheme="ws") is True
