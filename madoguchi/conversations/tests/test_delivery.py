"""Replies say what happened to them; a failed one stays visible until handled (issue #13)."""

import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.chat.tests.builders import conversation_on
from madoguchi.connectors.mail.models import MailAddress, OutboundMail
from madoguchi.connectors.mail.tests.mail_builders import mail_setup
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.outbound import delivery_status_set
from madoguchi.conversations.services import ticket_merge, ticket_update
from madoguchi.core.testing import factories
from madoguchi.customers.models import ContactIdentity
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def ja_client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    return client


def ticket_url(ticket, suffix=""):
    name = "conversations:ticket" + (f"_{suffix}" if suffix else "")
    return reverse(name, kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number})


def delivery_url(ticket, message):
    return reverse(
        "conversations:ticket_delivery",
        kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number, "message_id": message.id},
    )


def flashes(response):
    return re.findall(r'class="flash__item flash__item--(\w+)">([^<]*)<', response.text)


def inbox_references(client, **params):
    response = client.get(reverse("conversations:inbox"), params)
    return re.findall(r'data-testid="ticket-row" data-reference="([^"]+)"', response.text)


def the_reply(ticket):
    with unscoped("test assertion"):
        return Message.objects.get(ticket=ticket, direction="outbound")


def flag(ticket):
    with unscoped("test assertion"):
        return Ticket.objects.get(pk=ticket.pk).has_failed_delivery


def with_email(world):
    with unscoped("test setup"):
        ContactIdentity.objects.create(
            shop=world.tea,
            customer=world.tea_ticket.customer,
            kind=ContactIdentity.Kind.EMAIL,
            value="hanako@example.jp",
        )


def failed_reply(world, *, error="The mail server refused the mail.", status="open"):
    """A reply on the tea ticket whose mail failed (composed, so it may be sent again)."""
    mail_setup(world)
    with_email(world)
    with unscoped("test setup"):
        Ticket.objects.filter(pk=world.tea_ticket.pk).update(status=status)
        message = factories.MessageFactory(
            ticket=world.tea_ticket,
            direction="outbound",
            author_user=world.operator_tea,
            body_text="明日発送いたします。",
            delivery_status="queued",
        )
        OutboundMail.objects.create(
            shop=world.tea,
            ticket=world.tea_ticket,
            message=message,
            internet_message_id="failed-1@madoguchi.test",
            from_address="support@tea.example.jp",
            to_address="hanako@example.jp",
            subject="Re: お茶が届きません",
            raw=b"Subject: test\r\n\r\nbody",
            status=OutboundMail.Status.FAILED,
            attempts=1,
            last_error="SMTPRecipientsRefused: 550 5.1.1 User unknown",
            created_at=timezone.now(),
        )
    with in_shop(world.tea.id):
        delivery_status_set(message_id=message.id, status="failed", error=error)
    return message


# The flash says what happened -------------------------------------------------------------------


def test_a_mail_reply_is_said_to_be_queued(client, world):
    mail_setup(world)
    with_email(world)
    client.force_login(world.operator_tea)
    response = client.post(ticket_url(world.tea_ticket, "reply"), {"body": "確認します。"})
    assert response.status_code == 302
    page = client.get(ticket_url(world.tea_ticket))
    assert flashes(page) == [
        (
            "success",
            "Your reply is queued and will be sent shortly. If sending fails, the ticket shows it.",
        )
    ]
    assert 'data-status="queued" data-testid="delivery-status">Waiting to be sent<' in page.text
    assert the_reply(world.tea_ticket).delivery_status == "queued"
    assert flag(world.tea_ticket) is False


def test_a_reply_the_channel_refuses_at_once_says_why_in_japanese(ja_client, world):
    with unscoped("test setup"):
        MailAddress.objects.create(shop=world.tea, address="support@tea.example.jp")
    ja_client.force_login(world.operator_tea)
    response = ja_client.post(
        ticket_url(world.tea_ticket, "reply"), {"body": "確認します。", "status": "solved"}
    )
    assert response.status_code == 302
    reply = the_reply(world.tea_ticket)
    assert (reply.delivery_status, reply.delivery_error) == (
        "failed",
        "The shop has no verified sender address.",
    )
    page = ja_client.get(ticket_url(world.tea_ticket))
    assert flashes(page) == [
        (
            "error",
            "返信は保存しましたが、送信できませんでした: "
            "ショップに送信元確認済みのアドレスがありません。",
        )
    ]
    assert (
        'data-status="failed" data-testid="delivery-status">'
        "送信失敗: ショップに送信元確認済みのアドレスがありません。<"
    ) in page.text
    # Solved in the same step, the ticket still shows the failure: banner, view and marker.
    banner = page.text.split('data-testid="failed-replies"')[1].split("</section>")[0]
    assert "<strong>お客様に届いていない返信が 1 件あります。</strong>" in banner
    assert (
        'data-testid="failed-reply-reason">ショップに送信元確認済みのアドレスがありません。<'
        in banner
    )
    # Nothing was composed, so there is nothing to send again: only "handled" is offered.
    assert 'data-testid="failed-reply-retry"' not in banner
    assert 'data-testid="failed-reply-handled">対応済みにする<' in banner
    assert flag(world.tea_ticket) is True
    assert inbox_references(ja_client, view="undelivered") == ["#TEA-1"]
    solved = ja_client.get(reverse("conversations:inbox"), {"view": "solved"})
    assert 'data-testid="undelivered-marker">送信失敗<' in solved.text


