"""Documents of tickets and customers opened by inbound messages go in with their rows."""

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from madoguchi.conversations.models import Channel
from madoguchi.conversations.services import InboundMessage, receive_inbound_many
from madoguchi.customers.services import IdentityInput
from madoguchi.search import services
from madoguchi.search.models import SearchDocument
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db

FIELDS = ("shop_id", "kind", "object_id", "is_internal", "number", "title", "status", "channel",
          "activity_at", "content")  # fmt: skip


def _inbound(world: Any, number: int, **fields: Any) -> InboundMessage:
    return InboundMessage(
        shop_id=world.tea.id,
        channel=Channel.EMAIL,
        external_id=f"new{number}@example.jp",
        subject=f"ｺﾞ注文 {number} について",
        body_text=f"注文番号 {number} の 山田 太郎 です。\n届きません。",
        customer_name="山田 太郎",
        identities=[
            IdentityInput(kind="email", value=f"Taro{number}@Example.jp", display_name="山田")
        ],
        received_at=timezone.now() - dt.timedelta(days=3),
        **fields,
    )


def _documents() -> list[tuple[Any, ...]]:
    with unscoped("test: read the index"):
        return sorted(SearchDocument.objects.values_list(*FIELDS))


def test_new_tickets_and_customers_are_indexed_as_the_indexer_would(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with in_shop(world.tea.id), django_capture_on_commit_callbacks():  # nothing runs after
        results = receive_inbound_many([_inbound(world, 1), _inbound(world, 2)], shop=world.tea)
    expected = {("ticket", r.ticket.id) for r in results} | {
        ("customer", r.ticket.customer_id) for r in results
    }
    written = [row for row in _documents() if (row[1], row[2]) in expected]
    assert {(row[1], row[2]) for row in written} == expected
    # What the after-commit indexer makes of the same rows (it reads them back) is the same.
    services.search_index_tickets([r.ticket.id for r in results])
    services.search_index_customers([r.ticket.customer_id for r in results])
    assert [row for row in _documents() if row in written] == written
    # The customer's activity is their message's time, as the indexer reads it from tickets.
    with unscoped("test"):
        customer_doc = SearchDocument.objects.get(
            kind="customer", object_id=results[0].ticket.customer_id
        )
    assert customer_doc.activity_at == results[0].ticket.last_activity_at


def test_a_failing_index_write_leaves_the_messages_and_indexes_them_after_commit(
    world: Any, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    real_insert = services._insert_documents
    calls: list[int] = []

    def failing_once(documents: Any) -> None:
        calls.append(len(documents))
        if len(calls) <= 2:  # the new tickets, then the new customers
            raise RuntimeError("index is broken")
        real_insert(documents)

    monkeypatch.setattr(services, "_insert_documents", failing_once)
    with in_shop(world.tea.id), django_capture_on_commit_callbacks(execute=True):
        results = receive_inbound_many([_inbound(world, 3)], shop=world.tea)
    assert results[0].is_new_ticket
    with unscoped("test"):
        assert SearchDocument.objects.filter(kind="ticket", object_id=results[0].ticket.id).exists()
        assert SearchDocument.objects.filter(
            kind="customer", object_id=results[0].ticket.customer_id
        ).exists()
