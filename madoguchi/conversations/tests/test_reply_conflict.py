"""Sending over someone else's newer reply asks for confirmation (views and services)."""

import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from madoguchi.conversations.collisions import ReplyConflictError
from madoguchi.conversations.models import Message
from madoguchi.conversations.services import (
    InboundMessage,
    message_note,
    message_reply,
    receive_inbound,
)
from madoguchi.core.testing import factories
from madoguchi.customers.models import ContactIdentity
from madoguchi.customers.services import IdentityInput
from madoguchi.events.models import Event
from madoguchi.operations.models import ReplyDraft
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import in_shop, unscoped

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client(client):
    """A test client that reads English, whatever catalogue is compiled."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def reply_url(ticket):
    return reverse(
        "conversations:ticket_reply",
        kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number},
    )


def page_url(ticket):
    return reverse(
        "conversations:ticket", kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number}
    )


def seen_on(html: str) -> int:
    match = re.search(r'<input type="hidden" name="seen_message" value="(\d+)"', html)
    assert match, "the reply form carries the newest message shown"
    return int(match.group(1))


def reply_as(user, ticket, body):
    with in_shop(ticket.shop_id):
        return message_reply(actor=actor_for_user(user), ticket=ticket, body_text=body)


def outbound(ticket):
    with unscoped("test assertion"):
        return list(
            Message.objects.filter(ticket=ticket, direction="outbound")
            .order_by("id")
            .values_list("author_user_id", "body_text")
        )


def test_the_page_carries_the_newest_message_shown(client, world):
    client.force_login(world.operator_tea)
    with unscoped("test setup"):
        newest = Message.objects.filter(ticket=world.tea_ticket).latest("id").id
    assert seen_on(client.get(page_url(world.tea_ticket)).text) == newest


def test_a_newer_reply_by_someone_else_asks_before_sending(client, world):
    ticket = world.tea_ticket
    client.force_login(world.operator_tea)
    seen = seen_on(client.get(page_url(ticket)).text)
    newer = reply_as(world.supervisor, ticket, "明日発送いたします。")
    with unscoped("test assertion"):
        events_before = Event.objects.count()

    text = "確認して折り返しご連絡します。"
    response = client.post(
        reply_url(ticket), {"body": text, "status": "pending", "seen_message": seen}, **HTMX
    )
    assert response.status_code == 200
    assert response.text.startswith('<div id="ticket-workspace"')
    html = response.text
    assert 'data-testid="reply-conflict"' in html
    when = timezone.localtime(newer.created_at).strftime("%Y-%m-%d %H:%M")
    assert f"{world.supervisor} replied at {when}:" in html
    assert "明日発送いたします。" in html.split('data-testid="reply-conflict"')[1]
    assert re.search(rf">\s*{text}</textarea>", html)  # the text is kept
    assert '<option value="pending" selected>' in html
    assert 'data-testid="send-anyway"' in html
    # Nothing was sent: no message, no event.
    assert outbound(ticket) == [(world.supervisor.id, "明日発送いたします。")]
    with unscoped("test assertion"):
        assert Event.objects.count() == events_before

    # "Send anyway" posts the text with the newest reply shown as seen: it is sent.
    assert seen_on(html) == newer.id
    response = client.post(reply_url(ticket), {"body": text, "seen_message": newer.id})
    assert response.status_code == 302
    assert outbound(ticket)[-1] == (world.operator_tea.id, text)


def test_a_reply_after_the_warning_asks_again(client, world):
    ticket = world.tea_ticket
    client.force_login(world.operator_tea)
    seen = seen_on(client.get(page_url(ticket)).text)
    first = reply_as(world.supervisor, ticket, "一通目")
    response = client.post(reply_url(ticket), {"body": "返信", "seen_message": seen})
    assert seen_on(response.text) == first.id
    reply_as(world.admin, ticket, "二通目")
    response = client.post(reply_url(ticket), {"body": "返信", "seen_message": first.id})
    assert 'data-testid="reply-conflict"' in response.text
    assert "二通目" in response.text.split('data-testid="reply-conflict"')[1]
    assert [body for _, body in outbound(ticket)] == ["一通目", "二通目"]


def test_own_replies_customer_messages_and_notes_do_not_ask(client, world):
    ticket = world.tea_ticket
    client.force_login(world.operator_tea)
    seen = seen_on(client.get(page_url(ticket)).text)
    reply_as(world.operator_tea, ticket, "別タブからの返信")  # the operator's own, elsewhere
    with in_shop(ticket.shop_id):
        message_note(actor=actor_for_user(world.supervisor), ticket=ticket, body_text="メモ")
        receive_inbound(
            InboundMessage(
                shop_id=ticket.shop_id,
                channel=ticket.channel,
                external_id="later-customer-message",
                body_text="追加の質問です。",
                identities=[
                    IdentityInput(kind=ContactIdentity.Kind.EMAIL, value="later@example.jp")
                ],
                ticket_id=ticket.id,
            )
        )
    response = client.post(reply_url(ticket), {"body": "回答します。", "seen_message": seen})
    assert response.status_code == 302
    assert outbound(ticket)[-1] == (world.operator_tea.id, "回答します。")


def test_without_the_seen_field_the_reply_is_sent(client, world):
    ticket = world.tea_ticket
    client.force_login(world.operator_tea)
    reply_as(world.supervisor, ticket, "先の返信")
    response = client.post(reply_url(ticket), {"body": "後の返信"})
    assert response.status_code == 302
    assert outbound(ticket)[-1] == (world.operator_tea.id, "後の返信")


def test_a_trainees_draft_over_a_newer_reply_asks_too(client, world):
    ticket = world.tea_ticket
    with unscoped("test setup"):
        membership = factories.MembershipFactory(
            workspace=world.agency, role=Membership.Role.OPERATOR, is_trainee=True
        )
        factories.ShopAssignmentFactory(membership=membership, shop=world.tea)
    client.force_login(membership.user)
    seen = seen_on(client.get(page_url(ticket)).text)
    newer = reply_as(world.supervisor, ticket, "対応済みです。")
    response = client.post(reply_url(ticket), {"body": "下書きです。", "seen_message": seen})
    assert 'data-testid="reply-conflict"' in response.text
    assert "Submit for approval anyway" in response.text
    with unscoped("test assertion"):
        assert not ReplyDraft.objects.exists()
    response = client.post(reply_url(ticket), {"body": "下書きです。", "seen_message": newer.id})
    assert response.status_code == 302
    with unscoped("test assertion"):
        assert ReplyDraft.objects.get().body_text == "下書きです。"


def test_another_shops_ticket_is_404_and_nothing_is_sent(client, world):
    ticket = world.ceramics_ticket
    reply_as(world.operator_ceramics, ticket, "陶房からの返信")
    client.force_login(world.operator_tea)
    with unscoped("test assertion"):
        before = Message.objects.count(), Event.objects.count()
    response = client.post(reply_url(ticket), {"body": "x", "seen_message": 0})
    assert response.status_code == 404
    assert "陶房からの返信" not in response.text
    with unscoped("test assertion"):
        assert (Message.objects.count(), Event.objects.count()) == before


def test_the_service_refuses_under_the_lock_and_writes_nothing(world):
    ticket = world.tea_ticket
    with unscoped("test setup"):
        seen = Message.objects.filter(ticket=ticket).latest("id").id
    newer = reply_as(world.supervisor, ticket, "先の返信")
    with in_shop(ticket.shop_id), pytest.raises(ReplyConflictError) as raised:
        message_reply(
            actor=actor_for_user(world.operator_tea),
            ticket=ticket,
            body_text="後の返信",
            seen_message_id=seen,
        )
    assert raised.value.newer == [newer]
    assert outbound(ticket) == [(world.supervisor.id, "先の返信")]
