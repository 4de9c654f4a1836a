"""Cases of the security checklist (docs/security-checklist.md) for LINE: media content over the
size cap is not stored (33), failing API calls log no secret or customer data (75)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.conf import settings

from madoguchi.connectors.line.models import LineChannel, LineOutbound, LineWebhook
from madoguchi.connectors.line.tests.fake_line import PNG
from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.tenancy.scoping import in_shop

from .test_line import body_of, deliver, make_channel, text_event

pytestmark = pytest.mark.django_db


def test_an_image_over_the_size_cap_is_not_stored(
    client: Any, world: Any, fake_line: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fake_line.contents["big1"] = (PNG + b"\x00" * 4096, "image/png")
    channel = make_channel(world.tea, fake_line)
    event = {**text_event("E-big1", ""), "message": {"id": "big1", "type": "image"}}
    limits = {**settings.MADOGUCHI, "ATTACHMENT_MAX_BYTES": 1024}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "MADOGUCHI", limits)
        deliver(client, channel, body_of(event), django_capture_on_commit_callbacks)
    with in_shop(world.tea.id):
        row = LineWebhook.objects.get()
        assert row.status == "processed"  # nothing to retry: the text says it was not fetched
        assert not Attachment.objects.exists()
        message = Message.objects.filter(ticket__channel="line").get()
        assert message.body_text == "[画像] (取得できませんでした)"


CUSTOMER_TEXT = "電話は090-1234-5678、メールは hanako@example.com です"
REPLY_TEXT = "山田様、ご住所の東京都千代田区千代田1-1 宛に再送します"


def test_failing_line_api_calls_log_no_token_secret_or_customer_data(
    client: Any,
    world: Any,
    fake_line: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: Any,
) -> None:
    """Security case 75 for LINE: the profile, the content, the reply and the push fail
    (refused, server errors, a wrong token, nothing listening) and the logs hold none of the
    channel's secrets nor what the customer or the staff wrote."""
    from madoguchi.conversations.services import message_reply
    from madoguchi.core.testing.mailservers import free_port
    from madoguchi.tenancy.access import actor_for_user
    from madoguchi.tenancy.scoping import unscoped

    from .test_line import USER

    channel = make_channel(world.tea, fake_line)
    profile = f"/v2/bot/profile/{USER}"
    fake_line.answer(profile, (500, {"message": "Internal error"}))
    fake_line.answer("/v2/bot/message/img1/content", (500, {"message": "busy"}))
    fake_line.answer("/v2/bot/message/reply", (400, {"message": "Invalid reply token"}))
    fake_line.answer(
        "/v2/bot/message/push",
        (401, {"message": "Authentication failed. Confirm that the access token is valid."}),
    )
    image = {**text_event("E-img1", ""), "message": {"id": "img1", "type": "image"}}
    with caplog.at_level(logging.DEBUG):
        deliver(
            client,
            channel,
            body_of(text_event("E-text1", CUSTOMER_TEXT), image),
            django_capture_on_commit_callbacks,
        )
        actor = actor_for_user(world.operator_tea)
        with in_shop(world.tea.id):
            ticket = Ticket.objects.get(channel="line")
        with in_shop(world.tea.id), django_capture_on_commit_callbacks(execute=True):
            message_reply(actor=actor, ticket=ticket, body_text=REPLY_TEXT)  # 400, then 401
        with unscoped("test setup: LINE cannot be reached"):
            LineChannel.objects.filter(pk=channel.pk).update(
                api_base_url=f"http://127.0.0.1:{free_port()}"
            )
        with in_shop(world.tea.id), django_capture_on_commit_callbacks(execute=True):
            message_reply(actor=actor, ticket=ticket, body_text=REPLY_TEXT)
    with in_shop(world.tea.id):
        failed = list(LineOutbound.objects.order_by("id").values_list("status", "last_error"))
    assert [status for status, _ in failed] == ["failed", "queued"]
    assert "401" in failed[0][1]
    assert fake_line.calls(profile), "the profile was asked for"
    logged = "\n".join(
        [record.getMessage() for record in caplog.records]
        + [record.exc_text or "" for record in caplog.records]
    )
    assert "LINE reply token refused" in logged
    assert "LINE event of webhook" in logged
    assert "LINE profile of channel" in logged
    for secret in (
        channel.access_token,
        channel.channel_secret,
        USER,  # the customer's LINE user id
        "090-1234-5678",
        "hanako@example.com",
        "千代田区",
        "山田様",
    ):
        assert secret not in logged, secret
