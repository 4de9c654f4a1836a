"""Keep the search index current: one call per changed ticket or customer, and a rebuild.

The write services of conversations and customers call these after commit. Each call replaces
the object's documents with fresh rows (fresh ids, so id order stays activity order) and their
tokens. A failure here never undoes the write that triggered it; `search_rebuild` repairs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from madoguchi.conversations.models import Message, Ticket
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
) -> None:
    old = list(SearchDocument.objects.filter(kind=kind, object_id__in=object_ids))
    fulltext.index_delete([(document.id, content_tokens(document)) for document in old])
    SearchDocument.objects.filter(id__in=[document.id for document in old]).delete()
    _insert_documents(documents)


def _insert_documents(documents: Sequence[SearchDocument]) -> None:
    entries = []
    for document in documents:
        document.save(force_insert=True)
        entries.append((document.id, content_tokens(document)))
    fulltext.index_insert(entries)


def _ticket_documents(ticket: Ticket) -> list[SearchDocument]:
    public: list[str] = [ticket.subject]
    notes: list[str] = []
    for direction, body in (
        Message.objects.filter(ticket=ticket)
        .order_by("created_at", "id")
        .values_list("direction", "body_text")
    ):
        (notes if direction == Message.Direction.NOTE else public).append(body)

    def document(texts: list[str], *, is_internal: bool) -> SearchDocument:
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
            content=_Texts(texts).content(),
        )

    documents = [document(public, is_internal=False)]
    if notes:
        documents.append(document(notes, is_internal=True))
    return documents


def _customer_document(customer: Customer) -> SearchDocument:
    # Names are typed with and without a space between family and given name (山田 太郎).
    names = [normalize_text(customer.name), normalize_text(customer.name_kana)]
    parts = [*names, *(name.replace(" ", "") for name in names if " " in name)]
    for identity in ContactIdentity.objects.filter(customer=customer).order_by("id"):
        parts.append(identity.display_value)
        if identity.value != identity.display_value and identity.kind != "line":
            parts.append(identity.value)
        parts.append(identity.display_name)
    last_ticket_at = Ticket.objects.filter(customer=customer).aggregate(at=Max("last_activity_at"))
    activity_at = last_ticket_at["at"] or customer.updated_at
    return SearchDocument(
        shop_id=customer.shop_id,
        kind=Kind.CUSTOMER,
        object_id=customer.id,
        title=(customer.name or customer.name_kana)[:255],
        activity_at=activity_at,
        content=_Texts(parts).content(),
    )


def _shop_of(model: type[Ticket] | type[Customer], object_id: int) -> int | None:
    with unscoped("search indexing is given only an id; read its shop, then enter it"):
        shop_id: int | None = (
            model.objects.filter(pk=object_id).values_list("shop_id", flat=True).first()
        )
    return shop_id


def _drop_documents(kind: str, object_id: int) -> None:
    with unscoped("drop the documents of an object that no longer exists"), transaction.atomic():
        _replace_documents(kind=kind, object_ids=[object_id], documents=[])


def search_index_ticket(ticket_id: int) -> None:
    """Re-index one ticket (its conversation and, separately, its internal notes)."""
    shop_id = _shop_of(Ticket, ticket_id)
    if shop_id is None:
        _drop_documents(Kind.TICKET, ticket_id)
        return
    with in_shop(shop_id), transaction.atomic():
        ticket = Ticket.objects.get(pk=ticket_id)
        _replace_documents(
            kind=Kind.TICKET, object_ids=[ticket.id], documents=_ticket_documents(ticket)
        )


def search_index_customer(customer_id: int) -> None:
    """Re-index one customer (name, reading, contacts, LINE name)."""
    shop_id = _shop_of(Customer, customer_id)
    if shop_id is None:
        _drop_documents(Kind.CUSTOMER, customer_id)
        return
    with in_shop(shop_id), transaction.atomic():
        customer = Customer.objects.get(pk=customer_id)
        _replace_documents(
            kind=Kind.CUSTOMER, object_ids=[customer.id], documents=[_customer_document(customer)]
        )


def _safely(index: Callable[[int], None], object_id: int) -> None:
    try:
        index(object_id)
    except Exception:  # the write already committed; `search_rebuild` repairs the index
        logger.exception("search: indexing %s(%s) failed", index.__name__, object_id)


def search_index_ticket_on_commit(ticket_id: int) -> None:
    """Re-index the ticket once the current transaction commits."""
    transaction.on_commit(lambda: _safely(search_index_ticket, ticket_id))


def search_index_customer_on_commit(customer_id: int) -> None:
    """Re-index the customer once the current transaction commits."""
    transaction.on_commit(lambda: _safely(search_index_customer, customer_id))


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
    counts = {"tickets": 0, "customers": 0}
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
                _insert_documents([_customer_document(customer) for customer in rows])
            counts["customers"] += len(batch)
        for batch in _batched(list(tickets.values_list("id", flat=True))):
            with transaction.atomic():
                rows = Ticket.objects.filter(id__in=batch).order_by("last_activity_at", "id")
                _insert_documents([doc for ticket in rows for doc in _ticket_documents(ticket)])
            counts["tickets"] += len(batch)
    return counts
