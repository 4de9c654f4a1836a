"""Security cases 30 (unsend/read events, in and out of order) and 33 (media content sniffing)
for LINE. Events are built from the documented payloads in the shared LINE corpus."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from madoguchi.connectors.line.models import LineEvent, LineWebhook
from madoguchi.connectors.line.processing import UNSENT_TEXT
from madoguchi.connectors.line.tests.fake_line import PNG
from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.search.models import SearchDocument
from madoguchi.tenancy.scoping import in_shop

from .test_line import USER, body_of, deliver, make_channel, text_event

pytestmark = pytest.mark.django_db

CORPUS = Path("/work/shared/corpora/webhooks/line/webhook-events.json")
SECRET_TEXT = "住所は東京都港区芝公園4-2-8、電話は090-8765-4321です"


def corpus_event(kind: str) -> dict[str, Any]:
    events = json.loads(CORPUS.read_text(encoding="utf-8"))["events"]
    return copy.deepcopy(next(event for event in events if event["type"] == kind))


def unsend_event(event_id: str, message_id: str) -> dict[str, Any]:
    """The corpus' unsend event (a group source there) sent by our one-to-one user."""
    event = corpus_event("unsend")
    event["webhookEventId"] = event_id
    event["source"] = {"type": "user", "userId": USER}
    event["unsend"]["messageId"] = message_id
    return event


def image_event(event_id: str, message_id: str) -> dict[str, Any]:
    event = text_event(event_id, "")
    event["message"] = {"id": message_id, "type": "image", "contentProvider": {"type": "line"}}
    return event


def test_the_corpus_unsend_event_has_the_documented_shape() -> None:
    event = corpus_event("unsend")
    assert set(event["unsend"]) == {"messageId"}
    assert "replyToken" not in event


