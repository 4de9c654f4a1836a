"""Cases of the security checklist (docs/security-checklist.md) for the public web form: file
names that try to leave the storage folder (54), empty files (56), stored files' permissions
outside anything served (59) and rate-limit counters kept per shop (63)."""

# ruff: noqa: F811  (the web form tests' fixtures are imported by name)
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from madoguchi.connectors.line.tests.fake_line import PNG
from madoguchi.connectors.webform.models import Submission, WebForm
from madoguchi.conversations.models import Attachment
from madoguchi.tenancy.scoping import unscoped

from .test_webform import _fresh_cache, fields, limits, url, web_form  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../app/settings.png", "settings.png"),
        ("..\\..\\x.png", "x.png"),
        ("/etc/passwd.png", "passwd.png"),
        ("a\x00.png", "a.png"),
        ("CON.png", "_CON.png"),
        ("あ" * 300 + ".png", None),
    ],
)
def test_the_stored_path_never_follows_the_uploaded_name(
    client: Any, world: Any, web_form: WebForm, settings: Any, name: str, shown: str | None
) -> None:
    photo = SimpleUploadedFile(name, PNG, content_type="image/png")
    response = client.post(url(), {**fields(), "attachments": [photo]}, REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 200
    with unscoped("test assertion"):
        attachment = Attachment.objects.get()
    if shown is not None:
        assert attachment.filename == shown
    assert attachment.filename.endswith(".png")
    assert len(attachment.filename) <= 255
    assert not set(attachment.filename) & {"/", "\\", "\x00"}
    # On disk: a random name under the shop's folder inside MEDIA_ROOT, nothing of the input.
    stored = Path(attachment.file.path).resolve()
    media = Path(settings.MEDIA_ROOT).resolve()
    assert stored.is_relative_to(media / "attachments" / str(world.tea.id))
    assert stored.read_bytes() == PNG
    assert re.fullmatch(rf"attachments/{world.tea.id}/[0-9a-f]{{32}}", attachment.file.name)


def test_the_rate_counters_of_one_shop_never_count_for_another(
    client: Any, world: Any, web_form: WebForm
) -> None:
    with unscoped("test setup"):
        WebForm.objects.create(
            shop=world.ceramics,
            public_key="ceramics-form-key",
            allowed_origins="https://aoki.example",
        )
    with limits(WEBFORM_RATE_PER_IP=1, WEBFORM_RATE_PER_ADDRESS=1):
        first = client.post(url(), fields(), REMOTE_ADDR="198.51.100.7")
        assert first.status_code == 200
        # The tea shop's limit for this address and this sender is used up...
        assert client.post(url(), fields(), REMOTE_ADDR="198.51.100.7").status_code == 429
        # ...the ceramics shop's counters are its own: the same visitor is served there.
        other = client.post(url("ceramics-form-key"), fields(), REMOTE_ADDR="198.51.100.7")
        assert other.status_code == 200
    with unscoped("test assertion"):
        shops = sorted(Submission.objects.values_list("shop_id", flat=True))
    assert shops == sorted([world.tea.id, world.ceramics.id])


def test_an_empty_file_is_refused_and_nothing_is_stored(
    client: Any, world: Any, web_form: WebForm
) -> None:
    empty = SimpleUploadedFile("空.png", b"", content_type="image/png")
    response = client.post(
        url() + "?lang=en", {**fields(), "attachments": [empty]}, REMOTE_ADDR="203.0.113.5"
    )
    assert response.status_code in (200, 400)
    assert 'data-testid="ticket-reference"' not in response.text
    with unscoped("test assertion"):
        assert not Attachment.objects.exists()
        assert not Submission.objects.exists()


def test_a_stored_file_is_readable_by_the_app_only_and_never_served(
    client: Any, world: Any, web_form: WebForm, settings: Any
) -> None:
    from django.urls import Resolver404, resolve

    photo = SimpleUploadedFile("箱の写真.png", PNG, content_type="image/png")
    response = client.post(url(), {**fields(), "attachments": [photo]}, REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 200
    with unscoped("test assertion"):
        attachment = Attachment.objects.get()
    mode = Path(attachment.file.path).stat().st_mode & 0o777
    assert mode & 0o007 == 0  # nothing for other users
    assert mode & 0o022 == 0  # written by the owner only
    # No URL serves MEDIA_ROOT: files leave only through the download views' access checks.
    with pytest.raises(Resolver404):
        resolve(f"{settings.MEDIA_URL.rstrip('/')}/{attachment.file.name}")
    assert client.get(f"{settings.MEDIA_URL.rstrip('/')}/{attachment.file.name}").status_code == 404
