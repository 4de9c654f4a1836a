"""Write the audit log; called inside the service's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Required, TypedDict, Unpack

from django.db import models
from django.utils import timezone

from madoguchi.audit import actions
from madoguchi.audit.models import AuditEntry
from madoguchi.core.db import insert_all

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.tenancy.models import Shop


class EntryFields(TypedDict, total=False):
    """What an audit entry says; `actor` and `action` (one of `audit.actions`) are required."""

    actor: Required[User | None]
    action: Required[str]
    target: models.Model | None
    shop: Shop | None
    changes: dict[str, Any] | None
    ip_address: str | None
    actor_label: str


def audit_entry(**fields: Unpack[EntryFields]) -> AuditEntry:
    """Return an unsaved entry (for `record_many`)."""
    actor, action = fields["actor"], fields["action"]
    if action not in actions.ALL:
        raise ValueError(f"Unknown audit action {action!r}")
    target = fields.get("target")
    shop = fields.get("shop")
    if shop is None and target is not None:
        shop = getattr(target, "shop", None)
    return AuditEntry(
        occurred_at=timezone.now(),
        actor=actor,
        actor_label=fields.get("actor_label") or (actor.email if actor else ""),
        action=action,
        shop=shop,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        changes=fields.get("changes") or {},
        ip_address=fields.get("ip_address"),
    )


def record(**fields: Unpack[EntryFields]) -> AuditEntry:
    """Append one audit entry."""
    entry = audit_entry(**fields)
    entry.save(force_insert=True)
    return entry


def record_many(entries: Sequence[AuditEntry]) -> None:
    """Append several entries built by `audit_entry` in one statement, in order."""
    if entries:
        insert_all(entries)


def audit_export_record(
    *,
    actor: User,
    workspace_id: int,
    filters: dict[str, str],
    count: int,
    ip_address: str | None,
) -> AuditEntry:
    """Write that the actor downloaded the audit log (`audit.exported`): which, how many rows."""
    return record(
        actor=actor,
        action=actions.AUDIT_EXPORTED,
        changes={"workspace": workspace_id, "filters": filters, "rows": count},
        ip_address=ip_address,
    )
