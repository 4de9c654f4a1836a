"""The one menu: every page a signed-in role may use, filled by the apps in their `ready()`.

An app registers its pages with `register_menu_entry`; the context processor `menu` builds the
signed-in user's menu for the current shop (the page's `shop_slug`, else `?shop=`, else the last
shop the user opened, else their first) without a query beyond the shop list. Counts that need
queries (approvals waiting, failed sends) are registered with `register_menu_count` and loaded
after the page by htmx (`core:menu_counts`), so no page pays for them.

Each entry says who sees it through `visible(actor, shop_id)`; the menu shows an entry only when
it returns true, so the menu never links a page that would answer 403 or 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor

Visibility = Callable[["Actor", int], bool]
WorkspaceVisibility = Callable[["Actor"], bool]
Count = Callable[["Actor", int], int]

# Sections, in menu order; an entry names one.
WORK, CUSTOMERS, COMMERCE, OPERATIONS, REPORTS, CHANNELS, SHOP_SETTINGS, WORKSPACE = (
    "work",
    "customers",
    "commerce",
    "operations",
    "reports",
    "channels",
    "shop_settings",
    "workspace",
)
SECTION_ORDER = (
    WORK,
    CUSTOMERS,
    COMMERCE,
    OPERATIONS,
    REPORTS,
    CHANNELS,
    SHOP_SETTINGS,
    WORKSPACE,
)


@dataclass(frozen=True)
class MenuEntry:
    """A page of the menu: `url_name` takes the shop's slug unless `per_shop` is false."""

    section: str
    label: str | Promise
    url_name: str
    visible: Visibility | None = None
    workspace_visible: WorkspaceVisibility | None = None
    per_shop: bool = True
    order: int = 100


@dataclass(frozen=True)
class MenuCount:
    """A number that needs attention (replies to approve, failed sends), linked to its page."""

    name: str
    label: str | Promise
    url_name: str
    count: Count


_ENTRIES: list[MenuEntry] = []
_SECTION_LABELS: dict[str, str | Promise] = {}
_COUNTS: dict[str, MenuCount] = {}


def register_menu_section(section: str, label: str | Promise) -> None:
    _SECTION_LABELS[section] = label


def register_menu_entry(entry: MenuEntry) -> None:
    """Add a page to the menu (idempotent per section and url name)."""
    _ENTRIES[:] = [
        e for e in _ENTRIES if (e.section, e.url_name) != (entry.section, entry.url_name)
    ]
    _ENTRIES.append(entry)


def register_menu_count(entry: MenuCount) -> None:
    """Register a count shown in the menu when it is above zero; `count` returns 0 for a
    user who may not open its page."""
    _COUNTS[entry.name] = entry


@dataclass(frozen=True)
class MenuLink:
    label: str | Promise
    url: str
    is_current: bool


@dataclass(frozen=True)
class MenuSection:
    key: str
    label: str | Promise
    links: list[MenuLink]

    @property
    def is_current(self) -> bool:
        return any(link.is_current for link in self.links)


LAST_SHOP_SESSION_KEY = "menu_shop_id"


def current_shop_id(request: HttpRequest, actor: Actor, slugs: dict[str, int]) -> int | None:
    """The shop the page is about, or the one the user opened last, or their first."""
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("shop_slug") if match else None
    if slug and slug in slugs:
        return slugs[slug]
    chosen = request.GET.get("shop")
    if chosen and chosen in slugs:
        # Only an explicit choice (the switcher, `?shop=`) is remembered: a session write on
        # every shop page would cost each page a query.
        if request.session.get(LAST_SHOP_SESSION_KEY) != slugs[chosen]:
            request.session[LAST_SHOP_SESSION_KEY] = slugs[chosen]
        return slugs[chosen]
    remembered = request.session.get(LAST_SHOP_SESSION_KEY)
    if remembered in actor.grants:
        return int(remembered)
    return actor.shop_ids[0] if actor.shop_ids else None


def build_menu(
    request: HttpRequest, actor: Actor, shop_id: int | None, shop_slug: str | None
) -> list[MenuSection]:
    """Return the sections and links the actor may use, for the shop in `shop_id`."""
    path = request.path
    sections: dict[str, list[tuple[int, MenuLink]]] = {}
    for entry in _ENTRIES:
        if entry.per_shop:
            if shop_id is None or shop_slug is None:
                continue
            if entry.visible is not None and not entry.visible(actor, shop_id):
                continue
            args: list[Any] = [shop_slug]
        else:
            if entry.workspace_visible is not None and not entry.workspace_visible(actor):
                continue
            args = []
        try:
            url = reverse(entry.url_name, args=args)
        except NoReverseMatch:
            continue
        is_current = path == url or (url != "/" and path.startswith(url))
        sections.setdefault(entry.section, []).append(
            (entry.order, MenuLink(entry.label, url, is_current))
        )
    return [
        MenuSection(
            key,
            _SECTION_LABELS.get(key, key),
            [link for _, link in sorted(links, key=lambda x: x[0])],
        )
        for key in SECTION_ORDER
        if (links := sections.get(key))
    ]


@dataclass(frozen=True)
class CountLink:
    label: str | Promise
    url: str
    value: int


def menu_counts(actor: Actor, shop_id: int, shop_slug: str) -> list[CountLink]:
    """Return the registered counts above zero for the shop (the fragment loaded after a page)."""
    links = []
    for entry in _COUNTS.values():
        value = entry.count(actor, shop_id)
        if value > 0:
            links.append(CountLink(entry.label, reverse(entry.url_name, args=[shop_slug]), value))
    return links


def menu(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `menu_sections`, `menu_shops` and `menu_shop` for the signed-in user."""
    actor = getattr(request, "actor", None)
    if actor is None or not actor.is_authenticated:
        return {}
    if getattr(request, "sign_in_step_pending", False):
        return {}  # signed in by password, the second step still to take (accounts.middleware)
    return {"menu": _LazyMenu(request, actor)}


class _LazyMenu:
    """Built on first use in a template, so fragments that never show the menu pay nothing."""

    def __init__(self, request: HttpRequest, actor: Actor) -> None:
        self._request = request
        self._actor = actor
        self._built: dict[str, Any] | None = None

    def _build(self) -> dict[str, Any]:
        if self._built is None:
            from madoguchi.tenancy.models import Shop

            # Archived shops leave the switcher; the page of one (its settings) still gets its
            # shop's menu, so that it can be brought back.
            match = getattr(self._request, "resolver_match", None)
            page_slug = match.kwargs.get("shop_slug") if match else None
            shops = list(
                Shop.objects.filter(id__in=self._actor.shop_ids)
                .filter(Q(archived_at__isnull=True) | Q(slug=page_slug or ""))
                .order_by("name")
                .only("id", "slug", "name", "archived_at")
            )
            slugs = {shop.slug: shop.id for shop in shops}
            shop_id = current_shop_id(self._request, self._actor, slugs)
            shop = next((s for s in shops if s.id == shop_id), None)
            if shop is None and shops:
                shop = next((s for s in shops if s.archived_at is None), None)
                shop_id = shop.id if shop else None
            shops = [s for s in shops if s.archived_at is None]
            self._built = {
                "shops": shops,
                "shop": shop,
                "sections": build_menu(
                    self._request, self._actor, shop_id, shop.slug if shop else None
                ),
            }
        return self._built

    @property
    def shops(self) -> list[Any]:
        return list(self._build()["shops"])

    @property
    def shop(self) -> Any:
        return self._build()["shop"]

    @property
    def sections(self) -> list[MenuSection]:
        return list(self._build()["sections"])