def test_a_chat_reply_is_queued_until_the_commit_pushes_it(client, world):
    with unscoped("test setup"):
        Ticket.objects.filter(pk=world.tea_ticket.pk).update(channel="chat")
        world.tea_ticket.refresh_from_db()
    with in_shop(world.tea.id):
        conversation_on(world.tea_ticket, public_id="chat-queued")
    client.force_login(world.operator_tea)
    response = client.post(ticket_url(world.tea_ticket, "reply"), {"body": "確認します。"}, **HTMX)
    # The push runs after the commit (never reached here: the test database wraps the request).
    assert the_reply(world.tea_ticket).delivery_status == "queued"
    assert flashes(response) == [
        (
            "success",
            "Your reply is queued and will be sent shortly. If sending fails, the ticket shows it.",
        )
    ]


@pytest.mark.django_db(transaction=True)
def test_a_chat_reply_is_said_sent_or_failed_right_after_sending(client, world):
    with unscoped("test setup"):
        Ticket.objects.filter(pk=world.tea_ticket.pk).update(channel="chat")
        world.tea_ticket.refresh_from_db()
    client.force_login(world.operator_tea)
    response = client.post(ticket_url(world.tea_ticket, "reply"), {"body": "確認します。"}, **HTMX)
    assert flashes(response) == [
        (
            "error",
            "Your reply was saved but could not be sent: "
            "No chat conversation belongs to this ticket.",
        )
    ]
    assert the_reply(world.tea_ticket).delivery_error == (
        "No chat conversation belongs to this ticket."
    )
    assert flag(world.tea_ticket) is True


def test_a_reply_on_a_channel_without_sending_says_it_was_not_sent(client, world):
    client.force_login(world.operator_tea)
    client.post(ticket_url(world.tea_ticket, "reply"), {"body": "確認します。"})
    page = client.get(ticket_url(world.tea_ticket))
    assert flashes(page) == [
        (
            "warning",
            "Your reply was saved but not sent: this channel has no sending set up for the shop. "
            "Contact the customer another way.",
        )
    ]
    assert flag(world.tea_ticket) is False


# A failed reply stays visible until handled -----------------------------------------------------


def test_a_background_failure_marks_the_ticket_and_a_status_change_keeps_it(client, world):
    reply = failed_reply(world)
    assert flag(world.tea_ticket) is True
    with in_shop(world.tea.id):
        ticket_update(
            actor=actor_for_user(world.operator_tea), ticket=world.tea_ticket, status="pending"
        )
        ticket_update(
            actor=actor_for_user(world.operator_tea), ticket=world.tea_ticket, status="solved"
        )
    assert flag(world.tea_ticket) is True
    client.force_login(world.operator_tea)
    assert inbox_references(client, view="undelivered") == ["#TEA-1"]
    page = client.get(ticket_url(world.tea_ticket))
    banner = page.text.split('data-testid="failed-replies"')[1].split("</section>")[0]
    assert 'data-testid="failed-reply-reason">The mail server refused the mail.<' in banner
    assert 'data-testid="failed-reply-retry"' in banner
    assert delivery_url(world.tea_ticket, reply) in banner


def test_a_known_change_between_live_states_is_one_update_and_only_from_that_state(world):
    with unscoped("test setup"):
        reply = factories.MessageFactory(
            ticket=world.tea_ticket, direction="outbound", delivery_status="queued"
        )
    with in_shop(world.tea.id), CaptureQueriesContext(connection) as queries:
        delivery_status_set(message_id=reply.id, status="sent", replaces="queued")
    assert len(queries) == 1
    reply.refresh_from_db()
    assert reply.delivery_status == "sent"
    with in_shop(world.tea.id):
        # Stale knowledge changes nothing: the reply is no longer "queued".
        delivery_status_set(message_id=reply.id, status="stored", replaces="queued")
        reply.refresh_from_db()
        assert reply.delivery_status == "sent"
        with pytest.raises(ValueError, match="failed"):
            delivery_status_set(message_id=reply.id, status="failed", replaces="sent")
    assert flag(world.tea_ticket) is False


