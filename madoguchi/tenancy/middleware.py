"""Enter the tenant scope for every request: the shops the signed-in user may see, or none."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import shop_scope


class ShopScopeMiddleware:
    """Compute `request.actor` and run the view inside its shop scope (deny by default)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user if request.user.is_authenticated else None
        actor = actor_for_user(user)
        request.actor = actor  # type: ignore[attr-defined]
        with shop_scope(actor.shop_ids, workspace_ids=tuple(sorted(actor.workspace_ids))):
            return self.get_response(request)
