"""Enter the tenant scope for every request: the shops the signed-in user may see, or none;
and the time zone of the shop the page is about."""

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from madoguchi.tenancy.access import Actor, actor_for_user
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import shop_scope


class ShopScopeMiddleware:
    """Compute `request.actor` and run the view inside its shop scope (deny by default)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user if request.user.is_authenticated else None
        actor = actor_for_user(user)
        request.actor = actor  # type: ignore[attr-defined]
        try:
            with shop_scope(actor.shop_ids, workspace_ids=tuple(sorted(actor.workspace_ids))):
                return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        """Show times in the local time of the shop the page is about (its URL or `?shop=`),
        else of the actor's shops when they share one time zone; else in TIME_ZONE. A page
        listing several shops' rows (search) converts each row to its own shop's time."""
        actor: Actor = request.actor  # type: ignore[attr-defined]
        if not actor.shop_ids:
            return
        zones = dict(Shop.objects.filter(id__in=actor.shop_ids).values_list("slug", "time_zone"))
        slug = view_kwargs.get("shop_slug") or request.GET.get("shop", "")
        name = zones.get(slug) if slug in zones else None
        if name is None and len(set(zones.values())) == 1:
            name = next(iter(zones.values()))
        if name:
            timezone.activate(ZoneInfo(name))
