"""Decide what a signed-in user may see and do, shop by shop.

`actor_for_user` is computed once per request (or task) and carried as `request.actor`. Every
object named by user input is fetched through an `access_*` function: a missing object and a
forbidden one give the same `NotFoundError`, which becomes a 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from madoguchi.core.errors import NotFoundError, PermissionDeniedError
from madoguchi.tenancy.models import Engagement, Membership, Shop, ShopAssignment

if TYPE_CHECKING:
    from madoguchi.accounts.models import User

Role = Membership.Role

_RANK = {Role.CLIENT: 0, Role.OPERATOR: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}
STAFF_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR})
LEAD_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})


@dataclass(frozen=True)
class ShopGrant:
    """The strongest role a user holds for one shop, and how they got it."""

    shop_id: int
    role: Role
    is_trainee: bool
    via_engagement: bool


@dataclass(frozen=True)
class Actor:
    """A signed-in user with the shops they may see; an anonymous actor sees nothing."""

    user: User | None
    grants: dict[int, ShopGrant] = field(default_factory=dict)
    workspace_ids: frozenset[int] = frozenset()

    @property
    def shop_ids(self) -> tuple[int, ...]:
        return tuple(sorted(self.grants))

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    def role_for(self, shop_id: int) -> Role | None:
        grant = self.grants.get(shop_id)
        return grant.role if grant else None

    def is_staff_for(self, shop_id: int) -> bool:
        """Whether the user works tickets of this shop (agency or in-house staff)."""
        return self.role_for(shop_id) in STAFF_ROLES

    def is_lead_for(self, shop_id: int) -> bool:
        return self.role_for(shop_id) in LEAD_ROLES

    def is_trainee_for(self, shop_id: int) -> bool:
        """Whether the user's replies in this shop wait for a supervisor's approval."""
        grant = self.grants.get(shop_id)
        return grant is not None and grant.is_trainee and grant.role not in LEAD_ROLES

    def sees_internal_notes(self, shop_id: int) -> bool:
        return self.is_staff_for(shop_id)

    def can_reply(self, shop_id: int) -> bool:
        """Staff reply; a client replies only while no agency works the shop."""
        grant = self.grants.get(shop_id)
        if grant is None:
            return False
        if grant.role in STAFF_ROLES:
            return True
        return not _shop_is_engaged(shop_id)


ANONYMOUS = Actor(user=None)


def _engagements_active_on(day: dt.date) -> Q:
    return Q(starts_on__lte=day) & (Q(ends_on__isnull=True) | Q(ends_on__gte=day))


def _shop_is_engaged(shop_id: int) -> bool:
    today = timezone.localdate()
    return Engagement.objects.filter(_engagements_active_on(today), shop_id=shop_id).exists()


def actor_for_user(user: User | None, *, on: dt.date | None = None) -> Actor:
    """Return the actor for `user`: the shops each active membership reaches, strongest role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    day = on or timezone.localdate()
    memberships = list(Membership.objects.filter(user=user, is_active=True))
    if not memberships:
        return Actor(user=user)
    workspace_ids = {m.workspace_id for m in memberships}
    owned: dict[int, set[int]] = {}
    for shop_id, workspace_id in Shop.objects.filter(workspace_id__in=workspace_ids).values_list(
        "id", "workspace_id"
    ):
        owned.setdefault(workspace_id, set()).add(shop_id)
    engaged: dict[int, set[int]] = {}
    for shop_id, agency_id in Engagement.objects.filter(
        _engagements_active_on(day), agency_id__in=workspace_ids
    ).values_list("shop_id", "agency_id"):
        engaged.setdefault(agency_id, set()).add(shop_id)
    assigned: dict[int, set[int]] = {}
    for membership_id, shop_id in ShopAssignment.objects.filter(
        membership__in=memberships
    ).values_list("membership_id", "shop_id"):
        assigned.setdefault(membership_id, set()).add(shop_id)

    grants: dict[int, ShopGrant] = {}
    for membership in memberships:
        own = owned.get(membership.workspace_id, set())
        via_agency = engaged.get(membership.workspace_id, set())
        role = Role(membership.role)
        if role == Role.CLIENT:
            reachable = own
        elif role == Role.OPERATOR:
            reachable = assigned.get(membership.id, set()) & (own | via_agency)
        else:
            reachable = own | via_agency
        for shop_id in reachable:
            grant = ShopGrant(
                shop_id=shop_id,
                role=role,
                is_trainee=membership.is_trainee,
                via_engagement=shop_id in via_agency,
            )
            current = grants.get(shop_id)
            if current is None or _RANK[grant.role] > _RANK[current.role]:
                grants[shop_id] = grant
    return Actor(user=user, grants=grants, workspace_ids=frozenset(workspace_ids))


def visible_shops(actor: Actor) -> list[Shop]:
    """Return the shops the actor may see, by name."""
    return list(Shop.objects.filter(id__in=actor.shop_ids).order_by("name"))


def access_shop(*, actor: Actor, slug: str) -> Shop:
    """Return the shop named by `slug` if the actor may see it; otherwise raise NotFoundError."""
    shop = Shop.objects.filter(slug=slug, id__in=actor.shop_ids).first()
    if shop is None:
        raise NotFoundError("Shop not found")
    return shop


def access_shop_by_id(*, actor: Actor, shop_id: int) -> Shop:
    """Return the shop with this id if the actor may see it; otherwise raise NotFoundError."""
    if shop_id not in actor.grants:
        raise NotFoundError("Shop not found")
    return Shop.objects.get(id=shop_id)


def require_staff(*, actor: Actor, shop_id: int) -> None:
    """Raise unless the actor works tickets of this shop."""
    if not actor.is_staff_for(shop_id):
        raise PermissionDeniedError("Only support staff may do this.")


def shop_staff(*, shop_id: int) -> list[User]:
    """Return the active people who work tickets of the shop (assignable), by name."""
    from madoguchi.accounts.models import User

    shop = Shop.objects.get(pk=shop_id)
    today = timezone.localdate()
    workspace_ids = {shop.workspace_id}
    workspace_ids.update(
        Engagement.objects.filter(_engagements_active_on(today), shop_id=shop_id).values_list(
            "agency_id", flat=True
        )
    )
    candidates = (
        User.objects.filter(
            is_active=True,
            memberships__workspace_id__in=workspace_ids,
            memberships__is_active=True,
            memberships__role__in=[str(role) for role in STAFF_ROLES],
        )
        .distinct()
        .order_by("display_name", "id")
    )
    return [user for user in candidates if actor_for_user(user, on=today).is_staff_for(shop_id)]
