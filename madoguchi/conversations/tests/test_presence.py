"""Ticket presence over websockets: who else of the staff is viewing or writing on a ticket."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import override_settings

from madoguchi.config.asgi import application
from madoguchi.conversations import consumers
from madoguchi.tenancy.models import ShopAssignment
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "madoguchi.test"


@pytest.fixture(autouse=True)
def _fresh_layer():
    # A fresh in-memory channel layer per test (groups never leak from one test to the next).
    with override_settings(
        CHANNEL_LAYERS={
            "default": {"BACKEND": "madoguchi.core.channel_layers.InProcessChannelLayer"}
        }
    ):
        yield


def socket_for(user, ticket, origin: str = f"http://{HOST}") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application,
        f"/ws/shops/{ticket.shop.slug}/tickets/{ticket.number}/presence/",
        headers=[(b"host", HOST.encode()), (b"origin", origin.encode())],
    )
    communicator.scope["user"] = user
    return communicator


async def connected(user, ticket) -> WebsocketCommunicator:
    """A presence socket of `user` on `ticket`, connected (the connection was accepted)."""
    communicator = socket_for(user, ticket)
    assert (await communicator.connect())[0]
    return communicator


async def receive(communicator: WebsocketCommunicator) -> dict:
    return json.loads(await communicator.receive_from(timeout=5))


async def send(communicator: WebsocketCommunicator, **frame) -> None:
    await communicator.send_to(text_data=json.dumps(frame))


def test_two_operators_see_each_other_typing_and_leaving(world) -> None:
    ticket = world.tea_ticket
    operator, supervisor = world.operator_tea, world.supervisor

    async def scenario() -> None:
        first = await connected(operator, ticket)
        assert await first.receive_nothing(timeout=0.2)  # alone on the ticket

        second = await connected(supervisor, ticket)
        # The one already there hears the newcomer's hello...
        joined = await receive(first)
        assert joined["type"] == "presence"
        assert (joined["user_id"], joined["name"], joined["state"]) == (
            supervisor.id,
            str(supervisor),
            "viewing",
        )
        # ...and answers it: the newcomer learns who is there.
        present = await receive(second)
        assert (present["type"], present["user_id"], present["name"], present["state"]) == (
            "presence",
            operator.id,
            str(operator),
            "viewing",
        )

        await send(first, type="typing", box="reply")
        writing = await receive(second)
        assert (writing["id"], writing["state"], writing["box"]) == (
            present["id"],
            "writing",
            "reply",
        )
        # Typing frames closer together than the throttle are not repeated to the others.
        await send(first, type="typing", box="reply")
        assert await second.receive_nothing(timeout=0.2)

        await send(second, type="typing", box="note")
        note = await receive(first)
        assert (note["state"], note["box"]) == ("writing", "note")

        await first.disconnect()
        assert await receive(second) == {"type": "leave", "id": present["id"]}
        await second.disconnect()

    async_to_sync(scenario)()


def test_a_newcomer_learns_that_someone_is_writing(world) -> None:
    ticket = world.tea_ticket

    async def scenario() -> None:
        writer = await connected(world.operator_tea, ticket)
        await send(writer, type="typing", box="reply")
        newcomer = await connected(world.admin, ticket)
        assert (await receive(writer))["user_id"] == world.admin.id
        answer = await receive(newcomer)
        assert (answer["user_id"], answer["state"]) == (world.operator_tea.id, "writing")
        await writer.disconnect()
        await newcomer.disconnect()

    async_to_sync(scenario)()


def test_the_same_person_in_two_tabs_is_not_reported_to_themselves(world) -> None:
    ticket = world.tea_ticket

    async def scenario() -> None:
        tab1 = await connected(world.operator_tea, ticket)
        tab2 = await connected(world.operator_tea, ticket)
        await send(tab2, type="typing", box="reply")
        assert await tab1.receive_nothing(timeout=0.2)
        assert await tab2.receive_nothing(timeout=0.2)
        await tab1.disconnect()
        await tab2.disconnect()

    async_to_sync(scenario)()


def test_presence_stays_within_the_ticket(world) -> None:
    async def scenario() -> None:
        tea = await connected(world.supervisor, world.tea_ticket)
        ceramics = await connected(world.operator_ceramics, world.ceramics_ticket)
        await send(ceramics, type="typing", box="reply")
        assert await tea.receive_nothing(timeout=0.2)
        await tea.disconnect()
        await ceramics.disconnect()

    async_to_sync(scenario)()


def test_only_the_shops_staff_may_open_the_socket(world) -> None:
    ticket = world.tea_ticket

    async def scenario() -> None:
        for communicator in [
            socket_for(AnonymousUser(), ticket),
            socket_for(world.operator_ceramics, ticket),  # another shop's ticket
            socket_for(world.client_ceramics, ticket),
            socket_for(world.client_tea, ticket),  # the owner reads the page, presence is staff's
            socket_for(world.operator_tea, ticket, origin="https://evil.example"),
        ]:
            assert await communicator.connect() == (False, consumers.CLOSE_DENIED)
        missing = WebsocketCommunicator(
            application,
            "/ws/shops/tea/tickets/99999/presence/",
            headers=[(b"host", HOST.encode()), (b"origin", f"http://{HOST}".encode())],
        )
        missing.scope["user"] = world.operator_tea
        assert await missing.connect() == (False, consumers.CLOSE_DENIED)

    async_to_sync(scenario)()


def _unassign(user) -> None:
    with unscoped("test setup"):
        ShopAssignment.objects.filter(membership__user=user).delete()


def test_an_unassigned_operator_is_cut_off_at_the_next_ping(world, monkeypatch) -> None:
    ticket = world.tea_ticket
    monkeypatch.setattr(consumers, "PING_MIN_INTERVAL_SECONDS", 0.0)

    async def scenario() -> None:
        operator = await connected(world.operator_tea, ticket)
        supervisor = await connected(world.supervisor, ticket)
        await receive(operator)
        await receive(supervisor)
        await send(operator, type="ping")
        assert await receive(operator) == {"type": "pong"}
        assert (await receive(supervisor))["user_id"] == world.operator_tea.id  # re-announced

        await database_sync_to_async(_unassign)(world.operator_tea)
        await send(operator, type="ping")
        assert await operator.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": consumers.CLOSE_DENIED,
        }
        assert (await receive(supervisor))["type"] == "leave"
        await supervisor.disconnect()

    async_to_sync(scenario)()


def test_an_unassigned_operator_stops_receiving_without_pinging(world, monkeypatch) -> None:
    ticket = world.tea_ticket
    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.0)

    async def scenario() -> None:
        operator = await connected(world.operator_tea, ticket)
        await database_sync_to_async(_unassign)(world.operator_tea)
        supervisor = await connected(world.supervisor, ticket)
        # The supervisor's hello reaches the operator's consumer, which checks first: no access,
        # so nothing is forwarded and the socket closes.
        assert await operator.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": consumers.CLOSE_DENIED,
        }
        assert (await receive(supervisor))["type"] == "leave"
        await supervisor.disconnect()

    async_to_sync(scenario)()


def test_oversized_frames_close_the_socket(world) -> None:
    async def scenario() -> None:
        communicator = await connected(world.operator_tea, world.tea_ticket)
        await communicator.send_to(text_data="x" * (consumers.MAX_FRAME_BYTES + 1))
        assert await communicator.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": consumers.CLOSE_TOO_BIG,
        }

    async_to_sync(scenario)()


def test_the_ticket_page_opens_the_socket_for_staff_only(client, world) -> None:
    from django.urls import reverse

    ticket = world.tea_ticket
    url = reverse(
        "conversations:ticket", kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number}
    )
    socket_path = f"/ws/shops/{ticket.shop.slug}/tickets/{ticket.number}/presence/"
    client.force_login(world.operator_tea)
    page = client.get(url).text
    assert f'data-path="{socket_path}"' in page
    assert "conversations/presence.js" in page
    assert 'data-testid="ticket-presence"' in page
    # The htmx fragment carries the list only (no script in swapped HTML); the socket stays.
    fragment = client.get(url, HTTP_HX_REQUEST="true").text
    assert 'data-testid="ticket-presence"' in fragment
    assert "<script" not in fragment
    # The shop's owner may read the page, but presence is among staff.
    client.force_login(world.client_tea)
    page = client.get(url).text
    assert client.get(url).status_code == 200
    assert "data-ticket-presence" not in page and "presence.js" not in page


def test_a_deleted_account_is_cut_off_at_the_next_ping(world) -> None:
    from madoguchi.core.testing import factories
    from madoguchi.tenancy.models import Membership

    with unscoped("test setup"):
        membership = factories.MembershipFactory(
            workspace=world.agency, role=Membership.Role.SUPERVISOR
        )
    user = membership.user

    async def scenario() -> None:
        communicator = await connected(user, world.tea_ticket)

        def delete() -> None:
            with unscoped("test setup"):
                Membership.objects.filter(user=user).delete()
                type(user).objects.filter(pk=user.pk).delete()

        await database_sync_to_async(delete)()
        await send(communicator, type="ping")
        assert await communicator.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": consumers.CLOSE_DENIED,
        }

    async_to_sync(scenario)()


def test_a_stream_gap_asks_every_member_again(world) -> None:
    # The layer dropped presence events (a full channel): a gap makes the socket say hello again
    # and the others answer with their state, as after a reconnect.
    from channels.layers import get_channel_layer

    from madoguchi.accounts.sessions import user_group

    ticket = world.tea_ticket

    async def scenario() -> None:
        first = await connected(world.operator_tea, ticket)
        second = await connected(world.supervisor, ticket)
        await receive(first)  # the supervisor's hello
        await receive(second)  # the operator's answer
        layer = get_channel_layer()
        (channel_name,) = layer.groups[user_group(world.supervisor.id)]
        await layer.send(channel_name, {"type": "stream.gap"})
        heard = await receive(first)
        assert (heard["type"], heard["user_id"], heard["state"]) == (
            "presence",
            world.supervisor.id,
            "viewing",
        )
        answer = await receive(second)
        assert (answer["type"], answer["user_id"]) == ("presence", world.operator_tea.id)
        assert await second.receive_nothing(timeout=0.2)
        assert await first.receive_nothing(timeout=0.2)
        await first.disconnect()
        await second.disconnect()

    async_to_sync(scenario)()
