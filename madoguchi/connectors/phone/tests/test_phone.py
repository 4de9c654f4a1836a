import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.phone import services
from madoguchi.connectors.phone.models import CallLog
from madoguchi.conversations.models import Message, Ticket
from madoguchi.core.errors import ValidationError
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.tenancy.scoping import in_shop, unscoped


def _phone_of(world, customer, number="03-1234-5678"):
    with unscoped("test setup"):
        ContactIdentity.objects.create(
            shop=world.tea,
            customer=customer,
            kind="phone",
            value="0312345678",
            display_value=number,
        )


def test_parse_duration():
    assert services.parse_duration("3:20") == 200
    assert services.parse_duration("45") == 45
    assert services.parse_duration("") == 0
    with pytest.raises(ValidationError):
        services.parse_duration("three minutes")


def test_inbound_call_from_a_known_number_opens_a_phone_ticket_for_that_customer(client, world):
    customer = world.tea_ticket.customer
    _phone_of(world, customer)
    client.force_login(world.operator_tea)
    response = client.post(
        reverse("phone:call_new", args=["tea"]),
        {
            "direction": "inbound",
            "number": "０３（１２３４）５６７８",
            "result": "answered",
            "duration": "3:20",
            "notes": "配送状況の問い合わせ。明日折り返す。",
            "follow_up_needed": "on",
            "callback_due_at": "2026-11-27T10:00",
        },
    )
    assert response.status_code == 302
    with in_shop(world.tea.id):
        log = CallLog.objects.get()
        assert (log.customer_id, log.duration_seconds, log.result, log.number_normalized) == (
            customer.id,
            200,
            "answered",
            "0312345678",
        )
        assert timezone.localtime(log.callback_due_at).strftime("%Y-%m-%d %H:%M") == (
            "2026-11-27 10:00"
        )
        ticket = log.ticket
        assert (ticket.channel, ticket.customer_id, ticket.assignee_id, ticket.status) == (
            "phone",
            customer.id,
            world.operator_tea.id,
            "open",
        )
        assert response["Location"] == reverse(
            "conversations:ticket", kwargs={"shop_slug": "tea", "number": ticket.number}
        )
        message = ticket.messages.get()
        assert message.body_text == (
            "[着信] ０３（１２３４）５６７８ 結果: 通話 通話時間: 3:20\n"
            "折り返し: 2026-11-27 10:00 まで\n\n配送状況の問い合わせ。明日折り返す。"
        )
        assert AuditEntry.objects.filter(action="call.logged").count() == 1


def test_unknown_number_creates_the_customer_and_a_call_on_a_ticket_becomes_a_note(client, world):
    client.force_login(world.operator_tea)
    client.post(
        reverse("phone:call_new", args=["tea"]),
        {
            "direction": "inbound",
            "number": "+81 90-1111-2222",
            "result": "missed",
            "customer_name": "鈴木 花子",
        },
    )
    with in_shop(world.tea.id):
        customer = Customer.objects.get(name="鈴木 花子")
        assert customer.identities.get().value == "09011112222"
        notes_before = Message.objects.filter(direction="note").count()
    response = client.post(
        reverse("phone:call_new", args=["tea"]),
        {
            "direction": "outbound",
            "number": "090-1111-2222",
            "result": "no_answer",
            "ticket": f"#TEA-{world.tea_ticket.number}",
        },
    )
    assert response.status_code == 302
    with in_shop(world.tea.id):
        log = CallLog.objects.get(direction="outbound")
        assert (log.ticket_id, log.customer_id) == (world.tea_ticket.id, customer.id)
        assert Message.objects.filter(direction="note").count() == notes_before + 1
        assert Ticket.objects.filter(channel="phone").count() == 1


def test_lookup_finds_the_customer_by_number(client, world):
    customer = world.tea_ticket.customer
    _phone_of(world, customer)
    client.force_login(world.operator_tea)
    response = client.get(reverse("phone:lookup", args=["tea"]) + "?number=03-1234-5678")
    assert response.status_code == 200
    assert str(customer) in response.text
    assert world.tea_ticket.subject in response.text
    client.force_login(world.operator_ceramics)
    assert (
        client.get(reverse("phone:lookup", args=["tea"]) + "?number=0312345678").status_code == 404
    )


def test_callback_queue_lists_due_callbacks_and_marks_them_done(client, world):
    client.force_login(world.operator_tea)
    for number, due in (("0311110000", "2026-11-28T09:00"), ("0322220000", "2026-11-27T09:00")):
        client.post(
            reverse("phone:call_new", args=["tea"]),
            {
                "direction": "inbound",
                "number": number,
                "result": "missed",
                "follow_up_needed": "on",
                "callback_due_at": due,
            },
        )
    client.post(
        reverse("phone:call_new", args=["tea"]),
        {"direction": "inbound", "number": "0333330000", "result": "answered"},
    )
    page = client.get(reverse("phone:callbacks", args=["tea"]))
    assert page.status_code == 200
    text = page.text
    assert text.index("0322220000") < text.index("0311110000")
    assert "0333330000" not in text
    with in_shop(world.tea.id):
        first = CallLog.objects.get(number="0322220000")
    done = client.post(reverse("phone:callback_done", args=["tea", first.id]))
    assert done.status_code == 302
    assert "0322220000" not in client.get(reverse("phone:callbacks", args=["tea"])).text
    with in_shop(world.tea.id):
        first.refresh_from_db()
        assert first.callback_done_by_id == world.operator_tea.id
    client.force_login(world.operator_ceramics)
    with in_shop(world.tea.id):
        other = CallLog.objects.get(number="0311110000")
    assert client.post(reverse("phone:callback_done", args=["tea", other.id])).status_code == 404
    assert client.get(reverse("phone:callbacks", args=["tea"])).status_code == 404
    with in_shop(world.tea.id):
        other.refresh_from_db()
        assert other.callback_done_at is None


def test_follow_up_without_a_time_is_due_in_an_hour(world):
    from madoguchi.tenancy.access import actor_for_user

    with in_shop(world.tea.id):
        before = timezone.now()
        log = services.call_log(
            actor=actor_for_user(world.operator_tea),
            shop=world.tea,
            call=services.CallInput(
                direction="inbound", number="0344445555", result="voicemail", follow_up_needed=True
            ),
        )
        assert before + dt.timedelta(minutes=59) < log.callback_due_at
        assert log.callback_due_at < timezone.now() + dt.timedelta(minutes=61)


def test_client_of_the_shop_may_not_log_calls(client, world):
    client.force_login(world.client_tea)
    response = client.post(
        reverse("phone:call_new", args=["tea"]),
        {"direction": "inbound", "number": "0312345678", "result": "answered"},
    )
    assert response.status_code == 404
    with unscoped("test assertion"):
        assert CallLog.objects.count() == 0
