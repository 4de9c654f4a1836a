"""Each channel's survey path with real rows: chat (a message pushed to the visitor's chat) and
LINE (1-5 quick replies through the local LINE server, a postback answer); mail is in
test_services."""

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.connectors.chat.tests.builders import conversation_on
from madoguchi.connectors.line.models import LineChannel
from madoguchi.connectors.line.tests.test_line import body_of, deliver, make_channel, text_event
from madoguchi.conversations.models import Message, Ticket
from madoguchi.core.testing import factories
from madoguchi.csat.models import CsatSurvey
from madoguchi.csat.services import surveys_send_due
from madoguchi.csat.tests.helpers import enable_csat, solve, token_of
from madoguchi.events.models import Event
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db
USER = "U206d25c2ea6bd87c17655609a1c37cb8"


def _later(minutes: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


def test_a_chat_ticket_gets_its_survey_as_a_chat_message(world, django_capture_on_commit_callbacks):
    enable_csat(world, delay_minutes=5)
    with in_shop(world.tea.id):
        ticket = factories.TicketFactory(shop=world.tea, channel="chat")
        factories.MessageFactory(ticket=ticket, body_text="配送について質問です")
        conversation_on(ticket, public_id="chat-csat")
    solve(world, ticket)
    with django_capture_on_commit_callbacks(execute=True):
        assert surveys_send_due(now=_later(6)) == 1
    with in_shop(world.tea.id):
        survey = CsatSurvey.objects.get(ticket=ticket)
        message = Message.objects.get(pk=survey.message_id)
        ticket.refresh_from_db()
    assert (survey.channel, survey.status) == ("chat", "sent")
    assert (message.channel, message.direction, message.delivery_status) == (
        "chat",
        "outbound",
        "sent",
    )
    assert f"/csat/{token_of(message.body_text)}/" in message.body_text
    assert ticket.status == "solved"


def _line_ticket(client, world, fake_line, capture) -> Ticket:
    channel = make_channel(world.tea, fake_line)
    deliver(client, channel, body_of(text_event("E-csat-1", "注文を確認したいです")), capture)
    with in_shop(world.tea.id):
        return Ticket.objects.get(channel="line")


def _postback(event_id: str, data: str, user: str = USER) -> dict:
    return {
        "replyToken": f"reply-{event_id}",
        "type": "postback",
        "mode": "active",
        "timestamp": 1764150100000,
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
        "postback": {"data": data},
    }


def test_line_survey_has_1_to_5_quick_replies_and_a_postback_answers_it(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    enable_csat(world, delay_minutes=0)
    ticket = _line_ticket(client, world, fake_line, django_capture_on_commit_callbacks)
    solve(world, ticket)
    with django_capture_on_commit_callbacks(execute=True):
        assert surveys_send_due(now=_later(1)) == 1
    with in_shop(world.tea.id):
        survey = CsatSurvey.objects.get(ticket=ticket)
        message = Message.objects.get(pk=survey.message_id)
    assert message.delivery_status == "sent"
    [sent] = fake_line.calls("/v2/bot/message/reply") + fake_line.calls("/v2/bot/message/push")
    [line_message] = sent.json()["messages"]
    assert line_message["text"] == message.body_text
    assert line_message["quickReply"] == {
        "items": [
            {
                "type": "action",
                "action": {
                    "type": "postback",
                    "label": str(score),
                    "data": f"csat:{survey.id}:{score}",
                    "displayText": str(score),
                },
            }
            for score in range(1, 6)
        ]
    }
    with in_shop(world.tea.id):
        line_channel = LineChannel.objects.get()
        messages_before = Message.objects.filter(ticket=ticket).count()
    deliver(
        client,
        line_channel,
        body_of(_postback("E-csat-2", f"csat:{survey.id}:4")),
        django_capture_on_commit_callbacks,
    )
    with in_shop(world.tea.id):
        survey.refresh_from_db()
        ticket.refresh_from_db()
        new_messages = list(Message.objects.filter(ticket=ticket).order_by("id")[messages_before:])
        answered = Event.objects.get(type="csat.answered")
    assert (survey.score, survey.status, survey.comment) == (4, "answered", "")
    assert ticket.status == "solved"
    # No customer message: only the shop's automatic thanks.
    assert [(m.direction, m.body_text) for m in new_messages] == [
        ("outbound", "ご回答ありがとうございました。今後のサービス向上に役立てさせていただきます。")
    ]
    assert answered.payload["via"] == "line"
    assert answered.payload["score"] == 4


def test_a_postback_from_another_line_user_is_no_answer(
    client, world, fake_line, django_capture_on_commit_callbacks
):
    enable_csat(world, delay_minutes=0)
    ticket = _line_ticket(client, world, fake_line, django_capture_on_commit_callbacks)
    solve(world, ticket)
    with django_capture_on_commit_callbacks(execute=True):
        surveys_send_due(now=_later(1))
    other_user = "U" + "1" * 32
    with in_shop(world.tea.id):
        line_channel = LineChannel.objects.get()
        survey = CsatSurvey.objects.get(ticket=ticket)
    # The other user writes first (a customer of the shop), then presses a forged button.
    deliver(
        client,
        line_channel,
        body_of(text_event("E-other-1", "こんにちは", user=other_user)),
        django_capture_on_commit_callbacks,
    )
    deliver(
        client,
        line_channel,
        body_of(_postback("E-other-2", f"csat:{survey.id}:1", user=other_user)),
        django_capture_on_commit_callbacks,
    )
    with in_shop(world.tea.id):
        survey.refresh_from_db()
        assert Event.objects.filter(type="csat.answered").count() == 0
    assert (survey.score, survey.status) == (None, "sent")
