"""Attachments on the ticket page and their download, through the Django test client."""

from __future__ import annotations

import hashlib
import html
import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.core.testing import factories
from madoguchi.tenancy.scoping import unscoped

PDF = b"%PDF-1.4\n% \xe6\xb3\xa8\xe6\x96\x87\xe6\x9b\xb8\n%%EOF\n"
EXPECTED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def attach(
    message: Message,
    *,
    filename: str = "注文書.pdf",
    content_type: str = "application/pdf",
    data: bytes = PDF,
) -> Attachment:
    with unscoped("test setup"):
        attachment = Attachment(
            shop_id=message.shop_id,
            message=message,
            filename=filename,
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        attachment.file.save("ignored", ContentFile(data), save=False)
        attachment.save()
    return attachment


def first_message(ticket: Ticket) -> Message:
    with unscoped("test setup"):
        return Message.objects.filter(ticket=ticket).order_by("id").first()  # type: ignore[return-value]


def download_url(ticket: Ticket, attachment: Attachment) -> str:
    return reverse(
        "conversations:ticket_attachment",
        kwargs={
            "shop_slug": ticket.shop.slug,
            "number": ticket.number,
            "attachment_id": attachment.id,
        },
    )


def ticket_url(ticket: Ticket) -> str:
    return reverse(
        "conversations:ticket", kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number}
    )


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def downloads() -> list[AuditEntry]:
    with unscoped("test assertion"):
        return list(AuditEntry.objects.filter(action="attachment.downloaded").order_by("id"))


# Download ---------------------------------------------------------------------------------------


def test_staff_download_the_file_as_an_attachment(english: Any, world: Any) -> None:
    attachment = attach(first_message(world.tea_ticket))
    english.force_login(world.operator_tea)
    response = english.get(download_url(world.tea_ticket, attachment))
    assert response.status_code == 200
    assert body(response) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(PDF))
    # RFC 6266 / 5987: a non-ASCII name is percent-encoded UTF-8 in filename*.
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E6%B3%A8%E6%96%87%E6%9B%B8.pdf"
    )
    for header, value in EXPECTED_HEADERS.items():
        assert response[header] == value


def test_an_ascii_name_is_quoted_and_escaped(english: Any, world: Any) -> None:
    attachment = attach(
        first_message(world.tea_ticket), filename='say "hi".txt', content_type="text/plain"
    )
    english.force_login(world.operator_tea)
    response = english.get(download_url(world.tea_ticket, attachment))
    assert response["Content-Disposition"] == 'attachment; filename="say \\"hi\\".txt"'
    assert response["Content-Type"] == "text/plain"


@pytest.mark.parametrize(
    ("stored", "served"),
    [
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/x-msdownload", "application/octet-stream"),
        ("", "application/octet-stream"),
        ("IMAGE/PNG", "image/png"),
        ("text/plain; charset=iso-2022-jp", "text/plain"),
    ],
)
def test_only_safe_types_are_sent_as_stored(
    english: Any, world: Any, stored: str, served: str
) -> None:
    data = b"<html><script>alert(1)</script></html>"
    attachment = attach(
        first_message(world.tea_ticket), filename="page.html", content_type=stored, data=data
    )
    english.force_login(world.operator_tea)
    response = english.get(download_url(world.tea_ticket, attachment))
    assert response.status_code == 200
    assert response["Content-Type"] == served
    assert response["Content-Disposition"] == 'attachment; filename="page.html"'
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert body(response) == data


def test_the_download_is_audited(english: Any, world: Any) -> None:
    attachment = attach(first_message(world.tea_ticket))
    english.force_login(world.operator_tea)
    body(english.get(download_url(world.tea_ticket, attachment)))
    [entry] = downloads()
    assert entry.actor_id == world.operator_tea.id
    assert entry.shop_id == world.tea.id
    assert entry.target_type == "conversations.attachment"
    assert entry.target_id == str(attachment.id)
    assert entry.ip_address == "127.0.0.1"
    assert entry.changes == {
        "message": attachment.message_id,
        "filename": "注文書.pdf",
        "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(),
    }


def test_the_shops_own_client_may_download_what_the_ticket_page_shows(
    english: Any, world: Any
) -> None:
    attachment = attach(first_message(world.tea_ticket))
    english.force_login(world.client_tea)
    response = english.get(download_url(world.tea_ticket, attachment))
    assert response.status_code == 200
    assert body(response) == PDF
    assert [entry.actor_id for entry in downloads()] == [world.client_tea.id]


def test_an_attachment_of_an_internal_note_is_for_staff_only(english: Any, world: Any) -> None:
    with unscoped("test setup"):
        note = factories.MessageFactory(ticket=world.tea_ticket, direction="note")
    attachment = attach(note)
    english.force_login(world.client_tea)
    assert english.get(download_url(world.tea_ticket, attachment)).status_code == 404
    english.force_login(world.operator_tea)
    assert english.get(download_url(world.tea_ticket, attachment)).status_code == 200


