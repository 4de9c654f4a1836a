"""Delete a whole shop's data in every app, with a verifiable record (security checklist 76).

Every model with a foreign key to the shop is found through the app registry (so a new app's
table is covered without a change here) and its rows of the shop are deleted, in an order the
database's PROTECT constraints allow, in one transaction; the search index entries go with their
documents and the stored files after the commit. What stays: the `Shop` row, archived (the
immutable audit log's entries point at it), the audit entries, and a `ShopDeletion` record with
the counts. `shop_deletion_verify` looks again in every one of those tables and in storage.

Backups are outside the application: their expiry window is documented in
docs/deploy/backups.md (35 days).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.audit import actions
from madoguchi.audit.models import AuditEntry
from madoguchi.audit.services import record
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.privacy.models import ShopDeletion
from madoguchi.tenancy.access import Role
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import unscoped

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor

# Rows that stay: the audit log (immutable; it names the shop) and the deletion record itself.
KEPT_MODELS: tuple[type[models.Model], ...] = (AuditEntry, ShopDeletion)


def shop_models() -> list[tuple[type[models.Model], str]]:
    """(model, field name) of every concrete model's foreign key to the shop, except those kept."""
    found = []
    for model in apps.get_models():
        if model in KEPT_MODELS or model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if field.many_to_one and field.related_model is Shop:
                found.append((model, field.name))
    return found


def _rows(model: type[models.Model], field: str, shop: Shop) -> models.QuerySet[Any]:
    return model._base_manager.filter(**{field: shop})


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _file_names(shop: Shop) -> list[str]:
    """The stored files of the shop's rows (every FileField of every model of the shop)."""
    names: list[str] = []
    for model, field in shop_models():
        file_fields = [
            f.name for f in model._meta.concrete_fields if isinstance(f, models.FileField)
        ]
        for file_field in file_fields:
            names.extend(
                name
                for name in _rows(model, field, shop).values_list(file_field, flat=True)
                if name
            )
    return names


def _storage() -> Any:
    from madoguchi.conversations.models import Attachment

    return Attachment._meta.get_field("file").storage


def _unindex(shop: Shop) -> None:
    """Take the shop's search documents out of the full-text index before their rows go."""
    from madoguchi.search import fulltext
    from madoguchi.search.models import SearchDocument
    from madoguchi.search.services import content_tokens

    documents = SearchDocument._base_manager.filter(shop=shop).only(
        "id", "shop_id", "kind", "content"
    )
    fulltext.index_delete([(document.id, content_tokens(document)) for document in documents])


def _delete_rows(shop: Shop) -> dict[str, int]:
    """Delete every row of the shop, retrying models a PROTECT still holds; return the counts."""
    counts: dict[str, int] = {}
    pending = shop_models()
    while pending:
        held = []
        for model, field in pending:
            try:
                with transaction.atomic():
                    _, per_model = _rows(model, field, shop).delete()
            except (ProtectedError, RestrictedError):
                held.append((model, field))
                continue
            for label, count in per_model.items():
                if count:
                    counts[label.lower()] = counts.get(label.lower(), 0) + count
        if len(held) == len(pending):
            names = ", ".join(sorted(_label(model) for model, _ in held))
            raise RuntimeError(f"Rows of the shop are held by each other: {names}")
        pending = held
    return counts


def digest_of(counts: dict[str, int]) -> str:
    return hashlib.sha256(json.dumps(counts, sort_keys=True).encode()).hexdigest()


def shop_delete(*, actor: Actor, shop: Shop, reason: str, confirmation: str) -> ShopDeletion:
    """Delete every row and file of the shop and keep a record (the shop's admins only)."""
    if actor.role_for(shop.id) != Role.ADMIN:
        raise PermissionDeniedError(gettext_noop("Only an admin may delete a shop."))
    reason = reason.strip()
    if not reason:
        raise ValidationError(gettext_noop("Say why the shop is deleted."), field="reason")
    if confirmation.strip() != shop.slug:
        raise ValidationError(
            gettext_noop("Type the shop's slug to confirm."), field="confirmation"
        )
    with unscoped("delete every row of one shop in every app"), transaction.atomic():
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        if ShopDeletion.objects.filter(shop=shop).exists():
            raise ValidationError(gettext_noop("This shop was deleted already."))
        files = _file_names(shop)
        _unindex(shop)
        counts = _delete_rows(shop)
        now = timezone.now()
        shop.archived_at = shop.archived_at or now
        shop.save(update_fields=["archived_at"])
        deletion = ShopDeletion.objects.create(
            shop=shop,
            shop_name=shop.name,
            deleted_by=actor.user,
            deleted_at=now,
            reason=reason,
            counts=counts,
            file_count=len(files),
            digest=digest_of(counts),
        )
        record(
            actor=actor.user,
            action=actions.PRIVACY_SHOP_DELETED,
            target=deletion,
            shop=shop,
            changes={"rows": sum(counts.values()), "files": len(files), "digest": deletion.digest},
        )
        transaction.on_commit(lambda: _delete_files(deletion.pk, files))
    return deletion


def _delete_files(deletion_id: int, names: list[str]) -> None:
    from madoguchi.privacy.tickets import files_delete

    errors = files_delete(names)
    if errors:
        ShopDeletion.objects.filter(pk=deletion_id).update(findings=errors[:100])


def shop_remaining(shop: Shop) -> list[str]:
    """What of the shop is still stored: '<model>: <n> rows' per table, then files."""
    found = []
    with unscoped("verify a shop's deletion in every app"):
        for model, field in shop_models():
            count = _rows(model, field, shop).count()
            if count:
                found.append(f"{_label(model)}: {count}")
    return found


def shop_deletion_verify(
    *, deletion: ShopDeletion, file_names: list[str] | None = None
) -> ShopDeletion:
    """Look again in every table of the shop (and at `file_names` in storage); record it."""
    findings = shop_remaining(deletion.shop)
    storage = _storage()
    findings += [f"file: {name}" for name in file_names or [] if storage.exists(name)]
    ShopDeletion.objects.filter(pk=deletion.pk).update(
        verified_at=timezone.now(), is_verified=not findings, findings=findings
    )
    deletion.refresh_from_db()
    return deletion
