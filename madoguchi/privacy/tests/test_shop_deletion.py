"""Security case 76: deleting a whole shop removes its rows in every app (found through the app
registry) and its files, leaves the audit log and a verifiable record, and is a page of the
shop's admin with a typed confirmation; another shop is untouched."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.privacy.models import ShopDeletion
from madoguchi.privacy.shop_deletion import (
    shop_delete,
    shop_deletion_verify,
    shop_models,
    shop_remaining,
)
from madoguchi.privacy.tests.rows import customer_everywhere
from madoguchi.privacy.tests.test_erasure import _indexed
from madoguchi.search.models import SearchDocument
from madoguchi.search.services import search_index_tickets
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db


def _fill(world: Any) -> tuple[list[str], int]:
    """Rows of the tea shop in every app, indexed; return its files and ceramics' row count."""
    with in_shop(world.tea.id):
        rows = customer_everywhere(world.tea)
        _indexed(rows)
        search_index_tickets([world.tea_ticket.id])
        paths = list(Attachment.objects.values_list("file", flat=True))
    with in_shop(world.ceramics.id):
        search_index_tickets([world.ceramics_ticket.id])
    return paths, _rows_of(world.ceramics)


def _rows_of(shop: Shop) -> int:
    with unscoped("test"):
        return sum(
            model._base_manager.filter(**{field: shop}).count() for model, field in shop_models()
        )


def test_every_app_with_shop_rows_is_covered() -> None:
    labels = {model._meta.label for model, _ in shop_models()}
    assert {
        "conversations.Ticket",
        "conversations.Message",
        "conversations.Attachment",
        "customers.Customer",
        "commerce.Order",
        "mail.RawMail",
        "line.LineWebhook",
        "search.SearchDocument",
        "events.Event",
        "privacy.ErasureRecord",
        "tenancy.Engagement",
    } <= labels
    assert "audit.AuditEntry" not in labels and "privacy.ShopDeletion" not in labels


def test_deleting_a_shop_leaves_no_row_of_it_but_the_audit_and_the_record(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    paths, ceramics_rows = _fill(world)
    assert paths, "the shop has stored files"
    storage = Attachment._meta.get_field("file").storage  # type: ignore[attr-defined]
    assert all(storage.exists(path) for path in paths)
    before = _rows_of(world.tea)
    assert before > 50
    actor = actor_for_user(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        deletion = shop_delete(
            actor=actor, shop=world.tea, reason="契約終了", confirmation=world.tea.slug
        )
    assert sum(deletion.counts.values()) >= before
    assert deletion.file_count == len(paths)
    assert shop_remaining(world.tea) == []
    assert not any(storage.exists(path) for path in paths)
    deletion = shop_deletion_verify(deletion=deletion, file_names=paths)
    assert (deletion.is_verified, deletion.findings) == (True, [])
    with unscoped("test"):
        shop = Shop.objects.get(pk=world.tea.pk)
        assert shop.archived_at is not None
        entry = AuditEntry.objects.get(action="privacy.shop_deleted")
        assert entry.shop_id == shop.pk
        assert entry.changes["digest"] == deletion.digest
        # The search index holds nothing of the shop (its documents and their index entries).
        assert not SearchDocument.objects.filter(shop=shop).exists()
        # The other shop is whole.
        assert Message.objects.filter(ticket=world.ceramics_ticket).exists()
    assert _rows_of(world.ceramics) == ceramics_rows


def test_verification_finds_a_row_that_survived(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    actor = actor_for_user(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        deletion = shop_delete(
            actor=actor, shop=world.tea, reason="契約終了", confirmation=world.tea.slug
        )
    with unscoped("test: a row written after the deletion"):
        Ticket.objects.create(
            shop=world.tea,
            number=1,
            subject="残った",
            customer=world.ceramics_ticket.customer,
            channel="email",
            created_at=deletion.deleted_at,
            last_activity_at=deletion.deleted_at,
        )
    deletion = shop_deletion_verify(deletion=deletion)
    assert deletion.is_verified is False
    assert deletion.findings == ["conversations.ticket: 1"]


def test_only_the_shops_admin_deletes_with_a_reason_and_the_typed_slug(world: Any) -> None:
    for user in (world.supervisor, world.operator_tea, world.client_tea):
        with pytest.raises(PermissionDeniedError):
            shop_delete(actor=actor_for_user(user), shop=world.tea, reason="x", confirmation="tea")
    admin = actor_for_user(world.admin)
    with pytest.raises(ValidationError):
        shop_delete(actor=admin, shop=world.tea, reason=" ", confirmation="tea")
    with pytest.raises(ValidationError):
        shop_delete(actor=admin, shop=world.tea, reason="契約終了", confirmation="ceramics")
    assert not ShopDeletion.objects.exists()
    assert _rows_of(world.tea) > 0


def test_the_agency_admin_deletes_a_shop_in_the_browser(
    client: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(world.admin)
    edit = client.get(reverse("administration:shop_edit", args=["tea"]))
    url = reverse("privacy:shop_delete", args=["tea"])
    assert url in edit.content.decode()
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
    assert page.status_code == 200
    assert "ショップと全データを削除" in page.content.decode()
    wrong = client.post(url, {"reason": "契約終了", "confirmation": "teaa"})
    assert wrong.status_code == 400
    assert not ShopDeletion.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"reason": "契約終了", "confirmation": "tea"}, follow=True)
    assert done.status_code == 200
    deletion = ShopDeletion.objects.get()
    assert deletion.is_verified is True
    assert shop_remaining(world.tea) == []


def test_other_users_and_other_shops(client: Any, world: Any) -> None:
    url = reverse("privacy:shop_delete", args=["tea"])
    client.force_login(world.operator_ceramics)
    assert client.get(url).status_code == 404
    client.force_login(world.operator_tea)
    assert client.get(url).status_code == 403
    client.force_login(world.supervisor)
    assert client.post(url, {"reason": "x", "confirmation": "tea"}).status_code == 403
    assert not ShopDeletion.objects.exists()
