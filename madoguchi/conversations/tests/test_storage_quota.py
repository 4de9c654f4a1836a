"""Per-file, per-ticket and per-shop limits on kept files, and empty files (checklist case 56).

A file that does not fit is not stored; its row stays without a file and says why, the ticket
page shows it, a download finds nothing, and the original (raw mail, web-form submission) still
holds the bytes. The shop page shows the shop's use against the limit.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from madoguchi.connectors.mail.models import RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.tests.mail_builders import mail_setup, mail_with_files
from madoguchi.connectors.webform.models import Submission
from madoguchi.connectors.webform.tests.test_webform import fields, url, web_form
from madoguchi.conversations.models import Attachment, Ticket
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db
__all__ = ["web_form"]  # the web form's fixture

Withheld = Attachment.Withheld


@pytest.fixture(autouse=True)
def _fresh_usage() -> Any:
    cache.clear()  # the shops' cached use
    yield
    cache.clear()


def limits(*, file: int = 0, ticket: int = 0, shop: int = 0) -> Any:
    return override_settings(
        MADOGUCHI={
            **settings.MADOGUCHI,
            "ATTACHMENT_MAX_BYTES": file,
            "ATTACHMENT_TICKET_MAX_BYTES": ticket,
            "SHOP_STORAGE_MAX_BYTES": shop,
        }
    )


@pytest.fixture
def deliver(world: Any, django_capture_on_commit_callbacks: Any) -> Any:
    mail_setup(world)

    def deliver(raw: bytes) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            ingest_raw(shop_ids=[world.tea.id], raw=raw, source="imap")

    return deliver


def kept(shop: Any) -> dict[str, tuple[str, bool]]:
    """Each file name: why it was withheld ("" when stored) and whether a file is stored."""
    with in_shop(shop.id):
        return {
            row.filename: (row.withheld, bool(row.file.name))
            for row in Attachment.objects.order_by("id")
        }


def test_files_over_a_limit_or_empty_are_listed_but_not_stored(
    world: Any, deliver: Any, client: Any
) -> None:
    with limits(file=100, ticket=150):
        deliver(
            mail_with_files(
                ("a.pdf", b"a" * 80),
                ("empty.txt", b""),
                ("big.pdf", b"b" * 101),
                ("c.pdf", b"c" * 80),  # 80 + 80 > the ticket's 150
                message_id="first@mail.example.com",
            )
        )
    assert kept(world.tea) == {
        "a.pdf": ("", True),
        "empty.txt": (Withheld.EMPTY, False),
        "big.pdf": (Withheld.FILE_LIMIT, False),
        "c.pdf": (Withheld.TICKET_LIMIT, False),
    }
    with in_shop(world.tea.id):
        raw = RawMail.objects.get().raw
        big = Attachment.objects.get(filename="big.pdf")
        ticket = Ticket.objects.get(messages__attachments=big)
    assert b"YmJi" in raw  # the raw mail still holds the bytes (base64 of "bbb")
    client.force_login(world.operator_tea)
    page = client.get(reverse("conversations:ticket", args=["tea", ticket.number]))
    assert page.text.count('data-testid="attachment-withheld">保存されていません</span>') == 3
    assert "1ファイルあたりのサイズ上限を超えています。" in page.text
    assert "このチケットのファイルがサイズ上限に達しています。" in page.text
    assert "元のメッセージには残っています。" in page.text
    download = reverse("conversations:ticket_attachment", args=["tea", ticket.number, big.id])
    assert client.get(download).status_code == 404


def test_the_shops_limit_counts_what_earlier_mail_stored(world: Any, deliver: Any) -> None:
    with limits(shop=100):
        deliver(mail_with_files(("first.pdf", b"1" * 60), message_id="one@mail.example.com"))
        deliver(mail_with_files(("second.pdf", b"2" * 60), message_id="two@mail.example.com"))
        deliver(mail_with_files(("third.pdf", b"3" * 40), message_id="three@mail.example.com"))
    assert kept(world.tea) == {
        "first.pdf": ("", True),
        "second.pdf": (Withheld.SHOP_LIMIT, False),
        "third.pdf": ("", True),
    }


def test_a_web_form_file_over_the_shops_limit_stays_with_the_submission(
    client: Any, web_form: Any, django_capture_on_commit_callbacks: Any
) -> None:
    photo = SimpleUploadedFile(
        "写真.pdf", b"%PDF-1.4\n" + b"0" * 200, content_type="application/pdf"
    )
    with limits(shop=100), django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(), {**fields(), "attachments": [photo]})
    assert response.status_code == 200
    assert kept(web_form.shop) == {"写真.pdf": (Withheld.SHOP_LIMIT, False)}
    with in_shop(web_form.shop_id):
        stored = Submission.objects.get().files.get()
    assert bytes(stored.data).startswith(b"%PDF-1.4")


def test_the_shop_page_shows_the_use_and_warns_near_the_limit(
    world: Any, deliver: Any, client: Any
) -> None:
    with limits(shop=10_000):
        deliver(mail_with_files(("photo.jpg", b"p" * 8_500), message_id="p@mail.example.com"))
        client.force_login(world.admin)
        page = client.get(reverse("administration:shop_edit", args=["tea"]))
    assert page.status_code == 200
    assert "お客様のファイルが 9.8\xa0KB のうち 8.3\xa0KB を使っています（85%）。" in page.text
    assert 'data-testid="shop-storage-warning"' in page.text
    with unscoped("test"):
        assert Attachment.objects.get().size == 8_500


def test_another_shops_admin_sees_no_use(world: Any, client: Any) -> None:
    client.force_login(world.client_ceramics)
    assert client.get(reverse("administration:shop_edit", args=["tea"])).status_code == 404
