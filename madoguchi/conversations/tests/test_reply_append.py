"""A reply sent on an answered ticket from its page: the page is appended to, not re-rendered.

Through the test client with real rows. The whole workspace comes back whenever more than the
timeline changes (first reply, a new status, a template, a reply not sent, no `seen_message`).
"""

import re

import pytest
from django.urls import reverse

from madoguchi.connectors.chat.models import ChatConversation
from madoguchi.connectors.chat.tests.builders import conversation_on
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.services import message_note, message_reply
from madoguchi.core.testing import factories
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

HTMX = {"HTTP_HX_REQUEST": "true"}


def reply_url(ticket):
    return reverse(
        "conversations:ticket_reply",
        kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number},
    )


@pytest.fixture
def answered(world):
    """A chat ticket of the tea shop with a conversation, answered once; then the customer wrote.

    Returns (ticket, the reply the page showed last, the customer's later message).
    """
    with in_shop(world.tea.id):
        ticket = factories.TicketFactory(shop=world.tea, channel="chat", subject="配送について")
        factories.MessageFactory(ticket=ticket, channel="chat", body_text="いつ届きますか")
        conversation_on(ticket, public_id="chat-append")
        first = message_reply(
            actor=actor_for_user(world.operator_tea), ticket=ticket, body_text="確認します"
        )
        later = factories.MessageFactory(
            ticket=ticket, channel="chat", body_text="<b>急いで</b>います"
        )
        ticket.refresh_from_db()
    return ticket, first, later


def appended_ids(response):
    """The ids of the messages the answer appends to the timeline, in order."""
    match = re.search(
        r'<ol hx-swap-oob="beforeend:#ticket-timeline">(.*?)</ol>', response.text, re.S
    )
    assert match, "no timeline append"
    return [int(value) for value in re.findall(r'data-message-id="(\d+)"', match.group(1))]


def seen_value(response):
    return int(re.search(r'name="seen_message" value="(\d+)"', response.text).group(1))


def test_a_reply_on_an_answered_ticket_appends_what_the_page_lacks(client, world, answered):
    ticket, first, later = answered
    with in_shop(world.tea.id):
        note = message_note(
            actor=actor_for_user(world.supervisor), ticket=ticket, body_text="社内メモ"
        )
    client.force_login(world.operator_tea)
    response = client.post(
        reply_url(ticket),
        {"body": "明日お届けします", "status": "", "seen_message": str(first.id)},
        **HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#reply-composer"
    assert response["HX-Reswap"] == "outerHTML"
    assert 'id="ticket-workspace"' not in response.text
    assert 'data-testid="properties-form"' not in response.text
    with unscoped("test assertion"):
        reply = Message.objects.filter(ticket=ticket, direction="outbound").latest("id")
    assert reply.body_text == "明日お届けします"
    # The customer's later message, the colleague's note and the reply, oldest first.
    assert appended_ids(response) == [later.id, note.id, reply.id]
    assert "&lt;b&gt;急いで&lt;/b&gt;います" in response.text
    # The composer is empty and remembers the newest message the page now shows.
    assert response.text.lstrip().startswith('<form class="composer" id="reply-composer"')
    assert seen_value(response) == reply.id
    assert re.search(r'<textarea name="body"[^>]*>\s*</textarea>', response.text)
    # The notice replaces the old one, out of band.
    assert '<div id="ticket-flash" hx-swap-oob="true">' in response.text
    assert "flash__item--success" in response.text
    # More than one message: a customer's message may be split out, as on the whole page.
    assert 'data-testid="split-form"' in response.text


def test_the_client_of_an_in_house_shop_gets_no_internal_note_appended(client, world, answered):
    ticket, first, later = answered
    with in_shop(world.tea.id):
        note = message_note(
            actor=actor_for_user(world.supervisor), ticket=ticket, body_text="社内メモ"
        )
    with unscoped("test setup"):
        world.tea.engagements.all().delete()  # the shop answers its customers itself
    client.force_login(world.client_tea)
    response = client.post(
        reply_url(ticket), {"body": "店主です", "seen_message": str(first.id)}, **HTMX
    )
    assert response["HX-Retarget"] == "#reply-composer"
    ids = appended_ids(response)
    assert later.id in ids and note.id not in ids
    assert "社内メモ" not in response.text


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"status": "pending"}, "a new status"),
        ({"seen_message": ""}, "no seen message"),
    ],
)
def test_a_reply_that_changes_more_than_the_timeline_gets_the_whole_workspace(
    client, world, answered, data, why
):
    ticket, first, _later = answered
    client.force_login(world.operator_tea)
    posted = {"body": "承知しました", "seen_message": str(first.id), **data}
    response = client.post(reply_url(ticket), posted, **HTMX)
    assert response.status_code == 200, why
    assert response.text.startswith('<div id="ticket-workspace"'), why
    assert "HX-Retarget" not in response, why


def test_the_first_reply_gets_the_whole_workspace(client, world):
    client.force_login(world.operator_tea)
    with unscoped("test setup"):
        Ticket.objects.filter(pk=world.tea_ticket.pk).update(status="open")
        seen = Message.objects.get(ticket=world.tea_ticket).id
    response = client.post(
        reply_url(world.tea_ticket), {"body": "確認します", "seen_message": str(seen)}, **HTMX
    )
    assert response.text.startswith('<div id="ticket-workspace"')


def test_a_reply_that_was_not_sent_gets_the_whole_workspace_with_its_banner(
    client, world, answered
):
    ticket, first, _later = answered
    with unscoped("test setup"):
        ChatConversation.objects.filter(tickets=ticket).delete()
    client.force_login(world.operator_tea)
    with pytest.MonkeyPatch.context() as patch:
        # Sent at once, as after a commit, so that the failure is known to the view.
        patch.setattr(
            "madoguchi.connectors.chat.sending.transaction.on_commit", lambda func: func()
        )
        response = client.post(
            reply_url(ticket), {"body": "届きますか", "seen_message": str(first.id)}, **HTMX
        )
    assert response.text.startswith('<div id="ticket-workspace"')
    assert 'data-testid="failed-replies"' in response.text


def test_a_reply_to_another_shops_ticket_is_404_and_appends_nothing(client, world, answered):
    ticket, first, _later = answered
    client.force_login(world.operator_ceramics)
    with unscoped("test assertion"):
        before = Message.objects.count()
    response = client.post(reply_url(ticket), {"body": "x", "seen_message": str(first.id)}, **HTMX)
    assert response.status_code == 404
    assert "ticket-timeline" not in response.text
    with unscoped("test assertion"):
        assert Message.objects.count() == before
