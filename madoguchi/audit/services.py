"""Write the audit log; called inside the service's transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from madoguchi.audit import actions
from madoguchi.audit.models import AuditEntry

if TYPE_CHECKING:
    from madoguchi.accounts.models import User
    from madoguchi.tenancy.models import Shop


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
    if action not in actions.ALL:
        raise ValueError(f"Unknown audit action {action!r}")
    if shop is None and target is not None:
        shop = getattr(target, "shop", None)
    return AuditEntry.objects.create(
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
