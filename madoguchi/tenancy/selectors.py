"""Reads of tenancy shaped for the administration pages: workspaces, their shops, engagements."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from madoguchi.core.errors import NotFoundError
from madoguchi.tenancy.access import LEAD_ROLES, Actor, Role
from madoguchi.tenancy.models import Engagement, EngagementInvitation, Shop, Workspace


def leads_some_workspace(actor: Actor) -> bool:
    """Whether the actor is admin or supervisor of some workspace (the menu asks; no query)."""
    return any(role in LEAD_ROLES for role in actor.workspace_roles.values())


def admin_agencies(actor: Actor) -> list[Workspace]:
    """The agencies the actor is admin of, by name."""
    ids = [ws for ws, role in actor.workspace_roles.items() if role == Role.ADMIN]
    return list(
        Workspace.objects.filter(id__in=ids, kind=Workspace.Kind.AGENCY).order_by("name", "id")
    )


class EngagementState:
    UPCOMING = "upcoming"
    ACTIVE = "active"
    ENDED = "ended"


def engagement_state(engagement: Engagement, *, today: dt.date | None = None) -> str:
    day = today or timezone.localdate()
    if engagement.starts_on > day:
        return EngagementState.UPCOMING
    if engagement.ends_on is not None and engagement.ends_on < day:
        return EngagementState.ENDED
    return EngagementState.ACTIVE


@dataclass(frozen=True)
class WorkspaceShop:
    """A shop on the workspace page: owned, or worked through an engagement."""

    shop: Shop
    engagement: Engagement | None
    state: str  # an `EngagementState` for engaged shops, "owned" for the workspace's own
    can_open: bool  # the actor may open the shop's settings page

    @property
    def is_archived(self) -> bool:
        return self.shop.archived_at is not None


@dataclass(frozen=True)
class WorkspaceOverview:
    workspace: Workspace
    role: Role
    shops: list[WorkspaceShop]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_agency(self) -> bool:
        return self.workspace.kind == Workspace.Kind.AGENCY


def workspace_overviews(actor: Actor) -> list[WorkspaceOverview]:
    """The workspaces the actor leads, each with its own shops and the shops it is engaged on.

    Archived shops are listed with their state (the settings page brings them back); engaged
    shops are listed whatever the engagement's state, newest engagement first.
    """
    roles = {ws: role for ws, role in actor.workspace_roles.items() if role in LEAD_ROLES}
    workspaces = list(Workspace.objects.filter(id__in=roles).order_by("name", "id"))
    owned: dict[int, list[Shop]] = {}
    for shop in Shop.objects.filter(workspace_id__in=roles).order_by("name", "id"):
        owned.setdefault(shop.workspace_id, []).append(shop)
    engaged: dict[int, list[Engagement]] = {}
    engagements = (
        Engagement.objects.filter(agency_id__in=roles)
        .select_related("shop")
        .order_by("shop__name", "-starts_on", "-id")
    )
    for engagement in engagements:
        engaged.setdefault(engagement.agency_id, []).append(engagement)
    today = timezone.localdate()
    overviews = []
    for workspace in workspaces:
        rows = [
            WorkspaceShop(shop, None, "owned", actor.is_lead_for(shop.id))
            for shop in owned.get(workspace.id, [])
        ]
        rows += [
            WorkspaceShop(
                engagement.shop,
                engagement,
                engagement_state(engagement, today=today),
                actor.is_lead_for(engagement.shop_id),
            )
            for engagement in engaged.get(workspace.id, [])
        ]
        overviews.append(WorkspaceOverview(workspace, roles[workspace.id], rows))
    return overviews


def shop_engagements(*, actor: Actor, shop: Shop) -> list[Engagement]:
    """The engagements of a shop the actor may see: all for the shop company's members, an
    agency's own for its members (one agency never learns of another's contract)."""
    rows = Engagement.objects.filter(shop=shop).select_related("agency", "shop")
    if shop.workspace_id not in actor.workspace_ids:
        rows = rows.filter(agency_id__in=actor.workspace_ids)
    return list(rows.order_by("-starts_on", "-id"))


def access_engagement(*, actor: Actor, shop: Shop, engagement_id: int) -> Engagement:
    """One of `shop_engagements`, or NotFoundError."""
    rows = Engagement.objects.filter(shop=shop, pk=engagement_id).select_related("agency", "shop")
    if shop.workspace_id not in actor.workspace_ids:
        rows = rows.filter(agency_id__in=actor.workspace_ids)
    engagement = rows.first()
    if engagement is None:
        raise NotFoundError("Engagement not found")
    return engagement


def open_invitations(*, shop: Shop) -> list[EngagementInvitation]:
    """The shop's invitations that no agency accepted and nobody cancelled, still valid."""
    return list(
        EngagementInvitation.objects.filter(
            Q(shop=shop, accepted_at__isnull=True, cancelled_at__isnull=True),
            expires_at__gt=timezone.now(),
        ).select_related("created_by")
    )


def access_invitation(*, shop: Shop, invitation_id: int) -> EngagementInvitation:
    invitation = (
        EngagementInvitation.objects.filter(shop=shop, pk=invitation_id)
        .select_related("shop")
        .first()
    )
    if invitation is None:
        raise NotFoundError("Invitation not found")
    return invitation
