import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import uuid

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from madoguchi.connectors.line import processing, sending
from madoguchi.connectors.line.client import signature_is_valid
from madoguchi.connectors.line.models import (
    LineChannel,
    LineEvent,
    LineInbound,
    LineOutbound,
    LineWebhook,
)
from madoguchi.connectors.line.tests.fake_line import PNG
from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.conversations.services import message_reply
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.events.models import Event
from madoguchi.tenancy import services as tenancy_services
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

USER = "U206d25c2ea6bd87c17655609a1c37cb8"
SECRET = "tea-channel-secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def make_channel(shop, fake=None, secret=SECRET, **extra) -> LineChannel:
    urls = {}
    if fake is not None:
        urls = {"api_base_url": fake.url, "api_data_base_url": fake.url}
    with unscoped("test setup"):
        return LineChannel.objects.create(
            shop=shop,
            name=f"{shop.slug} LINE",
            channel_id="1650000000",
            channel_secret=secret,
            access_token="token-" + shop.slug,
            **urls,
            **extra,
        )


def text_event(event_id: str, text: str, *, message_id: str = "", user: str = USER, **extra):
    return {
        "replyToken": f"reply-{event_id}",
        "type": "message",
        "mode": "active",
        "timestamp": 1764150000000,
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        "message": {
            "id": message_id or f"m-{event_id}",
            "type": "text",
            "text": text,
            "quoteToken": "qt",
        },
        **extra,
    }


def body_of(*events) -> bytes:
    return json.dumps({"destination": "U" + "0" * 32, "events": list(events)}).encode()


def post(client, channel, body: bytes, signature: str | None = None, **headers):
    if signature is None:
        signature = sign(body, channel.channel_secret)
    if signature:
        headers["HTTP_X_LINE_SIGNATURE"] = signature
    return client.post(
        reverse("line:webhook", args=[channel.public_id]),
        data=body,
        content_type="application/json",
        **headers,
    )


def deliver(client, channel, body, capture):
    with capture(execute=True):
        response = post(client, channel, body)
    assert response.status_code == 200
    return response


# --- signature -----------------------------------------------------------------------------


def test_sdk_signature_vector():
    assert signature_is_valid(
        b"bodybodybodybody", "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k=", "channel_secret"
    )
    assert not signature_is_valid(
        b"bodybodybodybody ", "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k=", "channel_secret"
    )
    assert not signature_is_valid(b"bodybodybodybody", "", "channel_secret")


@pytest.mark.parametrize("case", ["missing", "invalid", "other_channel", "reserialised"])
def test_bad_signature_is_401_and_stores_nothing(client, world, fake_line, case):
    channel = make_channel(world.tea, fake_line)
    other = make_channel(world.ceramics, fake_line, secret="ceramics-secret")
    body = body_of(text_event("01HX0000000000000000000001", "こんにちは"))
    signature = {
        "missing": "",
        "invalid": "AAAA" + sign(body)[4:],
        "other_channel": sign(body, other.channel_secret),
        "reserialised": sign(json.dumps(json.loads(body), ensure_ascii=False, indent=1).encode()),
    }[case]
    response = post(client, channel, body, signature)
    assert response.status_code == 401
    with unscoped("test assertion"):
        assert LineWebhook.objects.count() == 0
        assert LineEvent.objects.count() == 0
    assert fake_line.requests == []


def test_unknown_channel_is_404(client, world):
    response = client.post(
        reverse("line:webhook", args=["nope"]), data=b"{}", content_type="application/json"
    )
    assert response.status_code == 404


def test_empty_events_answer_200_and_store_nothing(client, world):
    channel = make_channel(world.tea)
    body = b'{"destination":"U00000000000000000000000000000000","events":[]}'
    assert post(client, channel, body).status_code == 200
    with unscoped("test assertion"):
        assert LineWebhook.objects.count() == 0


# --- inbound -------------------------------------------------------------------------------


