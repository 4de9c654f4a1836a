"""Keep the search index current: one call per changed ticket, customer or order, and a rebuild.

The write services of conversations and customers call these after commit; tickets and
customers they have just created are indexed in the writing transaction instead, from the texts
at hand (`search_index_new_*`). Apps that depend on search (commerce) hand their documents over
through a registered `DocumentSource`, so that search never reads their models. Each call
replaces the object's documents with fresh rows (fresh ids, so id order stays activity order)
and their tokens. A customer whose document changed also refreshes, in place, the documents of the
objects that show the customer (an order carries its customer's name). A failure here never
undoes the write that triggered it; `search_rebuild` repairs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max

from madoguchi.conversations.models import Message, Ticket
from madoguchi.core.commit_batches import on_commit_batched
from madoguchi.core.db import insert_all
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.search import fulltext
from madoguchi.search.models import SearchDocument
from madoguchi.search.normalize import normalize_text, search_form
from madoguchi.search.tokens import index_tokens
from madoguchi.tenancy.scoping import in_shop, unscoped

logger = logging.getLogger(__name__)

Kind = SearchDocument.Kind
MAX_CONTENT_CHARS = 100_000


def content_tokens(document: SearchDocument) -> list[str]:
    """Return the stored tokens of a document, recomputed from its content."""
    return fulltext.document_tokens(
        shop_id=document.shop_id,
        kind=document.kind,
        tokens=index_tokens(search_form(document.content)),
    )


@dataclass(frozen=True)
class _Texts:
    parts: Sequence[str]

    def content(self) -> str:
        return normalize_text(" ".join(part for part in self.parts if part))[:MAX_CONTENT_CHARS]


def _replace_documents(
    *, kind: str, object_ids: Sequence[int], documents: Sequence[SearchDocument]
) -> set[int]:
    """Replace the documents of these objects; return the ids whose content is new or changed."""
    old = list(
        SearchDocument.objects.filter(kind=kind, object_id__in=object_ids).only(
            "id", "shop_id", "kind", "object_id", "is_internal", "content"
        )
    )
    if old:
        fulltext.index_delete([(document.id, content_tokens(document)) for document in old])
        SearchDocument.objects.filter(id__in=[document.id for document in old]).delete()
    _insert_documents(documents)
    return _changed_contents(old, documents)


def _changed_contents(old: Sequence[SearchDocument], new: Sequence[SearchDocument]) -> set[int]:
    def contents(documents: Sequence[SearchDocument]) -> dict[int, set[tuple[bool, str]]]:
        by_object: dict[int, set[tuple[bool, str]]] = {}
        for document in documents:
            by_object.setdefault(document.object_id, set()).add(
                (document.is_internal, document.content)
            )
        return by_object

    before, after = contents(old), contents(new)
    return {object_id for object_id in after if before.get(object_id) != after[object_id]}


_REFRESHED_FIELDS = ("title", "status", "activity_at", "content")


def _refresh_documents(
    *, kind: str, object_ids: Sequence[int], documents: Sequence[SearchDocument]
) -> None:
    """Bring the documents of these objects up to date, keeping the ids of those that exist.

    For a change that is no activity of the object itself (an order's customer renamed): a new
    id would move the object to the top of the newest-first order. Unchanged documents are not
    written; documents of objects given without a new document are dropped.
    """
    old = {
        (document.object_id, document.is_internal): document
        for document in SearchDocument.objects.filter(kind=kind, object_id__in=object_ids)
    }
    fresh: list[SearchDocument] = []
    updated: list[SearchDocument] = []
    stale_tokens: list[tuple[int, list[str]]] = []
    for document in documents:
        current = old.pop((document.object_id, document.is_internal), None)
        if current is None:
            fresh.append(document)
            continue
        if all(getattr(current, f) == getattr(document, f) for f in _REFRESHED_FIELDS):
            continue
        stale_tokens.append((current.id, content_tokens(current)))
        document.id = current.id
        updated.append(document)
    if old:
        fulltext.index_delete(
            [(document.id, content_tokens(document)) for document in old.values()]
        )
        SearchDocument.objects.filter(id__in=[document.id for document in old.values()]).delete()
    if updated:
        fulltext.index_delete(stale_tokens)
        SearchDocument.objects.bulk_update(updated, _REFRESHED_FIELDS)
        fulltext.index_insert([(document.id, content_tokens(document)) for document in updated])
    _insert_documents(fresh)


def _insert_documents(documents: Sequence[SearchDocument]) -> None:
    # One INSERT for all rows: both engines return the new ids, in the order given.
    insert_all(documents)
    fulltext.index_insert([(document.id, content_tokens(document)) for document in documents])


def _ticket_documents(
    tickets: Sequence[Ticket], bodies: Mapping[int, Sequence[str]] | None = None
) -> list[SearchDocument]:
    """Return the documents of these tickets (one query for all their messages).

    `bodies` gives, instead, the texts of the messages of tickets that have no internal notes
    (a ticket just opened by its first message).
    """
    texts: dict[int, tuple[list[str], list[str]]] = {
        ticket.id: ([ticket.subject, *(bodies or {}).get(ticket.id, ())], []) for ticket in tickets
    }
    messages = (
        Message.objects.filter(ticket_id__in=list(texts))
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", "direction", "body_text")
    )
    for ticket_id, direction, body in messages if bodies is None else ():
        public, notes = texts[ticket_id]
        (notes if direction == Message.Direction.NOTE else public).append(body)

    def document(ticket: Ticket, parts: list[str], *, is_internal: bool) -> SearchDocument:
        return SearchDocument(
            shop_id=ticket.shop_id,
            kind=Kind.TICKET,
            object_id=ticket.id,
            is_internal=is_internal,
            number=ticket.number,
            title=ticket.subject[:255],
            status=ticket.status,
            channel=ticket.channel,
            activity_at=ticket.last_activity_at,
            content=_Texts(parts).content(),
        )

    documents = []
    for ticket in tickets:
        public, notes = texts[ticket.id]
        documents.append(document(ticket, public, is_internal=False))
        if notes:
            documents.append(document(ticket, notes, is_internal=True))
    return documents


def _customer_documents(
    customers: Sequence[Customer],
    created: Mapping[int, tuple[Sequence[ContactIdentity], dt.datetime | None]] | None = None,
) -> list[SearchDocument]:
    """Return the documents of these customers (one query for the contacts, one for activity).

    `created` gives, instead, the contacts and the first activity of customers just created.
    """
    ids = [customer.id for customer in customers]
    identities: dict[int, list[tuple[str, str, str, str]]] = {
        customer_id: [] for customer_id in ids
    }
    last_ticket_at: dict[int, dt.datetime | None] = {}
    if created is None:
        for customer_id, kind, value, display_value, display_name in (
            ContactIdentity.objects.filter(customer_id__in=ids)
            .order_by("id")
            .values_list("customer_id", "kind", "value", "display_value", "display_name")
        ):
            identities[customer_id].append((kind, value, display_value, display_name))
        last_ticket_at = dict(
            Ticket.objects.filter(customer_id__in=ids)
            .order_by()
            .values("customer_id")
            .annotate(at=Max("last_activity_at"))
            .values_list("customer_id", "at")
        )
    else:
        for customer_id, (contacts, activity_at) in created.items():
            identities[customer_id] = [
                (row.kind, row.value, row.display_value, row.display_name) for row in contacts
            ]
            last_ticket_at[customer_id] = activity_at
    documents = []
    for customer in customers:
        # Names are typed with and without a space between family and given name (山田 太郎).
        names = [normalize_text(customer.name), normalize_text(customer.name_kana)]
        parts = [*names, *(name.replace(" ", "") for name in names if " " in name)]
        for kind, value, display_value, display_name in identities[customer.id]:
            parts.append(display_value)
            if value != display_value and kind != "line":
                parts.append(value)
            parts.append(display_name)
        documents.append(
            SearchDocument(
                shop_id=customer.shop_id,
                kind=Kind.CUSTOMER,
                object_id=customer.id,
                title=(customer.name or customer.name_kana)[:255],
                activity_at=last_ticket_at.get(customer.id) or customer.updated_at,
                content=_Texts(parts).content(),
            )
        )
    return documents


@dataclass(frozen=True)
class IndexEntry:
    """One object of another app as search should find it: a title and the texts to index."""

    shop_id: int
    object_id: int
    title: str
    texts: Sequence[str]
    activity_at: dt.datetime
    status: str = ""


@dataclass(frozen=True)
class DocumentSource:
    """How search reads one kind of another app's objects.

    `shop_of(id)` runs unscoped and returns the object's shop (None when it is gone);
    `entries(ids)` runs in the shop scope of the objects; `object_ids(shop_id)` runs unscoped
    and returns the ids of one shop's (or every shop's, with None) objects, oldest activity
    first, for `search_rebuild`. A source whose entries show a customer (name, reading) gives
    `objects_of_customers(customer_ids)`: it runs in the shop scope of those customers and
    returns the ids of their objects (one query for all of them), which are refreshed whenever
    one of those customers' documents changes.
    """

    kind: str
    shop_of: Callable[[int], int | None]
    entries: Callable[[Sequence[int]], list[IndexEntry]]
    object_ids: Callable[[int | None], list[int]]
    objects_of_customers: Callable[[Sequence[int]], list[int]] | None = None


_SOURCES: dict[str, DocumentSource] = {}


def register_source(source: DocumentSource) -> None:
    """Let search index `source.kind` (called from the owning app's `ready`)."""
    if source.kind not in (Kind.ORDER,):
        raise ValueError(f"search has no document kind {source.kind!r} for another app")
    _SOURCES[source.kind] = source


def _source(kind: str) -> DocumentSource:
    try:
        return _SOURCES[kind]
    except KeyError:
        raise LookupError(f"no search source registered for {kind!r}") from None


def _entry_document(kind: str, entry: IndexEntry) -> SearchDocument:
    return SearchDocument(
        shop_id=entry.shop_id,
        kind=kind,
        object_id=entry.object_id,
        title=entry.title[:255],
        status=entry.status,
        activity_at=entry.activity_at,
        content=_Texts(entry.texts).content(),
    )


def _drop_documents(kind: str, object_id: int) -> None:
    with unscoped("drop the documents of an object that no longer exists"), transaction.atomic():
        _replace_documents(kind=kind, object_ids=[object_id], documents=[])


# The columns `_ticket_documents` and `_customer_documents` read of their rows.
_DOCUMENT_FIELDS: dict[str, tuple[str, ...]] = {
    Kind.TICKET: ("shop_id", "number", "subject", "status", "channel", "last_activity_at"),
    Kind.CUSTOMER: ("shop_id", "name", "name_kana", "updated_at"),
}


@dataclass
class _Indexed:
    """What `_index_many` did: the ids per shop present and changed, the ids gone."""

    present: dict[int, list[int]] = field(default_factory=dict)
    changed: dict[int, list[int]] = field(default_factory=dict)
    gone: list[int] = field(default_factory=list)


def _index_many(
    kind: str,
    model: type[Ticket] | type[Customer],
    object_ids: Sequence[int],
    documents: Callable[[list[Any]], list[SearchDocument]],
) -> _Indexed:
    """Re-index these objects: one pass per shop, in the order given (so ids follow activity)."""
    ids = list(dict.fromkeys(object_ids))
    indexed = _Indexed()
    # No savepoint of its own inside the after-commit handler's transaction.
    with transaction.atomic(savepoint=False):
        with unscoped("search indexing is given only ids; read the rows, then enter their shop"):
            rows = model.objects.only(*_DOCUMENT_FIELDS[kind]).in_bulk(ids)
            indexed.gone.extend(object_id for object_id in ids if object_id not in rows)
            if indexed.gone:
                _replace_documents(kind=kind, object_ids=indexed.gone, documents=[])
        for object_id in ids:
            if object_id in rows:
                indexed.present.setdefault(rows[object_id].shop_id, []).append(object_id)
        for shop_id, group_ids in indexed.present.items():
            with in_shop(shop_id):
                changed = _replace_documents(
                    kind=kind,
                    object_ids=group_ids,
                    documents=documents([rows[object_id] for object_id in group_ids]),
                )
            if changed:
                indexed.changed[shop_id] = [i for i in group_ids if i in changed]
    return indexed


def search_index_tickets(ticket_ids: Sequence[int]) -> None:
    """Re-index tickets (each: its conversation and, separately, its internal notes)."""
    _index_many(Kind.TICKET, Ticket, ticket_ids, _ticket_documents)


def search_index_customers(customer_ids: Sequence[int]) -> None:
    """Re-index customers (name, reading, contacts, LINE name) and what shows them.

    The objects of the sources that declare `objects_of_customers` (a customer's orders) are
    refreshed for the customers whose document changed, or for every customer of the batch
    when one of them is gone (a merge moved its objects to another customer of the batch).
    A customer re-indexed unchanged (each inbound mail re-indexes its sender) costs nothing more.
    """
    showing = [
        (source, source.objects_of_customers)
        for source in _SOURCES.values()
        if source.objects_of_customers is not None
    ]
    with transaction.atomic(savepoint=False):
        indexed = _index_many(Kind.CUSTOMER, Customer, customer_ids, _customer_documents)
        if not showing:
            return
        customers_by_shop = indexed.present if indexed.gone else indexed.changed
        for shop_id, ids in customers_by_shop.items():
            with in_shop(shop_id):
                for source, objects_of_customers in showing:
                    object_ids = objects_of_customers(ids)
                    if not object_ids:
                        continue
                    _refresh_documents(
                        kind=source.kind,
                        object_ids=object_ids,
                        documents=[
                            _entry_document(source.kind, entry)
                            for entry in source.entries(object_ids)
                        ],
                    )


def search_index_ticket(ticket_id: int) -> None:
    """Re-index one ticket (its conversation and, separately, its internal notes)."""
    search_index_tickets([ticket_id])


def search_index_customer(customer_id: int) -> None:
    """Re-index one customer (name, reading, contacts, LINE name)."""
    search_index_customers([customer_id])


def search_index_object(kind: str, object_id: int) -> None:
    """Re-index one object of a registered source (an order: number, tracking, names)."""
    source = _source(kind)
    with unscoped("search indexing is given only an id; read its shop, then enter it"):
        shop_id = source.shop_of(object_id)
    if shop_id is None:
        _drop_documents(kind, object_id)
        return
    with in_shop(shop_id), transaction.atomic():
        documents = [_entry_document(kind, entry) for entry in source.entries([object_id])]
        _replace_documents(kind=kind, object_ids=[object_id], documents=documents)


def search_index_order(order_id: int) -> None:
    """Re-index one order."""
    search_index_object(Kind.ORDER, order_id)


def _index_objects(kind: str, object_ids: Sequence[int]) -> None:
    for object_id in object_ids:
        search_index_object(kind, object_id)


_INDEXERS: dict[str, Callable[[Sequence[int]], None]] = {
    Kind.TICKET: search_index_tickets,
    Kind.CUSTOMER: search_index_customers,
}


def _index_kind(kind: str, object_ids: Sequence[int]) -> None:
    indexer = _INDEXERS.get(kind)
    if indexer is not None:
        indexer(object_ids)
    else:
        _index_objects(kind, object_ids)


def _index_queued(items: list[tuple[str, int]]) -> None:
    """The after-commit handler: every object a transaction changed, in one transaction.

    Should that fail, each kind is tried again on its own, so that one failing kind does not
    keep the others out of the index.
    """
    by_kind: dict[str, list[int]] = {}
    for kind, object_id in items:
        by_kind.setdefault(kind, []).append(object_id)
    try:
        with transaction.atomic():
            for kind, object_ids in by_kind.items():
                _index_kind(kind, object_ids)
        return
    except Exception:
        if len(by_kind) == 1:
            logger.exception("search: indexing %s failed", by_kind)
            return
    for kind, object_ids in by_kind.items():
        try:
            _index_kind(kind, object_ids)
        except Exception:  # the write already committed; `search_rebuild` repairs the index
            logger.exception("search: indexing %s %s failed", kind, object_ids)


def _index_on_commit(kind: str, object_id: int) -> None:
    # One handler per transaction re-indexes everything it queued, in batches (see
    # core.commit_batches): a pipeline run over many mails indexes them together.
    on_commit_batched("search.index", (kind, object_id), _index_queued)


def search_index_new_tickets(
    tickets: Sequence[Ticket], bodies: Mapping[int, Sequence[str]]
) -> None:
    """Index tickets opened in the current transaction from the texts the caller holds.

    For a batch of inbound mail: the documents go in with the rows that made them, with no
    reading back after the commit. `bodies[ticket.id]` are the texts of the ticket's messages
    (it has no internal notes yet). Runs in a savepoint; should indexing fail, the tickets are
    queued for the after-commit indexer instead (a search failure never undoes the write).
    """
    _index_new(
        Kind.TICKET, [ticket.id for ticket in tickets], lambda: _ticket_documents(tickets, bodies)
    )


def search_index_new_customers(
    customers: Sequence[Customer],
    created: Mapping[int, tuple[Sequence[ContactIdentity], dt.datetime | None]],
) -> None:
    """Index customers created in the current transaction: `created[customer.id]` holds their
    contacts and their first activity (None: their creation). As `search_index_new_tickets`."""
    _index_new(
        Kind.CUSTOMER,
        [customer.id for customer in customers],
        lambda: _customer_documents(customers, created),
    )


def _index_new(
    kind: str, object_ids: Sequence[int], documents: Callable[[], list[SearchDocument]]
) -> None:
    if not object_ids:
        return
    try:
        with transaction.atomic():
            _insert_documents(documents())
    except Exception:
        logger.exception("search: indexing new %s %s failed; queued after commit", kind, object_ids)
        for object_id in object_ids:
            _index_on_commit(kind, object_id)


def search_index_ticket_on_commit(ticket_id: int) -> None:
    """Re-index the ticket once the current transaction commits."""
    _index_on_commit(Kind.TICKET, ticket_id)


def search_index_customer_on_commit(customer_id: int) -> None:
    """Re-index the customer once the current transaction commits."""
    _index_on_commit(Kind.CUSTOMER, customer_id)


def search_index_order_on_commit(order_id: int) -> None:
    """Re-index the order once the current transaction commits."""
    _index_on_commit(Kind.ORDER, order_id)


def _batched(ids: Iterable[int], size: int = 500) -> Iterable[list[int]]:
    batch: list[int] = []
    for object_id in ids:
        batch.append(object_id)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def search_rebuild(shop_id: int | None = None) -> dict[str, int]:
    """Rebuild the documents of one shop (or all shops), oldest activity first; return counts."""
    counts = {"tickets": 0, "customers": 0, **{f"{kind}s": 0 for kind in _SOURCES}}
    with unscoped("search_rebuild spans the shops it is asked to rebuild"):
        documents = SearchDocument.objects.all()
        tickets = Ticket.objects.order_by("last_activity_at", "id")
        customers = Customer.objects.order_by("updated_at", "id")
        if shop_id is not None:
            documents = documents.filter(shop_id=shop_id)
            tickets = tickets.filter(shop_id=shop_id)
            customers = customers.filter(shop_id=shop_id)
        with transaction.atomic():
            if shop_id is None:
                fulltext.index_clear()
                SearchDocument.objects.all().delete()
            else:
                for batch in _batched(list(documents.values_list("id", flat=True))):
                    old = list(SearchDocument.objects.filter(id__in=batch))
                    fulltext.index_delete([(doc.id, content_tokens(doc)) for doc in old])
                documents.delete()
        for batch in _batched(list(customers.values_list("id", flat=True))):
            with transaction.atomic():
                rows = Customer.objects.filter(id__in=batch).order_by("updated_at", "id")
                _insert_documents(_customer_documents(list(rows)))
            counts["customers"] += len(batch)
        for kind, source in _SOURCES.items():
            for batch in _batched(source.object_ids(shop_id)):
                with transaction.atomic():
                    _insert_documents([_entry_document(kind, e) for e in source.entries(batch)])
                counts[f"{kind}s"] += len(batch)
        for batch in _batched(list(tickets.values_list("id", flat=True))):
            with transaction.atomic():
                rows = Ticket.objects.filter(id__in=batch).order_by("last_activity_at", "id")
                _insert_documents(_ticket_documents(list(rows)))
            counts["tickets"] += len(batch)
    return counts


# Reading personal data ---------------------------------------------------------------------------


def search_customers_shown_record(
    *, user: Any, query: str, hits: Sequence[Any], ip_address: str | None
) -> None:
    """Write which customers the search page showed (`customers.searched`): one entry per
    request, none when it showed no customer. `hits` are the customer group's `SearchHit`s;
    the entry names the shop when they are all of one shop."""
    if not hits:
        return
    from madoguchi.audit import actions
    from madoguchi.audit.services import record

    shop_ids = sorted({hit.shop.id for hit in hits})
    record(
        actor=user,
        action=actions.CUSTOMERS_SEARCHED,
        shop=hits[0].shop if len(shop_ids) == 1 else None,
        changes={
            "page": "search",
            "query": query[:200],
            "customers": [hit.object_id for hit in hits],
            "shops": shop_ids,
        },
        ip_address=ip_address,
    )
