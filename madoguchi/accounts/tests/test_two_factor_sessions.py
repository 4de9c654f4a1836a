"""Security case 67: turning the second factor on or off, and making new recovery codes, end the
user's other sessions and close their websockets; the browser that made the change goes on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import UserSession
from madoguchi.accounts.sessions import CLOSE_SESSION_ENDED

from .conftest import PASSWORD, code_for, enable_two_factor, post_password
from .test_sessions import closing, socket

pytestmark = [
    pytest.mark.usefixtures("fresh_channel_layer"),
    pytest.mark.django_db(transaction=True),
]

INBOX = reverse("conversations:inbox")
SETUP = reverse("accounts:two_factor_setup")


def signed_in(user, *, code: str | None = None) -> Client:  # type: ignore[no-untyped-def]
    """A browser signed in with the password (and `code` at the second step, if given)."""
    client = Client()
    assert post_password(client, user.email).status_code == 302
    if code is not None:
        passed = client.post(reverse("accounts:sign_in_code"), {"code": code})
        assert passed["Location"] == INBOX
    assert client.get(INBOX).status_code == 200
    return client


def assert_other_session_ended(user, change: Callable[[], None], changer: Client, other: Client):  # type: ignore[no-untyped-def]
    """`change` (made in `changer`) ends `other`'s session and closes its open websocket."""

    async def scenario() -> None:
        other_socket, changer_socket = (
            socket(other, "/ws/operator/"),
            socket(changer, "/ws/operator/"),
        )
        assert (await other_socket.connect())[0]
        assert (await changer_socket.connect())[0]
        await database_sync_to_async(change)()
        assert await closing(other_socket) == {
            "type": "websocket.close",
            "code": CLOSE_SESSION_ENDED,
        }
        assert await changer_socket.receive_nothing(timeout=0.3)  # the changer's stays open
        await changer_socket.disconnect()
        await other_socket.disconnect()

    async_to_sync(scenario)()
    assert other.get(INBOX)["Location"].startswith(reverse("accounts:login"))
    assert changer.get(INBOX).status_code == 200
    assert UserSession.objects.filter(user=user).count() == 1


def test_turning_the_authenticator_on_ends_the_other_sessions(world):
    user = world.operator_tea
    changer, other = signed_in(user), signed_in(user)
    assert changer.get(SETUP).status_code == 200
    device = TOTPDevice.objects.get(user=user)

    def turn_on() -> None:
        confirmed = changer.post(SETUP, {"code": code_for(device)})
        assert confirmed["Location"] == reverse("accounts:recovery_codes")

    assert_other_session_ended(user, turn_on, changer, other)


def test_new_recovery_codes_end_the_other_sessions(world):
    user = world.operator_tea
    device, codes = enable_two_factor(user)
    changer = signed_in(user, code=code_for(device, steps_ahead=1))
    other = signed_in(user, code=codes[0])

    def regenerate() -> None:
        made = changer.post(reverse("accounts:recovery_codes"), {"regenerate-password": PASSWORD})
        assert made["Location"] == reverse("accounts:recovery_codes")

    assert_other_session_ended(user, regenerate, changer, other)


def test_turning_the_authenticator_off_ends_the_other_sessions(world):
    user = world.operator_tea
    device, codes = enable_two_factor(user)
    changer = signed_in(user, code=code_for(device, steps_ahead=1))
    other = signed_in(user, code=codes[0])

    def turn_off() -> None:
        off = changer.post(reverse("accounts:two_factor_disable"), {"password": PASSWORD})
        assert off["Location"] == reverse("accounts:profile")

    assert_other_session_ended(user, turn_off, changer, other)