def test_another_shops_reply_keeps_its_status(world):
    with unscoped("test setup"):
        reply = factories.MessageFactory(
            ticket=world.ceramics_ticket, direction="outbound", delivery_status="queued"
        )
    with in_shop(world.tea.id):
        delivery_status_set(message_id=reply.id, status="sent", replaces="queued")
    reply.refresh_from_db()
    assert reply.delivery_status == "queued"


def test_retry_queues_the_mail_again_and_clears_the_marker(client, world):
    reply = failed_reply(world)
    client.force_login(world.operator_tea)
    response = client.post(delivery_url(world.tea_ticket, reply), {"action": "retry"})
    assert response.status_code == 302
    with unscoped("test assertion"):
        outbound = OutboundMail.objects.get(message=reply)
        reply.refresh_from_db()
    assert (outbound.status, outbound.attempts) == ("queued", 0)
    assert (reply.delivery_status, reply.delivery_error) == ("queued", "")
    assert flag(world.tea_ticket) is False
    assert inbox_references(client, view="undelivered") == []


def test_mark_handled_clears_the_marker_and_is_audited(client, world):
    reply = failed_reply(world, error="LINE refused the message.")
    client.force_login(world.operator_tea)
    assert client.post(delivery_url(world.tea_ticket, reply), {}).status_code == 400
    assert flag(world.tea_ticket) is True
    response = client.post(delivery_url(world.tea_ticket, reply), {"action": "handled"})
    assert response.status_code == 302
    assert flag(world.tea_ticket) is False
    page = client.get(ticket_url(world.tea_ticket))
    assert 'data-testid="failed-replies"' not in page.text
    assert (
        'data-testid="delivery-status">Not delivered: LINE refused the message. (handled)<'
        in page.text
    )
    with unscoped("test assertion"):
        entry = AuditEntry.objects.get(action="message.delivery_handled")
    assert (entry.actor_id, entry.target_id) == (world.operator_tea.id, str(reply.id))
    # Handling it twice is refused: it is no longer an open failure.
    again = client.post(delivery_url(world.tea_ticket, reply), {"action": "handled"})
    assert again.status_code == 400


def test_a_merge_moves_the_marker_with_the_reply(world):
    failed_reply(world)
    with unscoped("test setup"):
        target = factories.TicketFactory(shop=world.tea, customer=world.tea_ticket.customer)
    with in_shop(world.tea.id):
        ticket_merge(
            actor=actor_for_user(world.operator_tea), source=world.tea_ticket, target=target
        )
    assert (flag(world.tea_ticket), flag(target)) == (False, True)


def test_another_shops_operator_cannot_handle_the_failure(client, world):
    reply = failed_reply(world)
    client.force_login(world.operator_ceramics)
    response = client.post(delivery_url(world.tea_ticket, reply), {"action": "handled"})
    assert response.status_code == 404
    assert flag(world.tea_ticket) is True


def test_the_shops_client_cannot_handle_the_failure(client, world):
    reply = failed_reply(world)
    client.force_login(world.client_tea)
    response = client.post(delivery_url(world.tea_ticket, reply), {"action": "handled"})
    assert response.status_code == 403
    assert flag(world.tea_ticket) is True


def test_the_marker_costs_the_inbox_no_query(client, world):
    with unscoped("test setup"):
        for _ in range(5):
            factories.MessageFactory(ticket=factories.TicketFactory(shop=world.tea))
    client.force_login(world.operator_tea)
    client.get(reverse("conversations:inbox"))
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("conversations:inbox"))
    failed_reply(world)
    with CaptureQueriesContext(connection) as after:
        response = client.get(reverse("conversations:inbox"))
    assert response.text.count('data-testid="undelivered-marker"') == 1
    assert len(after.captured_queries) == len(before.captured_queries)


def test_an_approved_draft_says_what_the_channel_did(client, world):
    from madoguchi.operations.models import ReplyDraft

    mail_setup(world)
    with_email(world)
    with unscoped("test setup"):
        membership = factories.MembershipFactory(
            workspace=world.agency, role="operator", is_trainee=True
        )
        factories.ShopAssignmentFactory(membership=membership, shop=world.tea)
        trainee = membership.user
        draft = ReplyDraft.objects.create(
            shop=world.tea,
            ticket=world.tea_ticket,
            author=trainee,
            body_text="確認します",
            created_at=timezone.now(),
        )
    client.force_login(world.supervisor)
    response = client.post(
        reverse("operations:draft_review", args=["tea", draft.id]),
        {"action": "approve", "body": "確認いたします"},
        follow=True,
    )
    assert flashes(response) == [
        ("success", "The reply was approved."),
        (
            "success",
            "Your reply is queued and will be sent shortly. If sending fails, the ticket shows it.",
        ),
    ]
