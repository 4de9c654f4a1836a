from typing import Any

from django.core.management import call_command

from madoguchi.conversations.models import Channel
from madoguchi.conversations.services import InboundMessage, message_note, receive_inbound
from madoguchi.customers.services import IdentityInput
from madoguchi.search.models import SearchDocument
from madoguchi.search.selectors import search
from madoguchi.search.services import search_rebuild
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, shop_scope


def hits(user: Any, query: str) -> tuple[list[int], list[int]]:
    actor = actor_for_user(user)
    with shop_scope(actor.shop_ids):
        results = search(actor=actor, query=query)
    return (
        [hit.object_id for hit in results.tickets.hits],
        [hit.object_id for hit in results.customers.hits],
    )


def inbound(world: Any, body: str, external_id: str, ticket_id: int | None = None) -> Any:
    with in_shop(world.tea.id):
        return _receive(world, body, external_id, ticket_id)


def _receive(world: Any, body: str, external_id: str, ticket_id: int | None) -> Any:
    return receive_inbound(
        InboundMessage(
            shop_id=world.tea.id,
            channel=Channel.EMAIL,
            external_id=external_id,
            subject="商品の交換について",
            body_text=body,
            customer_name="佐藤花子",
            identities=[IdentityInput(kind="email", value="Hanako@example.jp")],
            ticket_id=ticket_id,
        )
    )


def test_write_services_index_after_commit(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        result = inbound(world, "サイズ違いのため交換を希望します。", "m1@example.jp")
    ticket, customer = result.ticket, result.ticket.customer
    assert hits(world.operator_tea, "交換") == ([ticket.id], [])
    assert hits(world.operator_tea, "佐藤") == ([], [customer.id])
    assert hits(world.operator_tea, "hanako@example.jp") == ([], [customer.id])

    with django_capture_on_commit_callbacks(execute=True), in_shop(world.tea.id):
        actor = actor_for_user(world.operator_tea)
        message_note(actor=actor, ticket=ticket, body_text="在庫なし")
    assert hits(world.operator_tea, "在庫") == ([ticket.id], [])
    assert hits(world.client_tea, "在庫") == ([], [])


def test_documents_are_replaced_not_added(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ticket = inbound(world, "交換希望", "m1@example.jp").ticket
    with django_capture_on_commit_callbacks(execute=True):
        inbound(world, "返品でも構いません", "m2@example.jp", ticket_id=ticket.id)
    with in_shop(world.tea.id):
        kinds = sorted(SearchDocument.objects.values_list("kind", "object_id"))
    customer_id = ticket.customer_id
    assert kinds == [("customer", customer_id), ("ticket", ticket.id)]
    assert hits(world.operator_tea, "交換 返品") == ([ticket.id], [])


def test_rebuild_indexes_existing_rows_and_drops_stale_ones(world: Any) -> None:
    # The world fixture's tickets were created without the services: not indexed yet.
    assert hits(world.operator_tea, "届きません") == ([], [])
    assert search_rebuild() == {"tickets": 2, "customers": 2, "orders": 0}
    assert hits(world.operator_tea, "お茶") == ([world.tea_ticket.id], [])
    assert hits(world.operator_ceramics, "ひび") == ([world.ceramics_ticket.id], [])
    assert hits(world.operator_ceramics, "お茶") == ([], [])
    search_rebuild(world.tea.id)
    assert hits(world.operator_tea, "お茶") == ([world.tea_ticket.id], [])


def test_rebuild_command_for_one_shop(world: Any, capsys: Any) -> None:
    call_command("search_rebuild", "--shop", "ceramics")
    assert capsys.readouterr().out.strip() == '{"tickets": 1, "customers": 1, "orders": 0}'
    assert hits(world.operator_ceramics, "ひび") == ([world.ceramics_ticket.id], [])
    assert hits(world.operator_tea, "お茶") == ([], [])


def test_token_migration_recuts_the_index_from_the_stored_content(world: Any) -> None:
    from importlib import import_module

    from django.db import connection

    migration = import_module("madoguchi.search.migrations.0004_shop_qualified_tokens")
    search_rebuild()
    assert hits(world.operator_tea, "お茶") == ([world.tea_ticket.id], [])
    # Put the index in a state the new tokens cannot read: emptied (as old tokens would be).
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
        else:
            cursor.execute("UPDATE search_searchdocument SET search_vector = ''")
    assert hits(world.operator_tea, "お茶") == ([], [])

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection  # type: ignore[attr-defined]
    migration.forward(None, editor)
    assert hits(world.operator_tea, "お茶") == ([world.tea_ticket.id], [])
    assert hits(world.operator_ceramics, "お茶") == ([], [])
