"""Ending a user's sessions: the session store, the records and their open websockets."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from madoguchi.accounts.models import UserSession
from madoguchi.accounts.sessions import CLOSE_SESSION_ENDED, user_sessions_end
from madoguchi.config.asgi import application

from .conftest import code_for, enable_two_factor, post_password

pytestmark = pytest.mark.usefixtures("fresh_channel_layer")

HOST = "madoguchi.test"


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    assert post_password(client, user.email).status_code == 302
    return client


def socket(client: Client, path: str) -> WebsocketCommunicator:
    """A websocket opened by the browser of `client` (its session cookie, same origin)."""
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return WebsocketCommunicator(
        application,
        path,
        headers=[
            (b"host", HOST.encode()),
            (b"origin", f"http://{HOST}".encode()),
            (b"cookie", cookie.encode()),
        ],
    )


async def closing(communicator: WebsocketCommunicator) -> dict:
    """The socket's next output that is not a frame to the page (presence news may come first)."""
    while (output := await communicator.receive_output(timeout=5))["type"] == "websocket.send":
        pass
    return output


def presence_path(ticket) -> str:  # type: ignore[no-untyped-def]
    return f"/ws/shops/{ticket.shop.slug}/tickets/{ticket.number}/presence/"


def test_sign_in_records_the_session_and_sign_out_forgets_it(world):
    client = signed_in(world.operator_tea)
    record = UserSession.objects.get(user=world.operator_tea)
    assert record.session_key == client.session.session_key
    assert record.ip_address == "127.0.0.1"
    client.post(reverse("accounts:logout"))
    assert not UserSession.objects.exists()


def test_ending_sessions_deletes_them_from_the_store(world):
    user = world.operator_tea
    kept, ended = signed_in(user), signed_in(user)
    bystander = signed_in(world.supervisor)
    count = user_sessions_end(user=user, keep_session_key=kept.session.session_key)
    assert count == 1
    assert not Session.objects.filter(session_key=ended.cookies["sessionid"].value).exists()
    assert ended.get(reverse("conversations:inbox")).status_code == 302
    assert kept.get(reverse("conversations:inbox")).status_code == 200
    assert bystander.get(reverse("conversations:inbox")).status_code == 200
    assert user_sessions_end(user=user) == 1
    assert kept.get(reverse("conversations:inbox")).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_ending_sessions_closes_the_users_websockets_but_the_kept_ones(world):
    user = world.operator_tea
    kept, ended = signed_in(user), signed_in(user)
    bystander = signed_in(world.supervisor)

    async def scenario() -> None:
        ended_presence = socket(ended, presence_path(world.tea_ticket))
        ended_operator = socket(ended, "/ws/operator/")
        kept_presence = socket(kept, presence_path(world.tea_ticket))
        other_presence = socket(bystander, presence_path(world.tea_ticket))
        for communicator in (ended_presence, ended_operator, kept_presence, other_presence):
            assert (await communicator.connect())[0]
        await database_sync_to_async(user_sessions_end)(
            user=user, keep_session_key=kept.session.session_key
        )
        for communicator in (ended_presence, ended_operator):
            assert await closing(communicator) == {
                "type": "websocket.close",
                "code": CLOSE_SESSION_ENDED,
            }
        # The supervisor hears that the ended socket left the ticket; the kept one stays open.
        frames = []
        while not await other_presence.receive_nothing(timeout=0.3):
            frames.append(await other_presence.receive_json_from())
        assert {"leave"} <= {frame["type"] for frame in frames}
        kept_outputs = []
        while not await kept_presence.receive_nothing(timeout=0.3):
            kept_outputs.append((await kept_presence.receive_output())["type"])
        assert set(kept_outputs) <= {"websocket.send"}  # news of the others, never a close
        await kept_presence.send_json_to({"type": "ping"})
        assert (await kept_presence.receive_json_from(timeout=5))["type"] == "pong"
        for communicator in (kept_presence, other_presence, ended_presence, ended_operator):
            await communicator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_websockets_wait_for_the_second_step(world):
    user = world.operator_tea
    device, _ = enable_two_factor(user)
    client = signed_in(user)  # the password only

    async def refused() -> None:
        communicator = socket(client, presence_path(world.tea_ticket))
        connected, code = await communicator.connect()
        assert (connected, code) == (False, 4403)
        communicator = socket(client, "/ws/operator/")
        assert (await communicator.connect()) == (False, 4403)

    async_to_sync(refused)()
    client.post(reverse("accounts:sign_in_code"), {"code": code_for(device, steps_ahead=1)})

    async def accepted() -> None:
        communicator = socket(client, presence_path(world.tea_ticket))
        assert (await communicator.connect())[0]
        await communicator.disconnect()

    async_to_sync(accepted)()


@pytest.mark.django_db(transaction=True)
def test_websockets_of_staff_without_a_required_second_factor_are_refused(world):
    world.agency.requires_two_factor = True
    world.agency.save(update_fields=["requires_two_factor"])
    client = signed_in(world.operator_tea)

    async def scenario() -> None:
        communicator = socket(client, "/ws/operator/")
        assert (await communicator.connect()) == (False, 4403)

    async_to_sync(scenario)()
