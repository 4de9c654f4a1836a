"""Reads of the audit log: whose entries a reader may see, filtered, a page at a time.

Who reads which entries (ADR 0014):
- an admin of a workspace (agency or shop company) reads the entries of the workspace's shops
  (its own, and those it works under an engagement in force today), the entries without a shop
  by the workspace's members (sign-ins, failed sign-ins under their address, their account's
  changes) and the entries about the workspace itself;
- a client (shop owner) of a shop company reads the entries of the company's own shops, whoever
  wrote them (the agency's staff included); not the members' sign-ins.
Supervisors and operators read none. Anyone else gets NotFoundError (a 404).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone

from madoguchi.audit import actions
from madoguchi.audit.labels import group_q
from madoguchi.audit.models import AuditEntry
from madoguchi.core.errors import NotFoundError
from madoguchi.tenancy.models import Engagement, Membership, Shop, Workspace

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor

PAGE_SIZE = 50
READER_ROLES = frozenset({Membership.Role.ADMIN, Membership.Role.CLIENT})
SIGN_IN_WITHOUT_ACTOR = (actions.USER_LOGIN_FAILED, actions.USER_LOGIN_LOCKED)


@dataclass(frozen=True)
class AuditReach:
    """The entries one reader may see of one workspace."""

    workspace: Workspace
    is_admin: bool
    shops: tuple[Shop, ...]

    @property
    def shop_ids(self) -> tuple[int, ...]:
        return tuple(shop.id for shop in self.shops)

    def entries(self) -> QuerySet[AuditEntry]:
        """Every entry the reader may see, newest first."""
        query = Q(shop_id__in=self.shop_ids)
        if self.is_admin:
            members = Membership.objects.filter(workspace=self.workspace)
            query |= Q(shop__isnull=True, actor_id__in=members.values("user_id"))
            query |= Q(
                shop__isnull=True,
                actor__isnull=True,
                action__in=SIGN_IN_WITHOUT_ACTOR,
                actor_label__in=members.values("user__email"),
            )
            query |= Q(target_type="tenancy.workspace", target_id=str(self.workspace.id))
        return AuditEntry.objects.filter(query).order_by("-occurred_at", "-id")


def readable_workspaces(actor: Actor) -> list[Workspace]:
    """Return the workspaces whose audit log the actor may read, by name."""
    ids = [
        workspace_id for workspace_id, role in actor.workspace_roles.items() if role in READER_ROLES
    ]
    return list(Workspace.objects.filter(id__in=ids).order_by("name", "id"))


def reads_an_audit_log(actor: Actor) -> bool:
    """Whether the actor may read some workspace's audit log (the menu asks; no query)."""
    return any(role in READER_ROLES for role in actor.workspace_roles.values())


def access_audit_log(*, actor: Actor, slug: str | None) -> AuditReach:
    """Return what the actor reads of the workspace `slug` (their first one when None).

    A workspace the actor may not read is a NotFoundError, whether it exists or not.
    """
    workspaces = readable_workspaces(actor)
    workspace = next((w for w in workspaces if slug is None or w.slug == slug), None)
    if workspace is None:
        raise NotFoundError("Workspace not found")
    role = actor.workspace_roles[workspace.id]
    is_admin = role == Membership.Role.ADMIN
    shops = Q(workspace=workspace)
    if is_admin:
        today = timezone.localdate()
        engaged = Engagement.objects.filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=today),
            agency=workspace,
            starts_on__lte=today,
        )
        shops |= Q(id__in=engaged.values("shop_id"))
    return AuditReach(
        workspace=workspace,
        is_admin=is_admin,
        shops=tuple(Shop.objects.filter(shops).order_by("name", "id")),
    )


@dataclass(frozen=True)
class AuditFilters:
    """The page's filters; days are in the time zone active for the request."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    group: str = ""
    actor: str = ""  # part of the actor's email address
    shop_id: int | None = None
    target: str = ""  # part of the target's kind, or its id

    def as_dict(self) -> dict[str, str]:
        """The filters set, as text (kept in the export's audit entry)."""
        values = {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "group": self.group,
            "actor": self.actor,
            "shop": str(self.shop_id) if self.shop_id else "",
            "target": self.target,
        }
        return {key: value for key, value in values.items() if value}


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filtered_entries(reach: AuditReach, filters: AuditFilters) -> QuerySet[AuditEntry]:
    """Return the reader's entries that pass the filters, newest first."""
    entries = reach.entries()
    if filters.date_from:
        entries = entries.filter(occurred_at__gte=_midnight(filters.date_from))
    if filters.date_to:
        entries = entries.filter(occurred_at__lt=_midnight(filters.date_to + dt.timedelta(days=1)))
    if filters.group:
        entries = entries.filter(group_q(filters.group))
    if filters.actor:
        entries = entries.filter(actor_label__icontains=filters.actor)
    if filters.shop_id is not None:
        entries = entries.filter(shop_id=filters.shop_id)
    if filters.target:
        text = filters.target.strip()
        entries = entries.filter(Q(target_type__icontains=text) | Q(target_id=text))
    return entries


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None  # the cursor of the next (older) page, None on the last


def audit_page(reach: AuditReach, filters: AuditFilters, *, before: int | None = None) -> AuditPage:
    """Return one page of entries older than the entry `before` (keyset, newest first)."""
    entries = filtered_entries(reach, filters).select_related("shop")
    if before is not None:
        cursor = AuditEntry.objects.filter(pk=before).values_list("occurred_at", flat=True).first()
        if cursor is not None:
            entries = entries.filter(
                Q(occurred_at__lt=cursor) | Q(occurred_at=cursor, id__lt=before)
            )
    rows = list(entries[: PAGE_SIZE + 1])
    has_more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return AuditPage(entries=rows, next_before=rows[-1].id if has_more else None)


def export_rows(reach: AuditReach, filters: AuditFilters) -> Iterator[AuditEntry]:
    """Every entry that passes the filters, newest first, fetched in chunks."""
    return filtered_entries(reach, filters).select_related("shop").iterator(chunk_size=1000)
