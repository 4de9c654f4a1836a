"""Merge two tickets of one customer; split a customer's message into a new ticket."""

import pytest
from django.urls import reverse

from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.services import ticket_merge, ticket_split
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.testing import factories
from madoguchi.events.models import Event
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped


@pytest.fixture
def second_tea_ticket(world):
    """A second ticket of the tea ticket's customer, with two customer messages."""
    with unscoped("test setup"):
        ticket = factories.TicketFactory(
            shop=world.tea, customer=world.tea_ticket.customer, subject="のし紙について"
        )
        factories.MessageFactory(ticket=ticket, body_text="のし紙をお願いできますか。")
        factories.MessageFactory(ticket=ticket, body_text="別件ですが、領収書もほしいです。")
    return ticket


def _events(ticket, type):
    with unscoped("test assertion"):
        return list(
            Event.objects.filter(ticket=ticket, type=type).values_list("payload", flat=True)
        )


def test_merge_moves_messages_and_closes_the_source(world, second_tea_ticket):
    source, target = second_tea_ticket, world.tea_ticket
    with in_shop(world.tea.id):
        moved = list(
            Message.objects.filter(ticket=source).order_by("id").values_list("id", flat=True)
        )
        ticket_merge(actor=actor_for_user(world.operator_tea), source=source, target=target)
        source.refresh_from_db()
        assert source.status == "closed"
        assert (
            list(Message.objects.filter(ticket=target).order_by("id").values_list("id", flat=True))[
                -2:
            ]
            == moved
        )
        notes = list(Message.objects.filter(ticket=source).values_list("direction", "body_text"))
        # Written in the shop's language (Japanese), whoever merges.
        assert notes == [("note", f"{target.reference}に統合しました(2件のメッセージを移動)。")]
    payload = {
        "source_id": source.id,
        "source_number": source.number,
        "target_id": target.id,
        "target_number": target.number,
        "message_ids": moved,
    }
    assert _events(source, "ticket.merged") == [payload]
    assert _events(target, "ticket.merged") == [payload]


def test_merge_refuses_other_customers_and_itself(world, second_tea_ticket):
    actor = actor_for_user(world.operator_tea)
    with unscoped("test setup"):
        stranger_ticket = factories.TicketFactory(shop=world.tea, subject="別の客")
    with in_shop(world.tea.id):
        with pytest.raises(ValidationError, match="same customer"):
            ticket_merge(actor=actor, source=stranger_ticket, target=world.tea_ticket)
        with pytest.raises(ValidationError, match="itself"):
            ticket_merge(actor=actor, source=world.tea_ticket, target=world.tea_ticket)
    with unscoped("test"), pytest.raises(ValidationError, match="same shop"):
        ticket_merge(
            actor=actor_for_user(world.admin), source=world.ceramics_ticket, target=world.tea_ticket
        )
    with in_shop(world.tea.id), pytest.raises(PermissionDeniedError):
        ticket_merge(
            actor=actor_for_user(world.client_tea),
            source=second_tea_ticket,
            target=world.tea_ticket,
        )


def test_split_moves_one_message_to_a_new_ticket(world, second_tea_ticket):
    with in_shop(world.tea.id):
        message = Message.objects.filter(ticket=second_tea_ticket).order_by("id").last()
        new = ticket_split(actor=actor_for_user(world.operator_tea), message=message)
        message.refresh_from_db()
        assert message.ticket_id == new.id
        assert (new.customer_id, new.subject, new.status) == (
            second_tea_ticket.customer_id,
            "別件ですが、領収書もほしいです。",
            "new",
        )
        assert Message.objects.filter(ticket=second_tea_ticket).count() == 1
        last = Message.objects.get(ticket=second_tea_ticket)
        with pytest.raises(ValidationError, match="at least one"):
            ticket_split(actor=actor_for_user(world.operator_tea), message=last)
    payload = {
        "message_id": message.id,
        "source_id": second_tea_ticket.id,
        "source_number": second_tea_ticket.number,
        "new_id": new.id,
        "new_number": new.number,
    }
    assert _events(second_tea_ticket, "ticket.split") == [payload]
    assert _events(new, "ticket.split") == [payload]


def _url(name, ticket):
    return reverse(f"conversations:{name}", args=[ticket.shop.slug, ticket.number])