def test_text_message_becomes_a_ticket_with_the_line_customer(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    fake_line.profiles[USER] = "山田 花子"
    channel = make_channel(world.tea, fake_line)
    body = body_of(text_event("01HX0000000000000000000001", "注文した茶葉はいつ届きますか"))
    deliver(client, channel, body, django_capture_on_commit_callbacks)
    with in_shop(world.tea.id):
        row = LineWebhook.objects.get()
        assert (row.status, row.attempts, bytes(row.body)) == ("processed", 1, body)
        message = Message.objects.get(channel="line")
        assert message.body_text == "注文した茶葉はいつ届きますか"
        assert message.external_id == "m-01HX0000000000000000000001"
        assert message.ticket.channel == "line"
        assert message.ticket.subject == "注文した茶葉はいつ届きますか"
        identity = ContactIdentity.objects.get(kind="line")
        assert (identity.value, identity.display_name) == (USER, "山田 花子")
        assert identity.customer.name == "山田 花子"
        inbound = LineInbound.objects.get(message=message)
        assert (inbound.reply_token, inbound.push_to, inbound.quote_token) == (
            "reply-01HX0000000000000000000001",
            USER,
            "qt",
        )
    assert [request.path for request in fake_line.requests] == [f"/v2/bot/profile/{USER}"]
    assert fake_line.requests[0].headers["Authorization"] == "Bearer token-tea"


def test_second_message_joins_the_open_line_ticket(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    channel = make_channel(world.tea, fake_line)
    deliver(
        client, channel, body_of(text_event("E1", "一通目")), django_capture_on_commit_callbacks
    )
    deliver(
        client, channel, body_of(text_event("E2", "二通目")), django_capture_on_commit_callbacks
    )
    with in_shop(world.tea.id):
        assert Ticket.objects.filter(channel="line").count() == 1
        assert list(
            Message.objects.filter(channel="line")
            .order_by("id")
            .values_list("body_text", flat=True)
        ) == ["一通目", "二通目"]


def test_replayed_event_is_stored_once(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    channel = make_channel(world.tea, fake_line)
    event = text_event("01HX0000000000000000000009", "再送テスト")
    deliver(client, channel, body_of(event), django_capture_on_commit_callbacks)
    event["deliveryContext"] = {"isRedelivery": True}
    deliver(client, channel, body_of(event), django_capture_on_commit_callbacks)
    with in_shop(world.tea.id):
        assert LineWebhook.objects.filter(status="processed").count() == 2
        assert LineEvent.objects.count() == 1
        assert Message.objects.filter(channel="line").count() == 1
        assert Ticket.objects.filter(channel="line").count() == 1


def test_message_types_render_as_text_and_images_are_stored(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    fake_line.contents["img1"] = (PNG, "image/png")
    channel = make_channel(world.tea, fake_line)
    base = text_event("x", "")
    events = [
        {
            **base,
            "webhookEventId": "E-img",
            "message": {
                "id": "img1",
                "type": "image",
                "contentProvider": {"type": "line"},
                "quoteToken": "q",
            },
        },
        {
            **base,
            "webhookEventId": "E-sticker",
            "message": {
                "id": "st1",
                "type": "sticker",
                "packageId": "446",
                "stickerId": "1988",
                "stickerResourceType": "STATIC",
                "keywords": ["OK", "Happy"],
                "quoteToken": "q",
            },
        },
        {
            **base,
            "webhookEventId": "E-loc",
            "message": {
                "id": "loc1",
                "type": "location",
                "title": "山田園",
                "address": "東京都渋谷区神宮前1-1-1",
                "latitude": 35.67,
                "longitude": 139.7,
            },
        },
        {
            **base,
            "type": "postback",
            "webhookEventId": "E-pb",
            "message": None,
            "postback": {"data": "action=reorder&item=sencha"},
        },
        {**base, "webhookEventId": "E-unknown-type", "type": "somethingNew"},
    ]
    deliver(client, channel, body_of(*events), django_capture_on_commit_callbacks)
    with in_shop(world.tea.id):
        assert LineWebhook.objects.get().status == "processed"
        texts = list(
            Message.objects.filter(channel="line")
            .order_by("id")
            .values_list("body_text", flat=True)
        )
        assert texts == [
            "[画像]",
            "[スタンプ] OK, Happy",
            "[位置情報] 山田園 東京都渋谷区神宮前1-1-1 (35.67,139.7)",
            "[ポストバック] action=reorder&item=sencha",
        ]
        attachment = Attachment.objects.get()
        assert (attachment.content_type, attachment.size, attachment.sha256) == (
            "image/png",
            len(PNG),
            hashlib.sha256(PNG).hexdigest(),
        )
        assert attachment.filename == "line-img1.png"
        assert attachment.file.read() == PNG
        assert LineEvent.objects.get(webhook_event_id="E-unknown-type").outcome == "ignored"
    assert fake_line.calls("/v2/bot/message/img1/content")[0].headers["Authorization"] == (
        "Bearer token-tea"
    )


def test_image_fetch_failure_fails_the_delivery_for_a_retry(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    fake_line.answer("/v2/bot/message/img9/content", (500, {"message": "busy"}))
    channel = make_channel(world.tea, fake_line)
    event = {**text_event("E-img9", ""), "message": {"id": "img9", "type": "image"}}
    deliver(client, channel, body_of(event), django_capture_on_commit_callbacks)
    with in_shop(world.tea.id):
        row = LineWebhook.objects.get()
        assert (row.status, row.attempts) == ("failed", 1)
        assert row.last_error == "LineApiError: 500: busy"
        assert row.next_attempt_at is not None
        assert LineEvent.objects.count() == 0
    fake_line.contents["img9"] = (PNG, "image/png")
    fake_line.answers.clear()
    with in_shop(world.tea.id):
        assert processing.webhook_process(webhook_id=row.id) == "processed"
        assert Attachment.objects.get().size == len(PNG)


def test_an_archived_shop_fails_the_delivery_and_keeps_its_body(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    channel = make_channel(world.tea, fake_line)
    tenancy_services.shop_archive(actor=actor_for_user(world.admin), shop=world.tea)
    body = body_of(text_event("E-archived", "まだ届きません"))
    deliver(client, channel, body, django_capture_on_commit_callbacks)
    with in_shop(world.tea.id):
        row = LineWebhook.objects.get()
        assert (row.status, bytes(row.body)) == ("failed", body)
        assert row.last_error == ("This shop is archived: it accepts no new contacts.")
        assert not Message.objects.filter(channel="line").exists()
        assert LineEvent.objects.count() == 0


def test_follow_unfollow_and_standby(client, world, fake_line, django_capture_on_commit_callbacks):
    fake_line.profiles[USER] = "友だち太郎"
    channel = make_channel(world.tea, fake_line)
    follow = {**text_event("E-follow", ""), "type": "follow", "follow": {"isUnblocked": False}}
    follow.pop("message")
    unfollow = {
        "type": "unfollow",
        "mode": "active",
        "timestamp": 1764150000000,
        "source": {"type": "user", "userId": USER},
        "webhookEventId": "E-unfollow",
    }
    standby = text_event("E-standby", "別モジュール中", mode="standby")
    deliver(client, channel, body_of(follow, standby, unfollow), django_capture_on_commit_callbacks)
    with in_shop(world.tea.id):
        customer = Customer.objects.get(identities__kind="line")
        assert customer.name == "友だち太郎"
        types = list(
            Event.objects.filter(type__startswith="line.")
            .order_by("id")
            .values_list("type", "payload")
        )
        assert [t for t, _ in types] == ["line.followed", "line.unfollowed"]
        assert types[0][1]["customer_id"] == customer.id
        message = Message.objects.get(channel="line")
        assert message.author_customer_id == customer.id
        assert LineInbound.objects.get(message=message).reply_token == ""


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_parallel_duplicate_delivery_stores_one_message(world, fake_line, monkeypatch):
    channel = make_channel(world.tea, fake_line)
    event = text_event("01HXPARALLEL00000000000000", "同時配信")
    barrier = threading.Barrier(2)
    original = processing._prepare

    def prepare_then_meet(*args):
        prepared = original(*args)
        barrier.wait(timeout=10)  # both passed the "seen before?" check
        return prepared

    monkeypatch.setattr(processing, "_prepare", prepare_then_meet)
    results, errors = [], []

    def run():
        try:
            with in_shop(world.tea.id):
                results.append(processing.event_process(channel, event))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == ["duplicate", "message"]
    with unscoped("test assertion"):
        assert LineEvent.objects.count() == 1
        assert Message.objects.filter(channel="line").count() == 1


# --- replies -------------------------------------------------------------------------------


def _received(client, world, fake_line, capture, event_id="E-r1"):
    channel = make_channel(world.tea, fake_line)
    deliver(client, channel, body_of(text_event(event_id, "返信ください")), capture)
    with in_shop(world.tea.id):
        return Ticket.objects.get(channel="line")


def _reply(world, ticket, text, capture):
    actor = actor_for_user(world.operator_tea)
    with in_shop(world.tea.id), capture(execute=True):
        message = message_reply(actor=actor, ticket=ticket, body_text=text)
    with in_shop(world.tea.id):
        return Message.objects.get(pk=message.pk), LineOutbound.objects.get(message=message)


def test_reply_within_a_minute_uses_the_reply_token_once(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    ticket = _received(client, world, fake_line, django_capture_on_commit_callbacks)
    message, outbound = _reply(
        world, ticket, "ただいま確認します", django_capture_on_commit_callbacks
    )
    assert (message.delivery_status, outbound.status, outbound.method) == ("sent", "sent", "reply")
    [call] = fake_line.calls("/v2/bot/message/reply")
    assert call.json() == {
        "replyToken": "reply-E-r1",
        "messages": [{"type": "text", "text": "ただいま確認します"}],
    }
    assert "X-Line-Retry-Key" not in call.headers
    message, outbound = _reply(world, ticket, "もう一通", django_capture_on_commit_callbacks)
    assert (message.delivery_status, outbound.method) == ("sent", "push")
    [push] = fake_line.calls("/v2/bot/message/push")
    assert push.json() == {"to": USER, "messages": [{"type": "text", "text": "もう一通"}]}
    assert push.headers["X-Line-Retry-Key"] == str(outbound.retry_key)


def test_reply_after_the_token_expired_goes_by_push_with_a_retry_key(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    ticket = _received(client, world, fake_line, django_capture_on_commit_callbacks)
    with in_shop(world.tea.id):
        LineInbound.objects.update(received_at=timezone.now() - dt.timedelta(seconds=61))
    fake_line.answer(
        "/v2/bot/message/push", (500, {"message": "Internal error"}), (200, {"sentMessages": []})
    )
    message, outbound = _reply(
        world, ticket, "お待たせしました", django_capture_on_commit_callbacks
    )
    assert (message.delivery_status, outbound.status, outbound.attempts) == ("queued", "queued", 1)
    assert outbound.last_error == "LINE answered 500: Internal error"
    with in_shop(world.tea.id):
        later = timezone.now() + dt.timedelta(minutes=2)
        assert sending.outbound_send(outbound_id=outbound.id, now=later) == "sent"
        outbound.refresh_from_db()
        message.refresh_from_db()
    assert (message.delivery_status, outbound.method, outbound.attempts) == ("sent", "push", 2)
    assert fake_line.calls("/v2/bot/message/reply") == []
    pushes = fake_line.calls("/v2/bot/message/push")
    assert len(pushes) == 2
    keys = {push.headers["X-Line-Retry-Key"] for push in pushes}
    assert keys == {str(outbound.retry_key)}
    assert uuid.UUID(keys.pop()).version == 4
    with in_shop(world.tea.id):
        assert LineInbound.objects.get().reply_token_used_at is None


def test_quota_error_is_shown_on_the_message(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    ticket = _received(client, world, fake_line, django_capture_on_commit_callbacks)
    with in_shop(world.tea.id):
        LineInbound.objects.update(reply_token="")
    fake_line.answer(
        "/v2/bot/message/push", (429, {"message": "You have reached your monthly limit."})
    )
    message, outbound = _reply(world, ticket, "上限テスト", django_capture_on_commit_callbacks)
    assert (message.delivery_status, outbound.status, outbound.http_status) == (
        "failed",
        "failed",
        429,
    )
    assert outbound.last_error == (
        "LINE refused the push: the monthly message quota is used up "
        "(429 You have reached your monthly limit.)"
    )
    client.force_login(world.operator_tea)
    page = client.get(reverse("line:deliveries", args=[world.tea.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "LINE がメッセージを受け付けませんでした。今月の送信数の上限に達しています。" in html
    assert "<code>LINE refused the push: the monthly message quota is used up" in html
    ticket_page = client.get(
        reverse("conversations:ticket", kwargs={"shop_slug": "tea", "number": ticket.number})
    )
    assert 'data-testid="delivery-status">' in ticket_page.content.decode()


def test_client_error_fails_at_once(client, world, fake_line, django_capture_on_commit_callbacks):
    ticket = _received(client, world, fake_line, django_capture_on_commit_callbacks)
    with in_shop(world.tea.id):
        LineInbound.objects.update(reply_token="")
    fake_line.answer(
        "/v2/bot/message/push",
        (
            400,
            {
                "message": "The request body has 1 error(s)",
                "details": [{"message": "May not be empty", "property": "messages[0].text"}],
            },
        ),
    )
    message, outbound = _reply(world, ticket, "x", django_capture_on_commit_callbacks)
    assert (message.delivery_status, outbound.status, outbound.attempts) == ("failed", "failed", 1)
    assert (
        outbound.last_error == "LINE answered 400: The request body has 1 error(s) May not be empty"
    )


def test_reply_without_a_line_channel_fails_visibly(world, django_capture_on_commit_callbacks):
    with in_shop(world.tea.id):
        ticket = Ticket.objects.get(pk=world.tea_ticket.pk)
        Ticket.objects.filter(pk=ticket.pk).update(channel="line")
        ticket.refresh_from_db()
    message, outbound = _reply(world, ticket, "届かない返信", django_capture_on_commit_callbacks)
    assert (message.delivery_status, outbound.last_error) == (
        "failed",
        "The shop has no active LINE channel.",
    )


def test_deliveries_page_is_staff_of_the_shop_only(client, world):
    make_channel(world.tea)
    client.force_login(world.operator_ceramics)
    assert client.get(reverse("line:deliveries", args=["tea"])).status_code == 404
    client.force_login(world.client_tea)
    assert client.get(reverse("line:deliveries", args=["tea"])).status_code == 404
    client.force_login(world.operator_tea)
    page = client.get(reverse("line:deliveries", args=["tea"]))
    assert page.status_code == 200
    assert "tea LINE" in page.content.decode()


# --- merge ---------------------------------------------------------------------------------


def test_operator_merges_a_line_customer_into_an_existing_one(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    ticket = _received(client, world, fake_line, django_capture_on_commit_callbacks)
    existing_id = world.tea_ticket.customer_id
    with in_shop(world.tea.id):
        line_customer_id = ticket.customer_id
    client.force_login(world.operator_tea)
    url = reverse("line:customer_merge", args=["tea", line_customer_id])
    response = client.post(url, {"target": existing_id})
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "customers:detail", kwargs={"shop_slug": "tea", "pk": existing_id}
    )
    with in_shop(world.tea.id):
        assert not Customer.objects.filter(pk=line_customer_id).exists()
        assert ContactIdentity.objects.get(kind="line").customer_id == existing_id
        assert Ticket.objects.get(pk=ticket.pk).customer_id == existing_id
        assert Message.objects.get(channel="line").author_customer_id == existing_id
        event = Event.objects.get(type="customer.merged")
        assert event.payload == {"source_id": line_customer_id, "target_id": existing_id}
    # The next LINE message finds the merged customer.
    deliver(
        client,
        _channel(world),
        body_of(text_event("E-after", "続きです")),
        django_capture_on_commit_callbacks,
    )
    with in_shop(world.tea.id):
        assert Message.objects.get(external_id="m-E-after").ticket_id == ticket.pk


def _channel(world):
    with unscoped("test"):
        return LineChannel.objects.get(shop=world.tea)


def test_merge_refuses_other_shops_and_strangers(client, world):
    client.force_login(world.operator_tea)
    url = reverse("line:customer_merge", args=["tea", world.tea_ticket.customer_id])
    assert client.post(url, {"target": world.ceramics_ticket.customer_id}).status_code == 404
    client.force_login(world.operator_ceramics)
    assert client.post(url, {"target": world.tea_ticket.customer_id}).status_code == 404
    with unscoped("test assertion"):
        assert Customer.objects.count() == 2


def test_supervisor_connects_a_channel_and_others_may_not(client, world):
    url = reverse("line:channels", args=["tea"])
    data = {
        "name": "山田園 公式",
        "channel_id": "1657000000",
        "channel_secret": "s3cret",
        "access_token": "tok",
    }
    client.force_login(world.operator_ceramics)
    assert client.post(url, data).status_code == 404
    client.force_login(world.operator_tea)
    assert client.post(url, data).status_code == 403
    client.force_login(world.supervisor)
    refused = client.post(url, {**data, "channel_id": "abc"})
    assert refused.status_code == 200
    assert refused.context["form"].errors == {"channel_id": ["チャネル ID は数字です。"]}
    response = client.post(url, data)
    with unscoped("test assertion"):
        channel = LineChannel.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("line:channel_edit", args=["tea", channel.pk])
    assert (channel.shop_id, channel.name, channel.api_base_url) == (
        world.tea.id,
        "山田園 公式",
        "https://api.line.me",
    )
    page = client.get(url)
    assert f"http://testserver/line/webhook/{channel.public_id}/" in page.text
    assert "s3cret" not in page.text


def test_sweep_requeues_lost_work(world, fake_line):
    channel = make_channel(world.tea, fake_line)
    with in_shop(world.tea.id):
        old = timezone.now() - dt.timedelta(minutes=10)
        webhook = LineWebhook.objects.create(
            shop=world.tea,
            channel=channel,
            body=body_of(text_event("E-lost", "失われたタスク")),
            received_at=old,
        )
    with unscoped("test sweep"):
        assert processing.webhook_sweep() == 1
    with in_shop(world.tea.id):
        webhook.refresh_from_db()
        assert webhook.status == "processed"
        assert Message.objects.get(external_id="m-E-lost").body_text == "失われたタスク"


def test_quota_is_shown_from_line(client, world, fake_line):
    channel = make_channel(world.tea, fake_line)
    fake_line.answer("/v2/bot/message/quota", (200, {"type": "limited", "value": 200}))
    fake_line.answer("/v2/bot/message/quota/consumption", (200, {"totalUsage": 187}))
    client.force_login(world.operator_tea)
    url = reverse("line:quota", args=["tea", channel.id])
    response = client.get(url + "?lang=en", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert 'data-testid="line-quota"' in response.text
    assert "187" in response.text and "200" in response.text
    fake_line.answer("/v2/bot/message/quota", (401, {"message": "Authentication failed"}))
    failed = client.get(url)
    refused = "LINE がチャネルアクセストークンを受け付けませんでした（HTTP 401）。"
    assert f'<span class="error">{refused}</span>' in failed.text
    assert "Authentication failed" not in failed.text
    assert "token-tea" not in failed.text
    client.force_login(world.operator_ceramics)
    assert client.get(url).status_code == 404


def test_known_line_user_is_not_looked_up_again(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    fake_line.profiles[USER] = "山田 花子"
    channel = make_channel(world.tea, fake_line)
    deliver(client, channel, body_of(text_event("E1", "一")), django_capture_on_commit_callbacks)
    deliver(client, channel, body_of(text_event("E2", "二")), django_capture_on_commit_callbacks)
    assert len(fake_line.calls(f"/v2/bot/profile/{USER}")) == 1


def test_merge_service_refuses_two_shops_and_itself(world):
    from madoguchi.core.errors import ValidationError
    from madoguchi.customers.services import customer_merge

    admin = actor_for_user(world.admin)
    with unscoped("test"):
        tea_customer = Customer.objects.get(pk=world.tea_ticket.customer_id)
        ceramics_customer = Customer.objects.get(pk=world.ceramics_ticket.customer_id)
        with pytest.raises(ValidationError):
            customer_merge(actor=admin, source=tea_customer, target=ceramics_customer)
        with pytest.raises(ValidationError):
            customer_merge(actor=admin, source=tea_customer, target=tea_customer)
        assert Customer.objects.count() == 2


def test_an_unreachable_line_is_said_in_japanese(client, world, fake_line):
    channel = make_channel(world.tea, fake_line)
    with in_shop(world.tea.id):
        LineChannel.objects.filter(id=channel.id).update(api_base_url="http://127.0.0.1:9")
    client.force_login(world.operator_tea)
    response = client.get(reverse("line:quota", args=["tea", channel.id]))
    assert response.text == (
        '<p data-testid="line-quota"><span class="error">LINE に接続できませんでした。</span></p>\n'
    )
