"""Live chat: websocket consumers (visitor and operator), the widget endpoints, the reply sender."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from madoguchi.config.asgi import websocket_application
from madoguchi.connectors.chat import services
from madoguchi.connectors.chat.models import ChatConversation, OperatorPresence, token_digest
from madoguchi.connectors.chat.tests.conftest import ORIGIN
from madoguchi.connectors.chat.views import widget_labels
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.services import message_reply
from madoguchi.core.testing import factories
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.search.models import SearchDocument
from madoguchi.tenancy import services as tenancy_services
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db(transaction=True)

IMMEDIATE = "django_tasks.backends.immediate.ImmediateBackend"
XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def open_conversation(widget, **kwargs) -> tuple[ChatConversation, str]:
    with in_shop(widget.shop_id):
        opened = services.conversation_open(widget=widget, **kwargs)
    return opened.conversation, opened.token


def visitor(token: str, origin: str | None = ORIGIN) -> WebsocketCommunicator:
    headers = [(b"host", b"madoguchi.test")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return WebsocketCommunicator(websocket_application, f"/ws/chat/{token}/", headers=headers)


def operator(user, origin: str = "http://madoguchi.test") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        websocket_application,
        "/ws/operator/",
        headers=[(b"host", b"madoguchi.test"), (b"origin", origin.encode())],
    )
    communicator.scope["user"] = user
    return communicator


async def receive(communicator: WebsocketCommunicator) -> dict:
    return json.loads(await communicator.receive_from(timeout=5))


async def hello(communicator: WebsocketCommunicator, cursor: int = 0) -> list[dict]:
    """Say hello; return every frame up to and including `ready`."""
    await communicator.send_to(text_data=json.dumps({"type": "hello", "cursor": cursor}))
    frames = []
    while True:
        frame = await receive(communicator)
        frames.append(frame)
        if frame["type"] == "ready":
            return frames


async def say(communicator: WebsocketCommunicator, client_id: str, text: str, **extra) -> dict:
    frame = {"type": "message", "client_id": client_id, "text": text, **extra}
    await communicator.send_to(text_data=json.dumps(frame))
    return await receive(communicator)


def present(world, widget) -> None:
    with in_shop(widget.shop_id):
        services.presence_add(
            user_id=world.operator_tea.id, shop_ids=[widget.shop_id], channel_name="test!presence"
        )


# --- origin and token ------------------------------------------------------------------------


def test_allowed_origin_connects_missing_or_foreign_origin_is_refused(widget) -> None:
    _, token = open_conversation(widget)

    async def scenario() -> None:
        for origin, expected in [
            (ORIGIN, True),
            (ORIGIN + "/", True),
            (None, False),
            ("https://evil.example", False),
            ("null", False),
        ]:
            communicator = visitor(token, origin)
            connected, code = await communicator.connect()
            assert (origin, connected) == (origin, expected)
            if connected:
                await communicator.disconnect()
            else:
                assert code == 4403

    async_to_sync(scenario)()


def test_tampered_foreign_and_closed_tokens_are_refused(widget, ceramics_widget) -> None:
    _, token = open_conversation(widget)
    _, ceramics_token = open_conversation(ceramics_widget)
    closed, closed_token = open_conversation(widget)
    with in_shop(widget.shop_id):
        services.conversation_close(conversation=closed, transcript=False)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    async def scenario() -> None:
        # Another shop's conversation from this shop's site: the origin is not the other shop's.
        for bad in [tampered, ceramics_token, closed_token, "x" * 40]:
            connected, code = await visitor(bad).connect()
            assert (connected, code) == (False, 4403)

    async_to_sync(scenario)()
    with unscoped("test check"):
        stored = list(ChatConversation.objects.values_list("token_hash", flat=True))
    assert token not in stored and token_digest(token) in stored
    assert len(token) >= 43  # 32 random bytes, url-safe base64


# --- messages, cursor, idempotency ---------------------------------------------------------


def test_visitor_messages_resume_from_the_cursor_without_loss_or_duplicates(world, widget) -> None:
    _, token = open_conversation(widget)
    present(world, widget)

    async def scenario() -> None:
        first = visitor(token)
        assert (await first.connect())[0]
        ready = await hello(first)
        assert ready == [
            {
                "type": "ready",
                "available": True,
                "has_email": False,
                "cursor": 0,
                "complete": True,
                "delivered": 0,
            }
        ]
        ack1 = await say(first, "client-0001", "こんにちは、注文について質問です。")
        assert ack1["type"] == "ack" and ack1["client_id"] == "client-0001"
        echo = await receive(first)
        assert echo["type"] == "message" and echo["id"] == ack1["id"]
        ack2 = await say(first, "client-0002", "注文番号は T-1001 です。")
        await receive(first)  # the echo of the second message
        await first.disconnect()

        # While the visitor is away an operator answers.
        def answer() -> int:
            with in_shop(widget.shop_id):
                ticket = Ticket.objects.get(pk=ChatConversation.objects.get().ticket_id)
                reply = message_reply(
                    actor=actor_for_user(world.operator_tea),
                    ticket=ticket,
                    body_text="お調べします。少々お待ちください。",
                )
            return reply.id

        reply_id = await database_sync_to_async(answer)()

        again = visitor(token)
        assert (await again.connect())[0]
        frames = await hello(again, cursor=ack1["id"])
        assert [(f["type"], f.get("id"), f.get("direction")) for f in frames] == [
            ("message", ack2["id"], "inbound"),
            ("message", reply_id, "outbound"),
            ("ready", None, None),
        ]
        assert frames[0]["client_id"] == "client-0002"
        assert frames[-1]["cursor"] == reply_id
        assert await again.receive_nothing(timeout=0.2)
        await again.disconnect()

        fresh = visitor(token)
        assert (await fresh.connect())[0]
        frames = await hello(fresh, cursor=0)
        assert [f.get("text") for f in frames[:-1]] == [
            "こんにちは、注文について質問です。",
            "注文番号は T-1001 です。",
            "お調べします。少々お待ちください。",
        ]
        await fresh.disconnect()

    async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        ticket = Ticket.objects.get(channel="chat")
        assert ticket.messages.count() == 3
        reply = ticket.messages.get(direction="outbound")
        assert reply.delivery_status == Message.DeliveryStatus.SENT


def test_a_repeated_client_id_stores_the_message_once(world, widget) -> None:
    conversation, token = open_conversation(widget)
    present(world, widget)

    async def scenario() -> None:
        communicator = visitor(token)
        await communicator.connect()
        await hello(communicator)
        first = await say(communicator, "client-dup-1", "一回だけ")
        await receive(communicator)  # echo
        second = await say(communicator, "client-dup-1", "一回だけ")
        assert second == first
        assert await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()

    async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        message = Message.objects.get(ticket__channel="chat")
        assert message.external_id == f"{conversation.public_id}:client-dup-1"


def test_client_ids_of_another_conversation_name_nothing_of_it(world, widget) -> None:
    present(world, widget)
    _, token_a = open_conversation(widget)
    _, token_b = open_conversation(widget)

    async def scenario() -> None:
        a = visitor(token_a)
        await a.connect()
        await hello(a)
        ack_a = await say(a, "same-client-id", "Aさんの秘密")
        await a.disconnect()
        b = visitor(token_b)
        await b.connect()
        await hello(b)
        ack_b = await say(b, "same-client-id", "Bさんの質問")
        assert ack_b["id"] != ack_a["id"]
        echo = await receive(b)
        assert echo["text"] == "Bさんの質問"
        await b.disconnect()

    async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        assert Ticket.objects.filter(channel="chat").count() == 2


def test_markup_is_stored_and_sent_as_plain_text(world, widget) -> None:
    present(world, widget)
    _, token = open_conversation(widget)

    async def scenario() -> None:
        communicator = visitor(token)
        await communicator.connect()
        await hello(communicator)
        await say(communicator, "client-xss-1", XSS)
        echo = await receive(communicator)
        assert echo["text"] == XSS
        await communicator.disconnect()

    async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        message = Message.objects.get(ticket__channel="chat")
        assert (message.body_text, message.body_html) == (XSS, "")


# --- limits ------------------------------------------------------------------------------------


def test_oversized_frames_close_the_socket(world, widget) -> None:
    present(world, widget)
    _, token = open_conversation(widget)

    async def scenario() -> None:
        communicator = visitor(token)
        await communicator.connect()
        await hello(communicator)
        big = json.dumps({"type": "message", "client_id": "client-big-1", "text": "あ" * 6000})
        await communicator.send_to(text_data=big)
        output = await communicator.receive_output(timeout=5)
        assert output == {"type": "websocket.close", "code": 1009}

    async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        assert not Message.objects.filter(ticket__channel="chat").exists()


@override_settings(CHAT_RATE_MESSAGES=3, CHAT_RATE_SECONDS=3600)
def test_messages_above_the_rate_are_refused(world, widget) -> None:
    # The hello counts too (it reads the history): hello and two messages fill the window.
    present(world, widget)
    _, token = open_conversation(widget)

    async def scenario() -> None:
        communicator = visitor(token)
        await communicator.connect()
        await hello(communicator)
        for number in (1, 2):
            assert (await say(communicator, f"client-rate-{number}", "はい"))["type"] == "ack"
            await receive(communicator)
        refused = await say(communicator, "client-rate-3", "はい")
        assert refused == {"type": "error", "code": "rate_limited", "client_id": "client-rate-3"}
        await communicator.disconnect()

    async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        assert Message.objects.filter(ticket__channel="chat").count() == 2


# --- offline: leave a message ----------------------------------------------------------------


def test_without_an_operator_the_visitor_leaves_an_email_and_a_message(world, widget) -> None:
    _, token = open_conversation(widget)

    async def scenario() -> None:
        communicator = visitor(token)
        await communicator.connect()
        ready = await hello(communicator)
        assert ready[-1]["available"] is False
        refused = await say(communicator, "client-off-1", "営業時間外ですがご相談です")
        assert refused["code"] == "email_required"
        ack = await say(
            communicator, "client-off-2", "営業時間外ですがご相談です", email="hanako@example.jp"
        )
        assert ack["type"] == "ack"
        await communicator.disconnect()

    async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        conversation = ChatConversation.objects.get()
        assert conversation.email == "hanako@example.jp"
        assert conversation.ticket.messages.get().body_text == "営業時間外ですがご相談です"


def test_business_hours_switch_live_chat_off(world, widget) -> None:
    import datetime as dt

    present(world, widget)
    widget.follows_business_hours = True
    sunday_night = dt.datetime(2026, 11, 29, 14, 0, tzinfo=dt.UTC)  # 23:00 JST on a Sunday
    monday_morning = dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.UTC)  # 10:30 JST
    with in_shop(widget.shop_id):
        OperatorPresence.objects.update(seen_at=sunday_night)
        assert services.is_available(widget, now=sunday_night) is False
        OperatorPresence.objects.update(seen_at=monday_morning)
        assert services.is_available(widget, now=monday_morning) is True


def test_closing_mails_the_transcript(world, widget, mailoutbox) -> None:
    present(world, widget)
    _, token = open_conversation(widget, email="hanako@example.jp")

    async def scenario() -> None:
        communicator = visitor(token)
        await communicator.connect()
        await hello(communicator)
        await say(communicator, "client-end-1", "ありがとうございました")
        await receive(communicator)
        await communicator.send_to(text_data=json.dumps({"type": "close", "transcript": True}))
        assert await receive(communicator) == {"type": "closed", "transcript": True}

    with override_settings(TASKS={"default": {"BACKEND": IMMEDIATE}}):
        async_to_sync(scenario)()
    assert [mail.to for mail in mailoutbox] == [["hanako@example.jp"]]
    assert "ありがとうございました" in mailoutbox[0].body
    assert services.conversation_by_token(token) is None


# --- identity verification ---------------------------------------------------------------------


def _existing_customer(world) -> Customer:
    with unscoped("test setup"):
        customer = factories.CustomerFactory(shop=world.tea, name="既存 花子")
        ContactIdentity.objects.create(
            shop=world.tea, customer=customer, kind="email", value="hanako@example.jp"
        )
        return customer


def _first_message_customer(world, widget, **open_kwargs) -> int:
    conversation, _ = open_conversation(widget, **open_kwargs)
    with in_shop(widget.shop_id):
        received = services.visitor_message(
            conversation=conversation, client_id=uuid.uuid4().hex, text="履歴を見せてください"
        )
        return received.message.ticket.customer_id


def test_an_email_alone_never_reaches_an_existing_customer(world, widget) -> None:
    existing = _existing_customer(world)
    plain = _first_message_customer(world, widget, email="hanako@example.jp")
    forged = _first_message_customer(
        world, widget, email="hanako@example.jp", user_id="42", user_hash="0" * 64
    )
    assert existing.id not in (plain, forged)
    assert plain != forged


def test_a_vouched_identity_reaches_the_customer(world, widget) -> None:
    existing = _existing_customer(world)
    user_hash = services.identity_hash("s3cret", "42")
    first = _first_message_customer(
        world, widget, email="hanako@example.jp", user_id="42", user_hash=user_hash
    )
    again = _first_message_customer(world, widget, user_id="42", user_hash=user_hash.upper())
    assert first == again == existing.id


# --- operators -----------------------------------------------------------------------------------


def test_operators_see_their_shops_chats_live_and_nothing_else(world, widget) -> None:
    _, token = open_conversation(widget)

    async def scenario() -> None:
        tea = operator(world.operator_tea)
        ceramics = operator(world.operator_ceramics)
        assert (await tea.connect())[0]
        assert (await ceramics.connect())[0]
        guest = visitor(token)
        await guest.connect()
        ready = await hello(guest)
        assert ready[-1]["available"] is True
        ack = await say(guest, "client-live-1", "今すぐ相談できますか")
        event = await receive(tea)
        assert event["kind"] == "message"
        assert event["message"] == {
            "id": ack["id"],
            "client_id": "client-live-1",
            "direction": "inbound",
            "text": "今すぐ相談できますか",
            "at": event["message"]["at"],
        }
        assert event["url"].startswith("/tickets/tea/") or event["url"].startswith("/")
        assert await ceramics.receive_nothing(timeout=0.2)

        # The operator types: the visitor sees it.
        await guest.receive_from(timeout=5)  # the echo of its own message
        await tea.send_to(text_data=json.dumps({"type": "typing", "ticket_id": event["ticket_id"]}))
        assert await receive(guest) == {"type": "typing"}
        # The other shop's operator cannot type into it.
        await ceramics.send_to(
            text_data=json.dumps({"type": "typing", "ticket_id": event["ticket_id"]})
        )
        assert await guest.receive_nothing(timeout=0.2)

        await tea.disconnect()
        assert await receive(guest) == {"type": "presence", "available": False}
        await ceramics.disconnect()
        await guest.disconnect()

    async_to_sync(scenario)()
    with unscoped("test check"):
        assert not OperatorPresence.objects.exists()


def test_the_operator_gets_a_visitor_message_before_its_search_indexing_runs(
    world, widget, monkeypatch
) -> None:
    # The after-commit work (search, inbound hooks) used to run inside the commit, before the
    # push: two thirds of a message's way to the operator at 5,000 sockets.
    from madoguchi.search import services as search_services

    _, token = open_conversation(widget)
    may_index = threading.Event()
    indexed: list[list[tuple[str, int]]] = []
    index_queued = search_services._index_queued

    def index_when_allowed(items: list[tuple[str, int]]) -> None:
        assert may_index.wait(timeout=10)
        index_queued(items)
        indexed.append(items)

    monkeypatch.setattr(search_services, "_index_queued", index_when_allowed)

    async def scenario() -> int:
        tea = operator(world.operator_tea)
        assert (await tea.connect())[0]
        guest = visitor(token)
        await guest.connect()
        await hello(guest)
        await say(guest, "client-index-1", "こんにちは")  # opens the ticket, indexed at once
        await receive(tea)
        await receive(guest)  # the echo
        ack = await say(guest, "client-index-2", "検索より先に届きますか")
        event = await receive(tea)
        assert event["message"]["id"] == ack["id"]
        assert indexed == []  # the index is still waiting
        may_index.set()
        for _ in range(100):
            if indexed:
                break
            await asyncio.sleep(0.05)
        await tea.disconnect()
        await guest.disconnect()
        return int(event["ticket_id"])

    ticket_id = async_to_sync(scenario)()
    assert ("ticket", ticket_id) in indexed[0]
    with unscoped("test check"):
        document = SearchDocument.objects.get(kind="ticket", object_id=ticket_id)
    assert "検索より先に届きますか" in document.content


def test_operator_socket_needs_a_user_of_a_shop_and_the_same_origin(world) -> None:
    from django.contrib.auth.models import AnonymousUser

    outsider = factories.UserFactory()

    async def scenario() -> None:
        for communicator in [
            operator(AnonymousUser()),
            operator(outsider),
            operator(world.operator_tea, origin="https://evil.example"),
        ]:
            assert await communicator.connect() == (False, 4403)

    async_to_sync(scenario)()


def test_a_removed_operator_is_cut_off_at_the_next_ping(world, widget) -> None:
    from madoguchi.tenancy.models import ShopAssignment

    async def scenario() -> None:
        tea = operator(world.operator_tea)
        assert (await tea.connect())[0]

        def remove() -> None:
            with unscoped("test setup"):
                ShopAssignment.objects.filter(membership__user=world.operator_tea).delete()

        await database_sync_to_async(remove)()
        await tea.send_to(text_data=json.dumps({"type": "ping"}))
        assert await tea.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}

    async_to_sync(scenario)()


def test_operator_reply_on_a_chat_ticket_without_conversation_fails_delivery(world) -> None:
    with unscoped("test setup"):
        ticket = factories.TicketFactory(shop=world.tea, channel="chat")
    with in_shop(world.tea.id):
        reply = message_reply(
            actor=actor_for_user(world.operator_tea), ticket=ticket, body_text="こんにちは"
        )
        reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.FAILED


# --- widget HTTP endpoints ------------------------------------------------------------------


def test_widget_config_answers_cors_for_allowed_origins_only(client, widget) -> None:
    url = reverse("chat:widget_config", args=[widget.public_key])
    allowed = client.get(url, headers={"Origin": ORIGIN})
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == ORIGIN
    data = allowed.json()
    assert (data["available"], data["shop"]) == (False, "山田園 茶舗")
    assert data["labels"]["send"] == "送信"
    assert client.get(url, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.get(url).status_code == 403
    preflight = client.options(
        reverse("chat:conversation_open", args=[widget.public_key]), headers={"Origin": ORIGIN}
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"


def test_opening_a_conversation_returns_a_token_stored_hashed(client, widget) -> None:
    url = reverse("chat:conversation_open", args=[widget.public_key])
    response = client.post(
        url,
        data=json.dumps({"email": "hanako@example.jp"}),
        content_type="application/json",
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 201
    token = response.json()["token"]
    with unscoped("test check"):
        conversation = ChatConversation.objects.get()
    assert conversation.token_hash == token_digest(token)
    assert conversation.email == "hanako@example.jp"
    refused = client.post(url, data="{}", content_type="application/json")
    assert refused.status_code == 403
    bad = client.post(url, data="<x>", content_type="application/xml", headers={"Origin": ORIGIN})
    assert bad.status_code == 415
    with unscoped("test check"):
        assert ChatConversation.objects.count() == 1


@override_settings(CHAT_OPENS_PER_HOUR=2)
def test_opening_conversations_is_limited_per_address(client, widget) -> None:
    url = reverse("chat:conversation_open", args=[widget.public_key])
    statuses = [
        client.post(
            url, data="{}", content_type="application/json", headers={"Origin": ORIGIN}
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
    with unscoped("test check"):
        assert ChatConversation.objects.count() == 2


def test_unknown_widget_key_is_404(client) -> None:
    response = client.get(reverse("chat:widget_config", args=["nope"]), headers={"Origin": ORIGIN})
    assert response.status_code == 404


def test_an_archived_shop_shows_no_chat_and_refuses_an_open_conversation(
    client, world, widget
) -> None:
    _, token = open_conversation(widget, email="hanako@example.jp")
    tenancy_services.shop_archive(actor=actor_for_user(world.admin), shop=world.tea)
    config = reverse("chat:widget_config", args=[widget.public_key])
    assert client.get(config, headers={"Origin": ORIGIN}).status_code == 404
    opening = reverse("chat:conversation_open", args=[widget.public_key])
    headers = {"Origin": ORIGIN}
    refused = client.post(opening, data="{}", content_type="application/json", headers=headers)
    assert refused.status_code == 404

    async def scenario() -> None:
        communicator = visitor(token)
        connected, _ = await communicator.connect()
        assert connected
        frame = await say(communicator, "client-archived-1", "まだ届きません")
        assert frame == {"type": "error", "code": "shop_archived", "client_id": "client-archived-1"}
        await communicator.disconnect()

    async_to_sync(scenario)()
    with in_shop(widget.shop_id):
        assert not Message.objects.filter(channel="chat").exists()
    with translation.override("ja"):
        assert (
            widget_labels()["shop_archived"]
            == "このショップは現在お問い合わせを受け付けていません。"
        )


# --- the Redis channel layer -------------------------------------------------------------------


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="Redis is not reachable on 127.0.0.1:6379")
def test_reply_reaches_the_visitor_through_redis(world, widget) -> None:
    present(world, widget)
    _, token = open_conversation(widget)
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": ["redis://127.0.0.1:6379/0"],
                "prefix": f"madoguchi-test-{uuid.uuid4().hex[:8]}",
            },
        }
    }

    async def scenario() -> None:
        communicator = visitor(token)
        await communicator.connect()
        await hello(communicator)
        await say(communicator, "client-redis-1", "Redis 経由で届きますか")
        await receive(communicator)  # the echo, through Redis

        def answer() -> int:
            with in_shop(widget.shop_id):
                ticket = Ticket.objects.get(channel="chat")
                return message_reply(
                    actor=actor_for_user(world.operator_tea), ticket=ticket, body_text="届きます"
                ).id

        reply_id = await database_sync_to_async(answer)()
        pushed = await receive(communicator)
        assert (pushed["type"], pushed["id"], pushed["text"]) == ("message", reply_id, "届きます")
        await communicator.disconnect()

    with override_settings(CHANNEL_LAYERS=layers):
        from channels.layers import get_channel_layer

        assert type(get_channel_layer()).__name__ == "RedisChannelLayer"
        async_to_sync(scenario)()


# --- settings page -----------------------------------------------------------------------------


def test_a_supervisor_sets_the_allowed_sites_and_an_operator_only_reads(client, world) -> None:
    from madoguchi.audit.models import AuditEntry
    from madoguchi.connectors.chat.models import ChatWidget

    url = reverse("chat:settings", args=[world.tea.slug])
    client.force_login(world.supervisor)
    page = client.get(url)
    assert page.status_code == 200
    with unscoped("test check"):
        widget = ChatWidget.objects.get(shop=world.tea)
    assert f"data-shop-key=&quot;{widget.public_key}&quot;" in page.content.decode()
    old_secret = widget.identity_secret
    response = client.post(
        url,
        {
            "is_enabled": "on",
            "allowed_origins": "https://shop.yamada-en.example\r\nhttp://localhost:8001",
            "new_identity_secret": "on",
        },
    )
    assert response.status_code == 302
    widget.refresh_from_db()
    assert widget.origin_list == ["https://shop.yamada-en.example", "http://localhost:8001"]
    assert widget.follows_business_hours is False
    assert widget.identity_secret != old_secret
    with unscoped("test check"):
        entry = AuditEntry.objects.get(action="chat.settings_changed")
    assert entry.changes["identity_secret"] == ["(old)", "(new)"]
    assert old_secret not in json.dumps(entry.changes)

    refused = client.post(url, {"is_enabled": "on", "allowed_origins": "shop.example"})
    assert refused.status_code == 400
    assert "shop.example</textarea>" in refused.text
    assert "オリジンは https://（または http://）で始めてください。" in refused.text
    assert 'data-testid="chat-settings-form"' in refused.text

    client.force_login(world.operator_tea)
    page = client.get(url).content.decode()
    assert widget.identity_secret not in page
    assert 'data-testid="chat-settings-form"' not in page
    assert 'data-testid="chat-settings-summary"' in page
    assert client.post(url, {"allowed_origins": "https://evil.example"}).status_code == 403
    widget.refresh_from_db()
    assert "https://evil.example" not in widget.origin_list


def test_the_chat_settings_form_is_all_japanese(client, world) -> None:
    from madoguchi.core.testing.japanese import english_words, untranslated_msgids

    client.force_login(world.supervisor)
    url = reverse("chat:settings", args=[world.tea.slug])
    with untranslated_msgids() as missing:
        pages = [client.get(url).text, client.post(url, {"allowed_origins": "x"}).text]
    assert missing == set()
    allowed = {"HMAC", "SHA256", "data-user-id", "data-user-hash", "https", "shop", "example"}
    assert [english_words(page, allowed=allowed) for page in pages] == [[], []]