def test_another_shops_attachment_is_404(english: Any, world: Any) -> None:
    theirs = attach(first_message(world.ceramics_ticket))
    english.force_login(world.operator_tea)
    # Through its own ticket's URL (a shop the operator does not work) and through the tea one.
    assert english.get(download_url(world.ceramics_ticket, theirs)).status_code == 404
    assert english.get(download_url(world.tea_ticket, theirs)).status_code == 404
    assert downloads() == []


def test_another_tickets_attachment_through_this_tickets_url_is_404(
    english: Any, world: Any
) -> None:
    with unscoped("test setup"):
        other = factories.TicketFactory(shop=world.tea, customer=world.tea_ticket.customer)
        other_message = factories.MessageFactory(ticket=other)
    attachment = attach(other_message)
    english.force_login(world.operator_tea)
    assert english.get(download_url(world.tea_ticket, attachment)).status_code == 404
    assert english.get(download_url(other, attachment)).status_code == 200


@pytest.mark.parametrize("stranger", ["operator_ceramics", "client_ceramics"])
def test_a_user_who_may_not_see_the_ticket_gets_404(
    english: Any, world: Any, stranger: str
) -> None:
    attachment = attach(first_message(world.tea_ticket))
    english.force_login(getattr(world, stranger))
    response = english.get(download_url(world.tea_ticket, attachment))
    assert response.status_code == 404
    assert downloads() == []


def test_anonymous_visitors_are_sent_to_sign_in(english: Any, world: Any) -> None:
    attachment = attach(first_message(world.tea_ticket))
    url = download_url(world.tea_ticket, attachment)
    response = english.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login") + "?next=" + url
    assert downloads() == []


def test_a_file_missing_from_storage_is_404_and_logged(
    english: Any, world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    attachment = attach(first_message(world.tea_ticket))
    Path(attachment.file.path).unlink()
    english.force_login(world.operator_tea)
    with caplog.at_level(logging.ERROR, logger="madoguchi.conversations.attachments"):
        response = english.get(download_url(world.tea_ticket, attachment))
    assert response.status_code == 404
    assert [record.getMessage() for record in caplog.records] == [
        f"Attachment {attachment.id} (shop {world.tea.id}) is missing from storage: "
        f"{attachment.file.name}"
    ]
    assert downloads() == []


def test_only_get_is_allowed(english: Any, world: Any) -> None:
    attachment = attach(first_message(world.tea_ticket))
    english.force_login(world.operator_tea)
    assert english.post(download_url(world.tea_ticket, attachment)).status_code == 405
    assert downloads() == []


# Ticket page ------------------------------------------------------------------------------------


def test_the_ticket_page_lists_the_attachments_with_their_links(english: Any, world: Any) -> None:
    message = first_message(world.tea_ticket)
    attachment = attach(message, filename="<b>見積</b>.pdf", data=b"x" * 2048)
    english.force_login(world.operator_tea)
    response = english.get(ticket_url(world.tea_ticket))
    assert response.status_code == 200
    assert "<b>見積</b>" not in response.text  # the name is escaped
    link = (
        f'<a class="attachment__name" href="{download_url(world.tea_ticket, attachment)}" '
        f'download title="Download" data-testid="attachment-link">'
        f"{html.escape('<b>見積</b>.pdf')}</a>"
    )
    assert link in response.text
    assert '<span class="muted" data-testid="attachment-size">2.0\xa0KB</span>' in response.text
    assert downloads() == []  # listing is not downloading


def test_the_ticket_page_is_in_japanese(client: Any, world: Any) -> None:
    attach(first_message(world.tea_ticket))
    client.force_login(world.operator_tea)
    response = client.get(ticket_url(world.tea_ticket))
    assert 'aria-label="添付ファイル"' in response.text
    assert 'title="ダウンロード"' in response.text


def _page_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_ticket_page_queries_do_not_grow_with_messages_and_attachments(
    english: Any, world: Any
) -> None:
    attach(first_message(world.tea_ticket))
    english.force_login(world.operator_tea)
    url = ticket_url(world.tea_ticket)
    _page_queries(english, url)  # warm the session and the content-type caches
    before = _page_queries(english, url)
    with unscoped("test setup"):
        messages = [
            factories.MessageFactory(ticket=world.tea_ticket, direction=direction)
            for direction in ("inbound", "outbound", "note") * 3
        ]
    for index, message in enumerate(messages):
        attach(message, filename=f"file-{index}.pdf")
        attach(message, filename=f"file-{index}.png", content_type="image/png")
    assert _page_queries(english, url) == before
    assert english.get(url).text.count('data-testid="attachment-link"') == 19
