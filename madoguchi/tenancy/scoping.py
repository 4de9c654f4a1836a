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


class ShopScopedManager(models.Manager[_M]):
    """Filter every query on the active shop scope; without a scope every query raises.

    The same rule as django-scopes' `ScopedManager(shop="shop")`, written as a class so that
    `from_queryset` and the type checker see it.
    """

    def get_queryset(self) -> models.QuerySet[_M]:
        current = get_scope()
        if not current.get("_enabled", True):
            return super().get_queryset()
        if "shop" not in current:
            return DisabledQuerySet(self.model, using=self._db, missing_scopes={"shop"})  # type: ignore[no-any-return]
        shop_ids = current["shop"]
        if not isinstance(shop_ids, tuple):
            raise TypeError("The shop scope must be a tuple of ids; use shop_scope()")
        return super().get_queryset().filter(shop_id__in=shop_ids)


@contextmanager
def shop_scope(shop_ids: Collection[int]) -> Iterator[None]:
    """Let queries see exactly these shops (an empty collection sees nothing)."""
    # A tuple is essential: django-scopes treats None as "no filter".
    with scope(shop=tuple(shop_ids)):
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