def test_an_unsend_hides_the_message_and_its_image_and_the_raw_log_keeps_them(
    client: Any, world: Any, fake_line: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fake_line.contents["img-u1"] = (PNG, "image/png")
    channel = make_channel(world.tea, fake_line)
    deliver(
        client,
        channel,
        body_of(
            text_event("E-t1", SECRET_TEXT, message_id="m-secret"),
            image_event("E-i1", "img-u1"),
        ),
        django_capture_on_commit_callbacks,
    )
    with in_shop(world.tea.id):
        stored = Attachment.objects.get()
        path = stored.file.name
        assert stored.file.storage.exists(path)
        ticket = Ticket.objects.get(channel="line")
        assert SECRET_TEXT[:20] in ticket.subject
    deliver(
        client,
        channel,
        body_of(unsend_event("E-u1", "m-secret"), unsend_event("E-u2", "img-u1")),
        django_capture_on_commit_callbacks,
    )
    with in_shop(world.tea.id):
        texts = list(
            Message.objects.filter(ticket=ticket).order_by("id").values_list("body_text", flat=True)
        )
        assert texts == [UNSENT_TEXT, UNSENT_TEXT]
        assert not Attachment.objects.exists()
        assert not stored.file.storage.exists(path)
        ticket.refresh_from_db()
        assert ticket.subject == UNSENT_TEXT
        documents = "".join(SearchDocument.objects.values_list("content", flat=True))
        assert "芝公園" not in documents and "090-8765-4321" not in documents
        assert set(
            LineEvent.objects.filter(type="unsend").values_list("outcome", "unsent_message_id")
        ) == {("unsend", "m-secret"), ("unsend", "img-u1")}
        # The raw delivery is the record of what was sent (kept per the retention policy).
        first = LineWebhook.objects.order_by("id").first()
        assert first is not None
        events = json.loads(bytes(first.body))["events"]
        assert events[0]["message"]["text"] == SECRET_TEXT
        assert LineWebhook.objects.filter(status="processed").count() == 2
    client.force_login(world.operator_tea)
    page = client.get(
        reverse("conversations:ticket", kwargs={"shop_slug": "tea", "number": ticket.number})
    )
    assert page.status_code == 200
    assert "芝公園" not in page.content.decode()


def test_an_unsend_arriving_before_its_message_stores_the_message_hidden(
    client: Any, world: Any, fake_line: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fake_line.contents["img-late"] = (PNG, "image/png")
    channel = make_channel(world.tea, fake_line)
    deliver(
        client,
        channel,
        body_of(unsend_event("E-u-early", "m-late"), unsend_event("E-u-img", "img-late")),
        django_capture_on_commit_callbacks,
    )
    with in_shop(world.tea.id):
        assert LineWebhook.objects.get().status == "processed"
        assert not Message.objects.filter(channel="line").exists()
        assert not Ticket.objects.filter(channel="line").exists()
    deliver(
        client,
        channel,
        body_of(
            text_event("E-late", SECRET_TEXT, message_id="m-late"),
            image_event("E-late-img", "img-late"),
        ),
        django_capture_on_commit_callbacks,
    )
    with in_shop(world.tea.id):
        assert (
            list(Message.objects.filter(channel="line").values_list("body_text", flat=True))
            == [UNSENT_TEXT] * 2
        )
        assert not Attachment.objects.exists()
        assert Ticket.objects.get(channel="line").subject == UNSENT_TEXT
        assert LineEvent.objects.get(webhook_event_id="E-u-early").message_id is not None
        assert set(LineWebhook.objects.values_list("status", flat=True)) == {"processed"}


def test_an_unsend_of_an_unknown_message_and_read_events_leave_no_rows(
    client: Any, world: Any, fake_line: Any, django_capture_on_commit_callbacks: Any
) -> None:
    channel = make_channel(world.tea, fake_line)
    read = {**text_event("E-read", ""), "type": "read", "read": {"messageId": "m-never"}}
    read.pop("message")
    empty_unsend = unsend_event("E-u-empty", "")
    deliver(
        client,
        channel,
        body_of(unsend_event("E-u-none", "m-never"), read, empty_unsend),
        django_capture_on_commit_callbacks,
    )
    with in_shop(world.tea.id):
        assert LineWebhook.objects.get().status == "processed"
        assert (
            not Message.objects.filter(channel="line").exists()
            and not Ticket.objects.filter(channel="line").exists()
        )
        outcomes = dict(LineEvent.objects.values_list("webhook_event_id", "outcome"))
        assert outcomes == {"E-u-none": "unsend", "E-read": "ignored", "E-u-empty": "ignored"}


def test_an_unsend_never_reaches_another_shops_message(
    client: Any, world: Any, fake_line: Any, django_capture_on_commit_callbacks: Any
) -> None:
    tea = make_channel(world.tea, fake_line)
    other = make_channel(world.ceramics, fake_line)
    deliver(
        client,
        other,
        body_of(text_event("E-o1", SECRET_TEXT, message_id="m-shared")),
        django_capture_on_commit_callbacks,
    )
    deliver(
        client,
        tea,
        body_of(unsend_event("E-o2", "m-shared")),
        django_capture_on_commit_callbacks,
    )
    with in_shop(world.ceramics.id):
        assert Message.objects.filter(channel="line").get().body_text == SECRET_TEXT


# --- 33. media content sniffing -----------------------------------------------------------

HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
# A GIF header followed by script: an image to a sniffer, HTML to a careless browser.
POLYGLOT = b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;<script>alert(1)</script>"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def media_event(event_id: str, message_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    event = text_event(event_id, "")
    event["message"] = {"id": message_id, "type": kind, **extra}
    return event


def test_the_stored_type_of_line_media_follows_the_bytes(
    client: Any, world: Any, fake_line: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fake_line.contents.update(
        {
            "html-img": (HTML, "image/png"),
            "poly": (POLYGLOT, "image/jpeg"),
            "vid": (HTML, "video/mp4"),
            "doc": (PDF, "application/octet-stream"),
            "real": (PNG, "image/png"),
        }
    )
    channel = make_channel(world.tea, fake_line)
    deliver(
        client,
        channel,
        body_of(
            media_event("E-m1", "html-img", "image"),
            media_event("E-m2", "poly", "image"),
            media_event("E-m3", "vid", "video", duration=1000),
            media_event("E-m4", "doc", "file", fileName="見積書.pdf", fileSize=len(PDF)),
            media_event("E-m5", "real", "image"),
        ),
        django_capture_on_commit_callbacks,
    )
    with in_shop(world.tea.id):
        assert LineWebhook.objects.get().status == "processed"
        stored = {
            name: (content_type, size)
            for name, content_type, size in Attachment.objects.values_list(
                "filename", "content_type", "size"
            )
        }
    assert stored == {
        "line-html-img.bin": ("text/html", len(HTML)),
        "line-poly.gif": ("image/gif", len(POLYGLOT)),
        "line-vid.bin": ("text/html", len(HTML)),
        "line-doc.pdf": ("application/pdf", len(PDF)),
        "line-real.png": ("image/png", len(PNG)),
    }


def test_disguised_line_media_is_never_served_inline(
    client: Any, world: Any, fake_line: Any, django_capture_on_commit_callbacks: Any
) -> None:
    fake_line.contents.update({"html-img": (HTML, "image/png"), "poly": (POLYGLOT, "image/gif")})
    channel = make_channel(world.tea, fake_line)
    deliver(
        client,
        channel,
        body_of(media_event("E-s1", "html-img", "image"), media_event("E-s2", "poly", "image")),
        django_capture_on_commit_callbacks,
    )
    client.force_login(world.operator_tea)
    with in_shop(world.tea.id):
        rows = list(Attachment.objects.select_related("message__ticket").order_by("id"))
    served = []
    for attachment in rows:
        ticket = attachment.message.ticket
        response = client.get(
            reverse(
                "conversations:ticket_attachment",
                kwargs={
                    "shop_slug": "tea",
                    "number": ticket.number,
                    "attachment_id": attachment.id,
                },
            )
        )
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
        served.append(response["Content-Type"])
    # HTML is never labelled an image; the polyglot is a GIF by its bytes, downloaded sandboxed.
    assert served == ["application/octet-stream", "image/gif"]
