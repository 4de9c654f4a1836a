"""Malware scanning of received files (checklist case 58), against a real clamd.

A file the scanner flags is kept, marked, and not served: the ticket page says what was found,
the download answers with that page, and only a supervisor or admin of the shop gets the file,
with a reason that goes into the audit log. A scanner outage leaves files waiting (never clean)
and the next run takes them up; without a scanner files are "not scanned".
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from madoguchi.audit import actions
from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.tests.mail_builders import mail_setup, mail_with_files
from madoguchi.connectors.webform.tests.test_webform import fields, url, web_form
from madoguchi.conversations.models import Attachment, Ticket
from madoguchi.conversations.scanning import attachments_scan
from madoguchi.core.clamd import ScannerUnavailableError, check_malware_scanner, scan
from madoguchi.core.testing.clamav import EICAR
from madoguchi.core.testing.mailservers import free_port
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db
__all__ = ["web_form"]  # the web form's fixture, used by the last test

Status = Attachment.ScanStatus


def scanner(address: str) -> Any:
    return override_settings(MADOGUCHI={**settings.MADOGUCHI, "CLAMD": address})


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def delivered(world: Any, clamd: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """A mail to the tea shop with an EICAR file, the same inside a zip, and a clean PDF, taken
    in while the scanner runs (the scan task runs when the ingest commits)."""
    mail_setup(world)
    raw = mail_with_files(
        ("請求書.com", EICAR),
        ("書類.zip", _zip("readme.txt", EICAR)),
        ("注文書.pdf", b"%PDF-1.4 clean"),
    )
    with scanner(clamd.address), django_capture_on_commit_callbacks(execute=True):
        ingest_raw(shop_ids=[world.tea.id], raw=raw, source="imap")
    with in_shop(world.tea.id):
        return {row.filename: row for row in Attachment.objects.order_by("id")}


def _urls(row: Attachment) -> tuple[str, str, str]:
    """The ticket page of the file, its download and its override."""
    with unscoped("test"):
        ticket = Ticket.objects.select_related("shop").get(messages__attachments=row)
    args = [ticket.shop.slug, ticket.number, row.id]
    return (
        reverse("conversations:ticket", args=args[:2]),
        reverse("conversations:ticket_attachment", args=args),
        reverse("conversations:ticket_attachment_release", args=args),
    )


def test_the_client_reads_clamds_verdicts(clamd: Any) -> None:
    flagged = scan(io.BytesIO(EICAR), address=clamd.address)
    assert flagged.is_infected and flagged.signature == "Madoguchi.Test.EICAR.UNOFFICIAL"
    assert scan(io.BytesIO(_zip("a/b.txt", EICAR)), address=clamd.address).is_infected
    assert not scan(io.BytesIO(b"%PDF-1.4 clean" * 1000), address=clamd.address).is_infected
    assert scan(io.BytesIO(EICAR), address=clamd.socket_path).is_infected  # a unix socket
    # Over the daemon's StreamMaxLength (2M here): no verdict, which is not "clean".
    with pytest.raises(ScannerUnavailableError):
        scan(io.BytesIO(b"0" * (3 * 1024 * 1024)), address=clamd.address)
    with pytest.raises(ScannerUnavailableError):
        scan(io.BytesIO(EICAR), address=f"127.0.0.1:{free_port()}")


def test_received_files_are_scanned_and_the_flagged_ones_recorded(
    world: Any, delivered: dict[str, Attachment]
) -> None:
    statuses = {name: (row.scan_status, row.scan_signature) for name, row in delivered.items()}
    assert statuses == {
        "請求書.com": (Status.INFECTED, "Madoguchi.Test.EICAR.UNOFFICIAL"),
        "書類.zip": (Status.INFECTED, "Madoguchi.Test.EICAR.UNOFFICIAL"),
        "注文書.pdf": (Status.CLEAN, ""),
    }
    with unscoped("test"):
        found = AuditEntry.objects.filter(action=actions.ATTACHMENT_MALWARE_FOUND)
        assert sorted(entry.changes["filename"] for entry in found) == ["書類.zip", "請求書.com"]
        assert {entry.shop_id for entry in found} == {world.tea.id}


def test_a_flagged_file_is_not_served_and_a_supervisor_downloads_it_with_a_reason(
    client: Any, world: Any, delivered: dict[str, Attachment]
) -> None:
    flagged, clean = delivered["請求書.com"], delivered["注文書.pdf"]
    ticket_url, download, release = _urls(flagged)
    client.force_login(world.operator_tea)
    ticket = client.get(ticket_url)
    assert ticket.text.count('data-testid="attachment-scan">マルウェア検出</span>') == 2
    page = client.get(download)
    assert page.status_code == 403 and "streaming_content" not in vars(page)
    assert "Madoguchi.Test.EICAR.UNOFFICIAL" in page.text
    assert 'data-testid="attachment-release"' not in page.text  # an operator gets no override
    assert client.post(release, {"reason": "調査のため"}).status_code == 403
    assert client.get(_urls(clean)[1]).getvalue() == b"%PDF-1.4 clean"

    client.force_login(world.supervisor)
    page = client.get(download)
    assert page.status_code == 403 and 'data-testid="attachment-release"' in page.text
    refused = client.post(release, {"reason": "  "})
    assert refused.status_code == 403 and "ファイルが必要な理由を入力してください。" in refused.text
    response = client.post(release, {"reason": "セキュリティ担当に渡すため"})
    assert response.status_code == 200 and response.getvalue() == EICAR
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    with unscoped("test"):
        entry = AuditEntry.objects.get(action=actions.ATTACHMENT_RELEASED)
        assert entry.actor_id == world.supervisor.id and entry.shop_id == world.tea.id
        assert entry.changes["reason"] == "セキュリティ担当に渡すため"
        assert entry.changes["signature"] == "Madoguchi.Test.EICAR.UNOFFICIAL"
        assert not AuditEntry.objects.filter(
            action=actions.ATTACHMENT_DOWNLOADED, target_id=str(flagged.id)
        ).exists()


def test_another_shops_people_find_no_file(
    client: Any, world: Any, delivered: dict[str, Attachment]
) -> None:
    _, download, release = _urls(delivered["請求書.com"])
    for user in (world.operator_ceramics, world.client_ceramics):
        client.force_login(user)
        assert client.get(download).status_code == 404
        assert client.post(release, {"reason": "x"}).status_code == 404
    client.logout()
    assert client.post(release, {"reason": "x"}).status_code == 302  # to the sign-in page


def test_an_outage_leaves_files_waiting_until_the_scanner_is_back(
    world: Any, clamd: Any, django_capture_on_commit_callbacks: Any, client: Any
) -> None:
    mail_setup(world)
    down = f"127.0.0.1:{free_port()}"
    with scanner(down), django_capture_on_commit_callbacks(execute=True):
        ingest_raw(shop_ids=[world.tea.id], raw=mail_with_files(("a.com", EICAR)), source="imap")
    with in_shop(world.tea.id):
        row = Attachment.objects.get()
        assert row.scan_status == Status.PENDING
        client.force_login(world.operator_tea)
        ticket = client.get(
            reverse("conversations:ticket", args=["tea", row.message.ticket.number])
        )
        assert 'data-testid="attachment-scan">ウイルス検査待ち</span>' in ticket.text
        with scanner(down):
            assert attachments_scan().waiting == 1
        with scanner(clamd.address):
            assert attachments_scan().infected == 1
        row.refresh_from_db()
        assert row.scan_status == Status.INFECTED


def test_without_a_scanner_files_are_not_scanned_and_check_deploy_says_so(
    world: Any, clamd: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mail_setup(world)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_raw(shop_ids=[world.tea.id], raw=mail_with_files(("a.com", EICAR)), source="imap")
    with in_shop(world.tea.id):
        assert Attachment.objects.get().scan_status == Status.NOT_SCANNED
    assert [message.id for message in check_malware_scanner()] == ["madoguchi.W081"]
    with scanner(f"127.0.0.1:{free_port()}"):
        assert [message.id for message in check_malware_scanner()] == ["madoguchi.W081"]
    with scanner(clamd.address):
        assert check_malware_scanner() == []
        call_command("check", "--deploy", "--tag", "security")


def test_a_web_form_file_is_scanned(
    client: Any, web_form: Any, clamd: Any, django_capture_on_commit_callbacks: Any
) -> None:
    document = SimpleUploadedFile(
        "見積書.pdf", b"%PDF-1.4\n" + EICAR, content_type="application/pdf"
    )
    with scanner(clamd.address), django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(), {**fields(), "attachments": [document]})
    assert response.status_code == 200
    with in_shop(web_form.shop_id):
        assert Attachment.objects.get().scan_status == Status.INFECTED