def test_merge_button_on_the_ticket_page(client, world, second_tea_ticket):
    client.force_login(world.operator_tea)
    page = client.get(_url("ticket", second_tea_ticket)).content.decode()
    assert 'data-testid="merge-form"' in page
    response = client.post(
        _url("ticket_merge", second_tea_ticket), {"into": str(world.tea_ticket.number)}
    )
    assert response.status_code == 302
    assert response["Location"] == _url("ticket", world.tea_ticket)
    with unscoped("test assertion"):
        assert Ticket.objects.get(pk=second_tea_ticket.pk).status == "closed"


def test_split_button_on_the_ticket_page(client, world, second_tea_ticket):
    client.force_login(world.operator_tea)
    page = client.get(_url("ticket", second_tea_ticket)).content.decode()
    assert page.count('data-testid="split-form"') == 2
    with unscoped("test setup"):
        message = Message.objects.filter(ticket=second_tea_ticket).order_by("id").last()
    response = client.post(_url("ticket_split", second_tea_ticket), {"message": str(message.id)})
    assert response.status_code == 302
    with unscoped("test assertion"):
        new = Ticket.objects.get(pk=Message.objects.get(pk=message.pk).ticket_id)
    assert response["Location"] == _url("ticket", new)


def test_other_shop_cannot_merge_or_split(client, world, second_tea_ticket):
    client.force_login(world.operator_ceramics)
    with unscoped("test setup"):
        message = Message.objects.filter(ticket=second_tea_ticket).order_by("id").last()
    merge = client.post(
        _url("ticket_merge", second_tea_ticket), {"into": str(world.tea_ticket.number)}
    )
    split = client.post(_url("ticket_split", second_tea_ticket), {"message": str(message.id)})
    assert (merge.status_code, split.status_code) == (404, 404)
    # A message of another ticket named on this ticket's URL is not found either.
    client.force_login(world.operator_tea)
    with unscoped("test setup"):
        other = Message.objects.filter(ticket=world.tea_ticket).first()
    assert (
        client.post(_url("ticket_split", second_tea_ticket), {"message": str(other.id)}).status_code
        == 404
    )
    with unscoped("test assertion"):
        assert Ticket.objects.get(pk=second_tea_ticket.pk).status == "new"
        assert Message.objects.filter(ticket=second_tea_ticket).count() == 2


def test_timelines_name_the_other_ticket(client, world, second_tea_ticket):
    with in_shop(world.tea.id):
        ticket_merge(
            actor=actor_for_user(world.operator_tea),
            source=second_tea_ticket,
            target=world.tea_ticket,
        )
    client.force_login(world.operator_tea)
    source_page = client.get(_url("ticket", second_tea_ticket), HTTP_ACCEPT_LANGUAGE="en")
    target_page = client.get(_url("ticket", world.tea_ticket), HTTP_ACCEPT_LANGUAGE="en")
    operator = world.operator_tea.display_name
    assert f"{operator} merged this ticket into {world.tea_ticket.reference}" in (
        source_page.content.decode()
    )
    assert f"{operator} merged {second_tea_ticket.reference} into this ticket" in (
        target_page.content.decode()
    )


def test_an_answer_on_the_merged_thread_reaches_the_target(world, second_tea_ticket):
    from madoguchi.conversations.services import InboundMessage, receive_inbound
    from madoguchi.customers.services import IdentityInput

    with unscoped("test setup"):
        third = factories.TicketFactory(
            shop=world.tea, customer=world.tea_ticket.customer, subject="三件目"
        )
        factories.MessageFactory(ticket=third)
    actor = actor_for_user(world.operator_tea)
    with in_shop(world.tea.id):
        # third -> second -> tea ticket: an answer on the third's thread follows both merges.
        ticket_merge(actor=actor, source=third, target=second_tea_ticket)
        ticket_merge(actor=actor, source=second_tea_ticket, target=world.tea_ticket)
        result = receive_inbound(
            InboundMessage(
                shop_id=world.tea.id,
                channel="email",
                external_id="<answer@x>",
                body_text="追伸です。",
                identities=[IdentityInput(kind="email", value="answer@example.jp")],
                ticket_id=third.id,
            )
        )
    assert (result.is_new_ticket, result.ticket.id) == (False, world.tea_ticket.id)
