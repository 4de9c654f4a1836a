"""The one choke point of tenancy: which shops a query may touch.

Every shop-owned model uses `ShopScopedManager`; a query outside an active scope raises
`django_scopes.ScopeError`. Requests enter the scope in `ShopScopeMiddleware`, tasks with
`in_shop(shop_id)`. `unscoped(reason)` is the explicit, greppable escape hatch for system work
that really spans shops (migrations of data, the demo loader, benchmarks).
"""

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models
from django_scopes import ScopedManager, scope, scopes_disabled


def ShopScopedManager(manager_class: type[models.Manager[Any]] = models.Manager) -> Any:  # noqa: N802
    """Return a manager that filters on the active shop scope and refuses to work without one."""
    return ScopedManager(_manager_class=manager_class, shop="shop")


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
