"""Write the audit log; called inside the service's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from madoguchi.audit import actions
from madoguchi.audit.models import AuditEntry
from madoguchi.core.db import insert_all

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.tenancy.models import Shop


def audit_entry(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    shop: Shop | None = None,
    changes: dict[str, Any] | None = None,
    ip_address: str | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Return an unsaved entry for `record_many`; `action` must be one of `audit.actions`."""
    if action not in actions.ALL:
        raise ValueError(f"Unknown audit action {action!r}")
    if shop is None and target is not None:
        shop = getattr(target, "shop", None)
    return AuditEntry(
        occurred_at=timezone.now(),
        actor=actor,
        actor_label=actor_label or (actor.email if actor else ""),
        action=action,
        shop=shop,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        changes=changes or {},
        ip_address=ip_address,
    )


def record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    shop: Shop | None = None,
    changes: dict[str, Any] | None = None,
    ip_address: str | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Append one audit entry; `action` must be one of `audit.actions`."""
    entry = audit_entry(
        actor=actor,
        action=action,
        target=target,
        shop=shop,
        changes=changes,
        ip_address=ip_address,
        actor_label=actor_label,
    )
    entry.save(force_insert=True)
    return entry


def record_many(entries: Sequence[AuditEntry]) -> None:
    """Append several entries built by `audit_entry` in one statement, in order."""
    if entries:
        insert_all(entries)
