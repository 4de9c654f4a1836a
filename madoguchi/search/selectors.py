"""The one search read: what the actor may see, grouped by kind, newest activity first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.safestring import SafeString
from django_scopes.exceptions import ScopeError
from django_scopes.state import get_scope

from madoguchi.conversations.models import Channel, Ticket
from madoguchi.search import fulltext
from madoguchi.search.highlight import contains_all, highlight_original, snippet
from madoguchi.search.models import SearchDocument
from madoguchi.search.query import ParsedQuery, parse_query
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Shop

Kind = SearchDocument.Kind
DEFAULT_LIMIT = 25
# With phrases to check, candidates are read a batch at a time; this many at most per kind.
MAX_CANDIDATES = 2000


@dataclass(frozen=True)
class SearchFilters:
    shop_id: int | None = None
    status: str = ""
    channel: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @property
    def is_ticket_only(self) -> bool:
        """Status and channel belong to tickets: with either set, only tickets are listed."""
        return bool(self.status or self.channel)


@dataclass(frozen=True)
class SearchHit:
    kind: str
    object_id: int
    shop: Shop
    number: int | None
    title: str
    title_html: SafeString
    snippet_html: SafeString
    status: str
    channel: str
    activity_at: dt.datetime
    is_internal: bool

    @property
    def status_label(self) -> str:
        return str(Ticket.Status(self.status).label) if self.status in Ticket.Status.values else ""

    @property
    def channel_label(self) -> str:
        return str(Channel(self.channel).label) if self.channel in Channel.values else ""

    @property
    def reference(self) -> str:
        return f"#{self.shop.ticket_prefix}-{self.number}" if self.number is not None else ""


@dataclass
class SearchGroup:
    kind: str
    hits: list[SearchHit] = field(default_factory=list)
    has_more: bool = False


@dataclass
class SearchResults:
    query: str
    parsed: ParsedQuery
    groups: dict[str, SearchGroup]

    @property
    def tickets(self) -> SearchGroup:
        return self.groups[Kind.TICKET]

    @property
    def customers(self) -> SearchGroup:
        return self.groups[Kind.CUSTOMER]

    @property
    def orders(self) -> SearchGroup:
        return self.groups[Kind.ORDER]

    @property
    def total(self) -> int:
        return sum(len(group.hits) for group in self.groups.values())


def _scoped_shop_ids(actor: Actor) -> tuple[int, ...]:
    """Return the actor's shops that the active tenant scope also allows."""
    current = get_scope()
    shop_ids = set(actor.shop_ids)
    if current.get("_enabled", True):
        if "shop" not in current:
            raise ScopeError("search needs an active shop scope")
        shop_ids &= set(current["shop"])
    return tuple(sorted(shop_ids))


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _scope_for(
    kind: str, actor: Actor, shop_ids: tuple[int, ...], filters: SearchFilters
) -> fulltext.Scope:
    return fulltext.Scope(
        kind=kind,
        staff_shop_ids=tuple(s for s in shop_ids if actor.sees_internal_notes(s)),
        client_shop_ids=tuple(s for s in shop_ids if not actor.sees_internal_notes(s)),
        status=filters.status if kind == Kind.TICKET else "",
        channel=filters.channel if kind == Kind.TICKET else "",
        active_from=_local_midnight(filters.date_from) if filters.date_from else None,
        active_before=(
            _local_midnight(filters.date_to + dt.timedelta(days=1)) if filters.date_to else None
        ),
    )


def _matching_rows(
    parsed: ParsedQuery, scope: fulltext.Scope, limit: int
) -> tuple[list[fulltext.Candidate], bool]:
    """Return up to `limit` matching documents (one per object), newest first, and whether
    there are more."""
    accepted: list[fulltext.Candidate] = []
    seen: set[int] = set()
    verify = parsed.needs_verification
    batch = limit * 4 if verify else limit + 1
    before_id: int | None = None
    scanned = 0
    while scanned < MAX_CANDIDATES:
        rows = fulltext.candidates(parsed, scope, before_id=before_id, count=batch)
        scanned += len(rows)
        for row in rows:
            if row.object_id in seen:
                continue
            if verify and not contains_all(row.content, parsed.required):
                continue
            if len(accepted) == limit:
                return accepted, True
            seen.add(row.object_id)
            accepted.append(row)
        if len(rows) < batch:
            break
        before_id = rows[-1].id
    return accepted, False


def _hit(row: fulltext.Candidate, shop: Shop, parsed: ParsedQuery) -> SearchHit:
    return SearchHit(
        kind=row.kind,
        object_id=row.object_id,
        shop=shop,
        number=row.number,
        title=row.title,
        title_html=highlight_original(row.title, parsed.required),
        snippet_html=snippet(row.content, parsed.required),
        status=row.status,
        channel=row.channel,
        activity_at=row.activity_at,
        is_internal=row.is_internal,
    )


def search(
    *,
    actor: Actor,
    query: str,
    filters: SearchFilters | None = None,
    limit: int = DEFAULT_LIMIT,
) -> SearchResults:
    """Return the tickets, customers and orders matching `query` that `actor` may see.

    Only the actor's shops inside the active scope are searched (one shop with
    `filters.shop_id`); internal notes are searched only where the actor is staff. Each group
    holds at most `limit` hits, newest activity first, with escaped, highlighted snippets.
    """
    filters = filters or SearchFilters()
    parsed = parse_query(query)
    all_kinds = [Kind.TICKET, Kind.CUSTOMER, Kind.ORDER]
    kinds = [Kind.TICKET] if filters.is_ticket_only else all_kinds
    groups: dict[str, SearchGroup] = {kind: SearchGroup(kind=kind) for kind in all_kinds}
    results = SearchResults(query=query, parsed=parsed, groups=groups)
    shop_ids = _scoped_shop_ids(actor)
    if filters.shop_id is not None:
        shop_ids = tuple(s for s in shop_ids if s == filters.shop_id)
    if parsed.is_empty or not shop_ids:
        return results
    with fulltext.match_settings():  # one transaction and settings round trip for all kinds
        found = {
            kind: _matching_rows(parsed, _scope_for(kind, actor, shop_ids, filters), limit)
            for kind in kinds
        }
    hit_shop_ids = {row.shop_id for rows, _ in found.values() for row in rows}
    shops = Shop.objects.in_bulk(hit_shop_ids) if hit_shop_ids else {}
    for kind, (rows, has_more) in found.items():
        hits = [_hit(row, shops[row.shop_id], parsed) for row in rows]
        groups[kind] = SearchGroup(kind=kind, hits=hits, has_more=has_more)
    return results
