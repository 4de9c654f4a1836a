"""Cases of the security checklist (docs/security-checklist.md) for LINE: media content over the
size cap is not stored (33)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from madoguchi.connectors.line.models import LineWebhook
from madoguchi.connectors.line.tests.fake_line import PNG
from madoguchi.conversations.models import Attachment, Message
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
