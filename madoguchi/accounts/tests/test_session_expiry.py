"""Sessions end after SESSION_IDLE_SECONDS without a request and SESSION_COOKIE_AGE after sign-in.

The clocks are moved back in the stored session (as if the user had left the page that long
ago); the pages are then asked through the test client and the websockets through the ASGI
application, as a browser would.
"""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import Client
from django.urls import reverse

from madoguchi.accounts import websockets
from madoguchi.accounts.models import UserSession
from madoguchi.accounts.sessions import CLOSE_SESSION_ENDED, LAST_SEEN_AT_KEY, SIGNED_IN_AT_KEY

from .test_sessions import closing, presence_path, signed_in, socket

pytestmark = pytest.mark.usefixtures("fresh_channel_layer")

INBOX = "/"
NOTE = "You were signed out after a time without activity. Please sign in again."


def move_back(client: Client, key: str, seconds: int) -> None:
    """Pretend the session's clock `key` was set `seconds` earlier."""
    session = client.session
    session[key] = int(session[key]) - seconds
    session.save()


def english_signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = signed_in(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_default_idle_time_is_thirty_minutes_and_the_longest_session_twelve_hours():
    assert settings.SESSION_IDLE_SECONDS == 30 * 60
    assert settings.SESSION_COOKIE_AGE == 12 * 60 * 60


def test_sign_in_starts_both_clocks(world):
    before = int(time.time())
    client = signed_in(world.operator_tea)
    session = client.session
    assert before <= session[SIGNED_IN_AT_KEY] <= int(time.time())
    assert session[LAST_SEEN_AT_KEY] == session[SIGNED_IN_AT_KEY]


def test_an_idle_session_is_signed_out_at_its_next_request(world):
    client = english_signed_in(world.operator_tea)
    move_back(client, LAST_SEEN_AT_KEY, settings.SESSION_IDLE_SECONDS + 1)

    response = client.get(INBOX)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={INBOX}"
    assert not UserSession.objects.filter(user=world.operator_tea).exists()
    page = client.get(response["Location"])
    assert [str(message) for message in page.context["messages"]] == [NOTE]
    # Signed out for good: the next request is anonymous too.
    assert client.get(INBOX).status_code == 302


def test_the_note_is_japanese_by_default(world):
    client = signed_in(world.operator_tea)
    move_back(client, LAST_SEEN_AT_KEY, settings.SESSION_IDLE_SECONDS + 1)
    page = client.get(INBOX, follow=True)
    assert [str(message) for message in page.context["messages"]] == [
        "しばらく操作がなかったため、サインアウトしました。もう一度サインインしてください。"
    ]


def test_activity_slides_the_idle_time(world):
    client = signed_in(world.operator_tea)
    move_back(client, LAST_SEEN_AT_KEY, settings.SESSION_IDLE_SECONDS - 60)
    assert client.get(INBOX).status_code == 200  # used in time: the clock starts again
    assert int(time.time()) - client.session[LAST_SEEN_AT_KEY] <= 1
    move_back(client, SIGNED_IN_AT_KEY, settings.SESSION_IDLE_SECONDS * 2)
    move_back(client, LAST_SEEN_AT_KEY, settings.SESSION_IDLE_SECONDS - 60)
    assert client.get(INBOX).status_code == 200


def test_a_request_within_the_minute_writes_nothing(world):
    client = signed_in(world.operator_tea)
    move_back(client, LAST_SEEN_AT_KEY, 30)
    stamped = client.session[LAST_SEEN_AT_KEY]
    assert client.get(INBOX).status_code == 200
    assert client.session[LAST_SEEN_AT_KEY] == stamped


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(world):
    client = signed_in(world.operator_tea)
    move_back(client, SIGNED_IN_AT_KEY, settings.SESSION_COOKIE_AGE + 1)
    response = client.get(INBOX)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_an_htmx_request_of_an_idle_session_reloads_the_sign_in_page(world):
    client = signed_in(world.operator_tea)
    move_back(client, LAST_SEEN_AT_KEY, settings.SESSION_IDLE_SECONDS + 1)
    response = client.get(reverse("menu_counts") + "?shop=tea", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("accounts:login")


def test_another_shops_ticket_stays_hidden_after_signing_in_again(world):
    client = signed_in(world.operator_tea)
    move_back(client, LAST_SEEN_AT_KEY, settings.SESSION_IDLE_SECONDS + 1)
    assert client.get(INBOX).status_code == 302
    client = signed_in(world.operator_tea)
    ticket = world.ceramics_ticket
    url = reverse(
        "conversations:ticket", kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number}
    )
    assert client.get(url).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_socket_of_an_idle_session_is_refused(world):
    client = signed_in(world.operator_tea)
    move_back(client, LAST_SEEN_AT_KEY, settings.SESSION_IDLE_SECONDS + 1)

    async def scenario() -> None:
        for path in (presence_path(world.tea_ticket), "/ws/operator/"):
            communicator = socket(client, path)
            assert (await communicator.connect()) == (False, 4403)

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_open_sockets_close_when_their_session_idles_out(world, monkeypatch):
    monkeypatch.setattr(websockets, "SESSION_RECHECK_SECONDS", 0.0)
    user = world.operator_tea
    idle, busy = signed_in(user), signed_in(user)

    async def scenario() -> None:
        idle_presence = socket(idle, presence_path(world.tea_ticket))
        idle_operator = socket(idle, "/ws/operator/")
        busy_operator = socket(busy, "/ws/operator/")
        for communicator in (idle_presence, idle_operator, busy_operator):
            assert (await communicator.connect())[0]
        await communicator_ping(busy_operator)
        move_back_async = async_to_sync_free(move_back)
        await move_back_async(idle, LAST_SEEN_AT_KEY, settings.SESSION_IDLE_SECONDS + 1)
        # The pages' pings are not activity: the next one finds the session over.
        for communicator in (idle_presence, idle_operator):
            await communicator.send_json_to({"type": "ping"})
            assert await closing(communicator) == {
                "type": "websocket.close",
                "code": CLOSE_SESSION_ENDED,
            }
        await communicator_ping(busy_operator)  # the other session of the same user stays
        await busy_operator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_signing_out_an_idle_session_closes_its_sockets_at_once(world):
    user = world.operator_tea
    idle, busy = signed_in(user), signed_in(user)

    async def scenario() -> None:
        idle_operator = socket(idle, "/ws/operator/")
        busy_operator = socket(busy, "/ws/operator/")
        for communicator in (idle_operator, busy_operator):
            assert (await communicator.connect())[0]
        await async_to_sync_free(move_back)(
            idle, LAST_SEEN_AT_KEY, settings.SESSION_IDLE_SECONDS + 1
        )
        response = await async_to_sync_free(idle.get)(INBOX)
        assert response.status_code == 302
        assert await closing(idle_operator) == {
            "type": "websocket.close",
            "code": CLOSE_SESSION_ENDED,
        }
        assert await busy_operator.receive_nothing(timeout=0.3)
        await communicator_ping(busy_operator)
        await busy_operator.disconnect()

    async_to_sync(scenario)()


async def communicator_ping(communicator) -> None:  # type: ignore[no-untyped-def]
    await communicator.send_json_to({"type": "ping"})
    while (await communicator.receive_json_from(timeout=5))["type"] != "pong":
        pass


def async_to_sync_free(function):  # type: ignore[no-untyped-def]
    """Run a synchronous (database-touching) step from the async scenario."""
    from channels.db import database_sync_to_async

    return database_sync_to_async(function)
