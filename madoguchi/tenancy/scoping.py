"""The one choke point of tenancy: which shops a query may touch.

Every shop-owned model uses `ShopScopedManager`; a query outside an active scope raises
`django_scopes.ScopeError`. Requests enter the scope in `ShopScopeMiddleware`, tasks with
`in_shop(shop_id)`. `unscoped(reason)` is the explicit, greppable escape hatch for system work
that really spans shops (migrations of data, the demo loader, benchmarks).
"""

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.db import models
from django_scopes import scope, scopes_disabled
from django_scopes.manager import DisabledQuerySet
from django_scopes.state import get_scope

_M = TypeVar("_M", bound=models.Model)


class _TenantScopedManager(models.Manager[_M]):
    """Filter every query on one dimension of the active scope; without it every query raises.

    The same rule as django-scopes' `ScopedManager`, written as classes so that `from_queryset`
    and the type checker see them.
    """

    dimension = ""
    # Not `field`: a reverse related manager subclasses this one and sets `self.field`.
    scope_field = ""

    def get_queryset(self) -> models.QuerySet[_M]:
        current = get_scope()
        if not current.get("_enabled", True):
            return super().get_queryset()
        if self.dimension not in current:
            return DisabledQuerySet(self.model, using=self._db, missing_scopes={self.dimension})  # type: ignore[no-any-return]
        ids = current[self.dimension]
        if not isinstance(ids, tuple):
            raise TypeError(f"The {self.dimension} scope must be a tuple of ids; use shop_scope()")
        return super().get_queryset().filter(**{f"{self.scope_field}__in": ids})


class ShopScopedManager(_TenantScopedManager[_M]):
    """For rows owned by a shop (`shop` foreign key)."""

    dimension = "shop"
    scope_field = "shop_id"


class WorkspaceScopedManager(_TenantScopedManager[_M]):
    """For rows owned by a workspace (`workspace` foreign key): shifts, skills, contracts."""

    dimension = "workspace"
    scope_field = "workspace_id"


@contextmanager
def shop_scope(shop_ids: Collection[int], *, workspace_ids: Collection[int] = ()) -> Iterator[None]:
    """Let queries see exactly these shops and workspaces (empty collections see nothing)."""
    # Tuples are essential: django-scopes treats None as "no filter".
    with scope(shop=tuple(shop_ids), workspace=tuple(workspace_ids)):
        yield


@contextmanager
def in_workspace(workspace_id: int) -> Iterator[None]:
    """Re-enter one workspace's scope (no shop rows), as a background task does."""
    with shop_scope((), workspace_ids=(workspace_id,)):
        yield


@contextmanager
def in_shop(shop_id: int) -> Iterator[None]:
    """Re-enter one shop's scope, as a background task does with the id it was given."""
    with shop_scope((shop_id,)):
        yield


@contextmanager
def unscoped(reason: str) -> Iterator[None]:
    """Disable tenant scoping for system work; `reason` documents why at the call site."""
    if not reason:
        raise ValueError("unscoped() needs a reason")
    with scopes_disabled():
        yield


def scope_within(shop_ids: Collection[int]) -> bool:
    """Whether the active shop scope already limits queries to (a subset of) `shop_ids`.

    A selector that restricts to the actor's shops can then leave that filter to the scoped
    manager: the same `shop_id IN (...)` twice makes PostgreSQL misjudge how many rows match.
    """
    current = get_scope()
    if not current.get("_enabled", True) or "shop" not in current:
        return False
    return set(current["shop"]) <= set(shop_ids)
