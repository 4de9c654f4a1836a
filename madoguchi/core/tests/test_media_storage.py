"""Attachments in an S3-compatible bucket (django-storages), against a local S3 server (moto).

Every path that stores, reads or deletes a file goes through the storage API, so the same flows
that run on local disk run on a bucket: a received mail's attachment is stored there and staff
download it through the ticket page (audited; another shop's staff get a 404), a web-form upload
lands there, erasure deletes the object, and the bucket's objects are private.
"""

# ruff: noqa: F811  (the web form tests' fixtures are imported by name)
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled

from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.line.tests.fake_line import PNG
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS, mail_setup
from madoguchi.connectors.webform.tests.test_webform import (  # noqa: F401
    _fresh_cache,
    fields,
    url,
    web_form,
)
from madoguchi.conversations.models import Attachment, Ticket
from madoguchi.core.storage import s3_storage_options
from madoguchi.privacy.erasure import customer_erase, erasure_verify
from madoguchi.privacy.tests.rows import NAME, customer_everywhere
from madoguchi.privacy.tickets import files_delete
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

# moto is a dev dependency (pyproject.toml), so this skip only shows on a broken install; under
# CI=true a skip fails the run.
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (django-storages[s3])")

pytestmark = pytest.mark.django_db

REGION = "ap-northeast-1"
KEY_ID, SECRET = "madoguchi-test", "madoguchi-test-secret"
PREFIX = "media"
PDF = b"%PDF-1.4\n% \xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8\n%%EOF\n"
REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Bucket:
    client: Any
    name: str

    def keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def body(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server (moto's) on a free loopback port for the session."""
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, settings: Any, tmp_path: Path) -> Bucket:
    """A fresh private bucket, and the default storage pointed at it as MEDIA_STORAGE=s3 does."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    name = f"madoguchi-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    settings.MEDIA_ROOT = tmp_path / "media"  # nothing may land here
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_storage_options(
                bucket_name=name,
                endpoint_url=s3_endpoint,
                region_name=REGION,
                access_key=KEY_ID,
                secret_key=SECRET,
                location=PREFIX,
                addressing_style="path",
            ),
        },
    }
    return Bucket(client=client, name=name)


def _mail_with_pdf() -> bytes:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = "佐藤 花子 <hanako@example.com>"
    mail["To"] = TEA_ADDRESS
    mail["Subject"] = "請求書の件"
    mail["Message-ID"] = "<invoice@mail.example.com>"
    mail.set_content("請求書を添付します。")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="請求書.pdf")
    return mail.as_bytes()


@pytest.fixture
def received(world: Any, settings: Any, bucket: Bucket, django_capture_on_commit_callbacks: Any):  # type: ignore[no-untyped-def]
    """A mail with a PDF delivered to the tea shop; return its stored attachment."""
    settings.EMAIL_PORT = 9  # nothing listens: the acknowledgement stays queued
    mail_setup(world)
    with django_capture_on_commit_callbacks(execute=True):
        ingest_raw(shop_ids=[world.tea.id], raw=_mail_with_pdf(), source="imap")
    with scopes_disabled():
        return Attachment.objects.select_related("message__ticket__shop").get(shop=world.tea)


def _download_url(attachment: Attachment) -> str:
    ticket: Ticket = attachment.message.ticket
    return reverse(
        "conversations:ticket_attachment",
        kwargs={
            "shop_slug": ticket.shop.slug,
            "number": ticket.number,
            "attachment_id": attachment.id,
        },
    )


def _downloads() -> list[AuditEntry]:
    with unscoped("test assertion"):
        return list(AuditEntry.objects.filter(action="attachment.downloaded").order_by("id"))


def test_a_received_attachment_is_stored_in_the_bucket_and_staff_download_it(
    english: Any, world: Any, bucket: Bucket, received: Attachment, settings: Any
) -> None:
    key = f"{PREFIX}/{received.file.name}"
    assert received.file.name.startswith(f"attachments/{world.tea.id}/")
    assert "請求書" not in received.file.name
    assert bucket.keys() == [key]
    assert bucket.body(key) == PDF
    assert not Path(settings.MEDIA_ROOT).exists()

    english.force_login(world.operator_tea)
    ticket = received.message.ticket
    page = english.get(
        reverse(
            "conversations:ticket",
            kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number},
        )
    )
    assert page.status_code == 200
    assert _download_url(received) in page.text
    response = english.get(_download_url(received))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(PDF))
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf"
    )
    assert response["Cache-Control"] == "private, no-store"
    (entry,) = _downloads()
    assert (entry.actor_id, entry.shop_id, entry.changes["sha256"]) == (
        world.operator_tea.id,
        world.tea.id,
        hashlib.sha256(PDF).hexdigest(),
    )


def test_another_shops_staff_get_a_404_and_nothing_is_audited(
    english: Any, world: Any, received: Attachment
) -> None:
    english.force_login(world.operator_ceramics)
    assert english.get(_download_url(received)).status_code == 404
    assert _downloads() == []


def test_an_object_missing_from_the_bucket_is_a_404_and_not_audited(
    english: Any, world: Any, bucket: Bucket, received: Attachment
) -> None:
    bucket.client.delete_object(Bucket=bucket.name, Key=f"{PREFIX}/{received.file.name}")
    english.force_login(world.operator_tea)
    assert english.get(_download_url(received)).status_code == 404
    assert _downloads() == []


def test_stored_objects_are_private_and_no_url_is_public(
    bucket: Bucket, received: Attachment, s3_endpoint: str
) -> None:
    key = f"{PREFIX}/{received.file.name}"
    grants = bucket.client.get_object_acl(Bucket=bucket.name, Key=key)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert [grant["Grantee"]["Type"] for grant in grants] == ["CanonicalUser"]
    # Without a signature the server refuses the object.
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{s3_endpoint}/{bucket.name}/{key}", timeout=5)
    assert refused.value.code == 403
    # Were a URL ever asked for, it is signed and expires within a minute.
    signed = received.file.url
    assert "X-Amz-Signature=" in signed
    assert "X-Amz-Expires=60" in signed


def test_a_web_form_upload_is_stored_in_the_bucket(
    client: Any, world: Any, web_form: Any, bucket: Bucket, settings: Any
) -> None:
    photo = SimpleUploadedFile("箱の写真.png", PNG, content_type="image/png")
    response = client.post(url(), {**fields(), "attachments": [photo]}, REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 200
    with unscoped("test assertion"):
        attachment = Attachment.objects.get()
    assert attachment.filename == "箱の写真.png"
    assert bucket.keys() == [f"{PREFIX}/{attachment.file.name}"]
    assert bucket.body(f"{PREFIX}/{attachment.file.name}") == PNG
    assert not Path(settings.MEDIA_ROOT).exists()


def test_erasure_deletes_the_object_and_its_verification_finds_nothing(
    world: Any, bucket: Bucket, django_capture_on_commit_callbacks: Any
) -> None:
    with in_shop(world.tea.id):
        rows = customer_everywhere(world.tea)
    assert bucket.keys() == [f"{PREFIX}/{rows.attachment_paths[0]}"]
    with in_shop(world.tea.id), django_capture_on_commit_callbacks(execute=True):
        erasure = customer_erase(
            actor=actor_for_user(world.supervisor),
            customer=rows.customer,
            reason="本人からの削除依頼（メール）",
            confirmation=NAME,
        )
    assert bucket.keys() == []
    with in_shop(world.tea.id):
        verified = erasure_verify(erasure=erasure)
    assert verified.findings == []


def test_a_store_out_of_reach_is_reported_by_the_delete_not_raised(
    world: Any, received: Attachment, settings: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore: no retries of a refused connection
    options = dict(settings.STORAGES["default"]["OPTIONS"])
    options["endpoint_url"] = f"http://127.0.0.1:{_free_port()}"  # nothing listens
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }
    (error,) = files_delete([received.file.name])
    assert error.startswith(f"{received.file.name}: Could not connect to the endpoint URL")


def _storages(**environment: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import django, json; django.setup()\n"
        "from django.conf import settings\n"
        "print(json.dumps(settings.STORAGES['default']))"
    )
    keep = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "MEDIA_", "DJANGO_SETTINGS_MODULE"))
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**keep, "DJANGO_SETTINGS_MODULE": "madoguchi.config.settings.local", **environment},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_settings_put_media_in_a_bucket_only_when_asked() -> None:
    default = _storages()
    assert default.returncode == 0, default.stderr
    assert json.loads(default.stdout.splitlines()[-1]) == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }
    s3 = _storages(
        MEDIA_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="madoguchi-media",
        AWS_S3_ENDPOINT_URL="https://s3.isk01.sakurastorage.jp",
        AWS_S3_REGION_NAME="jp-north-1",
        MEDIA_S3_PREFIX="/prod/",
        AWS_S3_ADDRESSING_STYLE="path",
    )
    assert s3.returncode == 0, s3.stderr
    assert json.loads(s3.stdout.splitlines()[-1]) == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "madoguchi-media",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 60,
            "file_overwrite": True,
            "signature_version": "s3v4",
            "max_memory_size": 2 * 1024 * 1024,
            "location": "prod",
            "endpoint_url": "https://s3.isk01.sakurastorage.jp",
            "region_name": "jp-north-1",
            "addressing_style": "path",
        },
    }
    wrong = _storages(MEDIA_STORAGE="nfs")
    assert wrong.returncode != 0
    assert "MEDIA_STORAGE must be 'filesystem' or 's3', not 'nfs'" in wrong.stderr
