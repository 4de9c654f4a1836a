"""Decide what a signed-in user may see and do, shop by shop.

`actor_for_user` is computed once per request (or task) and carried as `request.actor`. Every
object named by user input is fetched through an `access_*` function: a missing object and a
forbidden one give the same `NotFoundError`, which becomes a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from madoguchi.core.errors import NotFoundError, PermissionDeniedError
from madoguchi.tenancy.models import Engagement, Membership, Shop, ShopAssignment, Workspace

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
    # The role of each active membership, by workspace id (a user has one per workspace).
    workspace_roles: dict[int, Role] = field(default_factory=dict)

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


def _grant_rows_sql(users: int) -> str:
    """One round trip for everything `actors_for_users` needs: the users' active memberships,
    each with the shops it reaches and how (own workspace, active engagement, operator
    assignment).

    The actor is computed on every request; as four ORM queries it was a visible share of the
    inbox's server time, mostly in building the queries. Columns: user id, membership id,
    workspace id, role, trainee flag, source (see `_SOURCE_*`), shop id (NULL for the membership
    row itself). Parameters: the `users` ids and True, four times, the day twice after the third.
    """
    quote = connection.ops.quote_name
    membership = quote(Membership._meta.db_table)
    shop = quote(Shop._meta.db_table)
    engagement = quote(Engagement._meta.db_table)
    assignment = quote(ShopAssignment._meta.db_table)
    head = "SELECT m.user_id, m.id, m.workspace_id, m.role, m.is_trainee"
    mine = f"m.user_id IN ({', '.join(['%s'] * users)}) AND m.is_active = %s"
    return (
        f"{head}, {_SOURCE_MEMBERSHIP}, NULL FROM {membership} m WHERE {mine}"
        f" UNION ALL {head}, {_SOURCE_OWNED}, s.id FROM {membership} m"
        f" JOIN {shop} s ON s.workspace_id = m.workspace_id WHERE {mine}"
        f" UNION ALL {head}, {_SOURCE_ENGAGED}, e.shop_id FROM {membership} m"
        f" JOIN {engagement} e ON e.agency_id = m.workspace_id WHERE {mine}"
        " AND e.starts_on <= %s AND (e.ends_on IS NULL OR e.ends_on >= %s)"
        f" UNION ALL {head}, {_SOURCE_ASSIGNED}, a.shop_id FROM {membership} m"
        f" JOIN {assignment} a ON a.membership_id = m.id WHERE {mine}"
    )


_SOURCE_MEMBERSHIP, _SOURCE_OWNED, _SOURCE_ENGAGED, _SOURCE_ASSIGNED = range(4)


@dataclass
class _MembershipReach:
    workspace_id: int
    role: Role
    is_trainee: bool
    shops: dict[int, set[int]] = field(default_factory=dict)  # source -> shop ids


def actor_for_user(user: User | None, *, on: dt.date | None = None) -> Actor:
    """Return the actor for `user`: the shops each active membership reaches, strongest role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    return actors_for_users([user], on=on)[user.pk]


def actors_for_users(users: Iterable[User], *, on: dt.date | None = None) -> dict[int, Actor]:
    """Return each active user's actor by user id, all in one round trip (lists of people:
    assignable staff, a shop's leads or its clients). An inactive user is `ANONYMOUS`."""
    people = {user.pk: user for user in users}
    actors: dict[int, Actor] = {pk: ANONYMOUS for pk, user in people.items() if not user.is_active}
    ids = [pk for pk in people if pk not in actors]
    if not ids:
        return actors
    day = connection.ops.adapt_datefield_value(on or timezone.localdate())
    mine = (*ids, True)
    with connection.cursor() as cursor:
        cursor.execute(_grant_rows_sql(len(ids)), (*mine, *mine, *mine, day, day, *mine))
        rows = cursor.fetchall()
    reaches: dict[int, dict[int, _MembershipReach]] = {pk: {} for pk in ids}
    for user_id, membership_id, workspace_id, role, is_trainee, source, shop_id in rows:
        reach = reaches[user_id].setdefault(
            membership_id, _MembershipReach(workspace_id, Role(role), bool(is_trainee))
        )
        if shop_id is not None:
            reach.shops.setdefault(source, set()).add(shop_id)
    for pk, user_reaches in reaches.items():
        actors[pk] = _actor(people[pk], user_reaches)
    return actors


def _actor(user: User, reaches: dict[int, _MembershipReach]) -> Actor:
    """The actor of `user` from the shops each of their active memberships reaches."""
    if not reaches:
        return Actor(user=user)

    grants: dict[int, ShopGrant] = {}
    for reach in reaches.values():
        own = reach.shops.get(_SOURCE_OWNED, set())
        via_agency = reach.shops.get(_SOURCE_ENGAGED, set())
        if reach.role == Role.CLIENT:
            reachable = own
        elif reach.role == Role.OPERATOR:
            reachable = reach.shops.get(_SOURCE_ASSIGNED, set()) & (own | via_agency)
        else:
            reachable = own | via_agency
        for shop_id in reachable:
            grant = ShopGrant(
                shop_id=shop_id,
                role=reach.role,
                is_trainee=reach.is_trainee,
                via_engagement=shop_id in via_agency,
            )
            current = grants.get(shop_id)
            if current is None or _RANK[grant.role] > _RANK[current.role]:
                grants[shop_id] = grant
    workspace_ids = frozenset(reach.workspace_id for reach in reaches.values())
    workspace_roles = {reach.workspace_id: reach.role for reach in reaches.values()}
    return Actor(
        user=user, grants=grants, workspace_ids=workspace_ids, workspace_roles=workspace_roles
    )


def visible_shops(actor: Actor) -> list[Shop]:
    """Return the shops the actor may see, by name; archived shops leave these lists."""
    shops = Shop.objects.filter(id__in=actor.shop_ids, archived_at__isnull=True)
    return list(shops.order_by("name"))


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


def shop_staff(*, shop_id: int, leads: bool = False) -> list[User]:
    """Return the active people who work tickets of the shop (assignable), by name; with
    `leads`, only its supervisors and admins."""
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
    people = list(candidates)
    actors = actors_for_users(people, on=today)
    keeps = Actor.is_lead_for if leads else Actor.is_staff_for
    return [user for user in people if keeps(actors[user.pk], shop_id)]


def require_workspace_lead(actor: Actor, workspace_id: int) -> Workspace:
    """Return the workspace if the actor is its admin or supervisor.

    A workspace the actor is no member of is a NotFoundError; another role a PermissionDeniedError.
    """
    role = actor.workspace_roles.get(workspace_id)
    if role is None:
        raise NotFoundError("Workspace not found")
    if role not in LEAD_ROLES:
        raise PermissionDeniedError("Only an admin or a supervisor of the workspace may do this.")
    return Workspace.objects.get(pk=workspace_id)


def require_workspace_admin(actor: Actor, workspace_id: int) -> Workspace:
    """Return the workspace if the actor is its admin (else NotFoundError or PermissionDenied)."""
    role = actor.workspace_roles.get(workspace_id)
    if role is None:
        raise NotFoundError("Workspace not found")
    if role != Role.ADMIN:
        raise PermissionDeniedError("Only an admin of the workspace may do this.")
    return Workspace.objects.get(pk=workspace_id)
