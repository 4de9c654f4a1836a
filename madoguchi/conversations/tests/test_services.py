"""Ticket and message services: numbering, inbound idempotency, replies, notes, updates."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.conversations import services
from madoguchi.conversations.models import Category, Message, Tag, Ticket
from madoguchi.conversations.services import (
    InboundMessage,
    message_note,
    message_reply,
    receive_inbound,
    ticket_create,
    ticket_update,
)
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.testing import factories
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.customers.normalize import identity_digest
from madoguchi.customers.services import IdentityInput
from madoguchi.events.models import Event
from madoguchi.tenancy import services as tenancy_services
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Engagement
from madoguchi.tenancy.scoping import in_shop, shop_scope, unscoped

Status = Ticket.Status
TARO = IdentityInput(kind="email", value="Taro@Example.jp")


def _inbound(shop, external_id, **kwargs):
    fields = {
        "shop_id": shop.id,
        "channel": "email",
        "external_id": external_id,
        "body_text": "注文した緑茶がまだ届きません。",
        "subject": "配送について",
        "identities": [TARO],
        "customer_name": "山田太郎",
    }
    fields.update(kwargs)
    return InboundMessage(**fields)


def _events(ticket):
    """Return the ticket's events as (type, actor_kind, payload), oldest first."""
    with in_shop(ticket.shop_id):
        return [
            (event.type, event.actor_kind, event.payload)
            for event in Event.objects.filter(ticket_id=ticket.id).order_by("id")
        ]


def _counts():
    with unscoped("test: count rows in every shop"):
        return {
            "tickets": Ticket.objects.count(),
            "messages": Message.objects.count(),
            "events": Event.objects.count(),
            "customers": Customer.objects.count(),
            "audit": AuditEntry.objects.count(),
        }


def _audit(action):
    return [
        (entry.actor_id, entry.shop_id, entry.target_type, entry.target_id, entry.changes)
        for entry in AuditEntry.objects.filter(action=action).order_by("id")
    ]


def _set_status(ticket, status):
    with unscoped("test setup: put the ticket in a state"):
        Ticket.objects.filter(pk=ticket.pk).update(status=status)


def _reload(ticket):
    with unscoped("test: reload"):
        return Ticket.objects.select_related("shop").get(pk=ticket.pk)


# --- receive_inbound -----------------------------------------------------------------------


@pytest.mark.django_db
def test_ticket_numbers_are_sequential_per_shop(world):
    numbers = []
    for index, shop in enumerate([world.tea, world.tea, world.ceramics, world.tea, world.ceramics]):
        with in_shop(shop.id):
            result = receive_inbound(_inbound(shop, f"m{index}@example.jp"))
        numbers.append((shop.slug, result.ticket.number))
    # The world already holds ticket 1 of each shop.
    assert numbers == [("tea", 2), ("tea", 3), ("ceramics", 2), ("tea", 4), ("ceramics", 3)]
    world.tea.refresh_from_db()
    world.ceramics.refresh_from_db()
    assert (world.tea.last_ticket_number, world.ceramics.last_ticket_number) == (4, 3)


@pytest.mark.django_db
def test_inbound_creates_customer_ticket_message_and_events(world):
    at = timezone.now() - dt.timedelta(minutes=5)
    with in_shop(world.tea.id):
        result = receive_inbound(_inbound(world.tea, "<abc@example.jp>", received_at=at))
        customer = Customer.objects.get(
            identities__value_digest=identity_digest("email", "taro@example.jp")
        )
        customer_event = Event.objects.get(type="customer.created")
    ticket, message = result.ticket, result.message
    assert (result.is_new_ticket, result.is_duplicate) == (True, False)
    assert (ticket.shop_id, ticket.number, ticket.subject) == (world.tea.id, 2, "配送について")
    assert (ticket.status, ticket.priority, ticket.channel) == ("new", "normal", "email")
    assert (ticket.customer_id, ticket.assignee_id, ticket.language) == (customer.id, None, "ja")
    assert ticket.created_at == at and ticket.last_activity_at == at
    assert ticket.first_responded_at is None
    assert customer.name == "山田太郎"
    assert customer_event.payload == {"customer_id": customer.id}
    assert (message.direction, message.channel, message.external_id) == (
        "inbound",
        "email",
        "<abc@example.jp>",
    )
    assert (message.author_customer_id, message.author_user_id) == (customer.id, None)
    assert (message.body_text, message.body_html, message.created_at) == (
        "注文した緑茶がまだ届きません。",
        "",
        at,
    )
    assert _events(ticket) == [
        (
            "ticket.created",
            "customer",
            {"channel": "email", "subject": "配送について", "via": "inbound"},
        ),
        ("message.received", "customer", {"message_id": message.id, "channel": "email"}),
    ]


@pytest.mark.django_db
def test_inbound_is_idempotent_on_external_id(world):
    with in_shop(world.tea.id):
        first = receive_inbound(_inbound(world.tea, "dup@example.jp"))
        before = _counts()
        again = receive_inbound(_inbound(world.tea, "dup@example.jp", body_text="再送"))
    assert (again.is_duplicate, again.is_new_ticket) == (True, False)
    assert (again.ticket.id, again.message.id) == (first.ticket.id, first.message.id)
    assert again.message.body_text == "注文した緑茶がまだ届きません。"
    assert _counts() == before


@pytest.mark.django_db
def test_empty_external_id_is_never_a_duplicate(world):
    with in_shop(world.tea.id):
        first = receive_inbound(_inbound(world.tea, ""))
        second = receive_inbound(_inbound(world.tea, "", ticket_id=first.ticket.id))
    assert second.is_duplicate is False
    assert second.ticket.id == first.ticket.id
    assert second.message.id != first.message.id


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.PENDING, Status.SOLVED])
def test_message_to_pending_or_solved_ticket_reopens_it(world, status):
    with in_shop(world.tea.id):
        first = receive_inbound(_inbound(world.tea, "1@example.jp"))
        ticket = ticket_update(
            actor=actor_for_user(world.operator_tea), ticket=first.ticket, status=status
        )
        assert (ticket.solved_at is not None) == (status == Status.SOLVED)
        later = timezone.now() + dt.timedelta(seconds=1)
        result = receive_inbound(
            _inbound(world.tea, "2@example.jp", ticket_id=ticket.id, received_at=later)
        )
    assert (result.is_new_ticket, result.ticket.id) == (False, ticket.id)
    reopened = _reload(ticket)
    assert (reopened.status, reopened.solved_at, reopened.last_activity_at) == ("open", None, later)
    assert _events(ticket)[-2:] == [
        ("message.received", "customer", {"message_id": result.message.id, "channel": "email"}),
        ("ticket.status_changed", "customer", {"old": status, "new": "open"}),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.NEW, Status.OPEN, Status.ON_HOLD])
def test_message_to_an_unsolved_ticket_keeps_its_status(world, status):
    with in_shop(world.tea.id):
        ticket = receive_inbound(_inbound(world.tea, "1@example.jp")).ticket
        _set_status(ticket, status)
        receive_inbound(_inbound(world.tea, "2@example.jp", ticket_id=ticket.id))
    assert _reload(ticket).status == status
    assert [event_type for event_type, *_ in _events(ticket)] == [
        "ticket.created",
        "message.received",
        "message.received",
    ]


@pytest.mark.django_db
def test_message_to_closed_ticket_opens_a_new_ticket(world):
    with in_shop(world.tea.id):
        old = receive_inbound(_inbound(world.tea, "1@example.jp")).ticket
        _set_status(old, Status.CLOSED)
        result = receive_inbound(_inbound(world.tea, "2@example.jp", ticket_id=old.id))
    assert result.is_new_ticket is True
    assert result.ticket.id != old.id
    assert (result.ticket.number, result.ticket.status) == (old.number + 1, "new")
    assert result.ticket.customer_id == old.customer_id
    assert _reload(old).status == "closed"
    assert len(_events(old)) == 2


@pytest.mark.django_db
def test_same_external_id_in_two_shops_gives_one_ticket_each(world):
    with in_shop(world.tea.id):
        tea = receive_inbound(_inbound(world.tea, "same@example.jp"))
    with in_shop(world.ceramics.id):
        ceramics = receive_inbound(_inbound(world.ceramics, "same@example.jp"))
    assert (tea.is_duplicate, ceramics.is_duplicate) == (False, False)
    assert (tea.ticket.shop_id, ceramics.ticket.shop_id) == (world.tea.id, world.ceramics.id)
    assert tea.ticket.customer_id != ceramics.ticket.customer_id
    assert ceramics.ticket.customer.shop_id == world.ceramics.id


@pytest.mark.django_db
def test_ticket_id_of_another_shop_is_never_used(world):
    # Even with both shops in scope the service only continues a ticket of the message's shop.
    with shop_scope((world.tea.id, world.ceramics.id)):
        result = receive_inbound(
            _inbound(world.tea, "x@example.jp", ticket_id=world.ceramics_ticket.id)
        )
    assert result.is_new_ticket is True
    assert (result.ticket.shop_id, result.ticket.number) == (world.tea.id, 2)
    assert len(_events(world.ceramics_ticket)) == 0
    with unscoped("test: the other shop's ticket is untouched"):
        assert Message.objects.filter(ticket=world.ceramics_ticket).count() == 1


@pytest.mark.django_db
def test_subject_control_characters_are_collapsed(world):
    with in_shop(world.tea.id):
        result = receive_inbound(
            _inbound(world.tea, "1@example.jp", subject="返品\r\nBcc: evil@example.com\t 依頼 ")
        )
    assert result.ticket.subject == "返品 Bcc: evil@example.com 依頼"


@pytest.mark.django_db
def test_subject_from_first_body_line_when_missing(world):
    with in_shop(world.tea.id):
        result = receive_inbound(
            _inbound(world.tea, "1@example.jp", subject="", body_text="\n\n  初めまして\r\n本文")
        )
        empty = receive_inbound(_inbound(world.tea, "2@example.jp", subject="", body_text="  "))
    assert result.ticket.subject == "初めまして"
    assert result.message.body_text == "初めまして\n本文"
    assert empty.ticket.subject == "(no subject)"


@pytest.mark.django_db
def test_html_body_is_sanitized(world):
    html = (
        '<p onclick="steal()">こんにちは<script>alert(1)</script></p>'
        '<a href="javascript:alert(1)">x</a><img src="https://tracker.example/p.gif">'
    )
    with in_shop(world.tea.id):
        result = receive_inbound(_inbound(world.tea, "1@example.jp", body_html=html))
    assert (
        result.message.body_html == '<p>こんにちは</p><a rel="noopener noreferrer nofollow">x</a>'
    )


@pytest.mark.django_db
def test_unknown_channel_writes_nothing(world):
    before = _counts()
    with in_shop(world.tea.id), pytest.raises(ValidationError, match="Unknown channel"):
        receive_inbound(_inbound(world.tea, "1@example.jp", channel="fax"))
    assert _counts() == before


@pytest.mark.django_db
def test_too_long_body_writes_nothing(world):
    before = _counts()
    with in_shop(world.tea.id), pytest.raises(ValidationError, match="too long"):
        receive_inbound(_inbound(world.tea, "1@example.jp", body_text="あ" * 200_001))
    assert _counts() == before


@pytest.mark.django_db
def test_an_archived_shop_refuses_new_inbound_but_answers_repeats(world):
    with in_shop(world.tea.id):
        stored = receive_inbound(_inbound(world.tea, "before@example.jp"))
    tenancy_services.shop_archive(actor=actor_for_user(world.admin), shop=world.tea)
    before = _counts()
    with in_shop(world.tea.id):
        for inbound in (
            _inbound(world.tea, "after@example.jp"),
            _inbound(world.tea, "reply@example.jp", ticket_id=stored.ticket.id),
        ):
            with pytest.raises(services.ShopArchivedError) as refused:
                receive_inbound(inbound)
            assert refused.value.message == "This shop is archived: it accepts no new contacts."
        # A batch with one new message is refused whole (the mail pipeline retries one by one).
        with pytest.raises(services.ShopArchivedError):
            services.receive_inbound_many(
                [_inbound(world.tea, "before@example.jp"), _inbound(world.tea, "x@example.jp")],
                shop=world.tea,
            )
        # A repeated delivery of a message stored before the archiving keeps its answer.
        again = receive_inbound(_inbound(world.tea, "before@example.jp"))
    assert (again.is_duplicate, again.message.id) == (True, stored.message.id)
    assert _counts() == before
    # The other shop is not concerned.
    with in_shop(world.ceramics.id):
        assert receive_inbound(_inbound(world.ceramics, "after@example.jp")).is_new_ticket


@pytest.mark.django_db
def test_late_delivery_does_not_move_activity_back(world):
    now = timezone.now()
    with in_shop(world.tea.id):
        ticket = receive_inbound(_inbound(world.tea, "1@example.jp", received_at=now)).ticket
        receive_inbound(
            _inbound(
                world.tea,
                "0@example.jp",
                ticket_id=ticket.id,
                received_at=now - dt.timedelta(hours=1),
            )
        )
    assert _reload(ticket).last_activity_at == now


# --- ticket_create ------------------------------------------------------------------------


def _create(world, actor_user=None, **kwargs):
    fields = {
        "actor": actor_for_user(actor_user or world.operator_tea),
        "shop": world.tea,
        "channel": "phone",
        "subject": "電話: 配送日の変更",
        "body_text": "配送日を来週に変えたいとのこと。",
        "customer_name": "佐藤 花子",
        "identities": [IdentityInput(kind="phone", value="090-1111-2222")],
    }
    fields.update(kwargs)
    with in_shop(world.tea.id):
        return ticket_create(**fields)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"channel": "fax"}, ValidationError, "Unknown channel"),
        ({"priority": "whenever"}, ValidationError, "Unknown priority"),
        ({"body_text": " \r\n "}, ValidationError, "Write what the customer asked"),
        ({"subject": "\r\n\t"}, ValidationError, "A subject is required"),
        ({"customer_name": " ", "identities": []}, ValidationError, "Choose a customer"),
        ({"body_text": "あ" * 200_001}, ValidationError, "too long"),
    ],
)
def test_ticket_create_validation(world, overrides, error, message):
    before = _counts()
    with pytest.raises(error, match=message):
        _create(world, **overrides)
    assert _counts() == before


@pytest.mark.django_db
def test_ticket_create_refuses_other_shops_and_clients(world):
    with unscoped("test setup: another shop's rows"):
        other_customer = world.ceramics_ticket.customer
        other_category = Category.objects.create(shop=world.ceramics, name="破損")
    before = _counts()
    with pytest.raises(ValidationError, match="customer belongs to another shop"):
        _create(world, customer=other_customer)
    with pytest.raises(ValidationError, match="category belongs to another shop"):
        _create(world, category=other_category)
    with pytest.raises(PermissionDeniedError):
        _create(world, actor_user=world.client_tea)
    with pytest.raises(PermissionDeniedError):
        _create(world, actor_user=world.operator_ceramics)
    assert _counts() == before


@pytest.mark.django_db
def test_ticket_create_for_a_phone_call(world):
    operator = world.operator_tea
    with unscoped("test setup"):
        category = Category.objects.create(shop=world.tea, name="配送")
    ticket = _create(world, priority="high", category=category)
    with in_shop(world.tea.id):
        identity = ContactIdentity.objects.get(
            kind="phone", value_digest=identity_digest("phone", "09011112222")
        )
        message = Message.objects.get(ticket=ticket)
        customer_events = list(Event.objects.filter(type="customer.created", ticket=None))
    customer = identity.customer
    assert (customer.name, customer.shop_id, identity.display_value) == (
        "佐藤 花子",
        world.tea.id,
        "090-1111-2222",
    )
    assert [(e.actor_kind, e.actor_user_id) for e in customer_events] == [("operator", operator.id)]
    assert (ticket.number, ticket.subject, ticket.status) == (2, "電話: 配送日の変更", "new")
    assert (ticket.channel, ticket.priority, ticket.category_id) == ("phone", "high", category.id)
    assert (ticket.customer_id, ticket.assignee_id, ticket.language) == (customer.id, None, "ja")
    assert (message.direction, message.channel, message.body_text) == (
        "inbound",
        "phone",
        "配送日を来週に変えたいとのこと。",
    )
    assert (message.author_customer_id, message.author_user_id) == (customer.id, operator.id)
    assert _events(ticket) == [
        (
            "ticket.created",
            "operator",
            {"channel": "phone", "subject": ticket.subject, "via": "manual"},
        ),
        (
            "message.received",
            "operator",
            {"message_id": message.id, "channel": "phone", "logged_by_staff": True},
        ),
    ]
    assert _audit("ticket.created") == [
        (operator.id, world.tea.id, "conversations.ticket", str(ticket.id), {})
    ]


@pytest.mark.django_db
def test_ticket_create_for_an_existing_customer_assigned_to_self(world):
    operator = world.operator_tea
    customer = world.tea_ticket.customer
    ticket = _create(world, customer=customer, identities=[], customer_name="")
    assert ticket.customer_id == customer.id
    assigned = _create(world, customer=customer, assign_to_self=True)
    assert (assigned.assignee_id, _reload(assigned).status) == (operator.id, "open")
    assert [(event_type, kind) for event_type, kind, _ in _events(assigned)] == [
        ("ticket.created", "operator"),
        ("ticket.assigned", "operator"),
        ("message.received", "operator"),
        ("ticket.status_changed", "operator"),
    ]
    assert _events(assigned)[1][2] == {"old_user_id": None, "new_user_id": operator.id}
    assert _events(assigned)[3][2] == {"old": "new", "new": "open"}
    with unscoped("test: customers"):
        assert Customer.objects.filter(shop=world.tea).count() == 1


# --- message_reply and message_note --------------------------------------------------------


@pytest.mark.django_db
def test_reply_sets_first_response_once_and_opens_the_ticket(world):
    operator = world.operator_tea
    actor = actor_for_user(operator)
    # A phone ticket: no connector sends phone replies, so the stored status stays as it is.
    with unscoped("test setup"):
        ticket = factories.TicketFactory(shop=world.tea, channel="phone")
    with in_shop(world.tea.id):
        first = message_reply(
            actor=actor, ticket=ticket, body_text="  お問い合わせありがとうございます。 "
        )
        second = message_reply(actor=actor, ticket=ticket, body_text="発送しました。")
    stored = _reload(ticket)
    assert stored.first_responded_at == first.created_at
    assert stored.last_activity_at == second.created_at
    assert stored.status == "open"
    assert (first.direction, first.channel, first.delivery_status) == (
        "outbound",
        "phone",
        "stored",
    )
    assert (first.author_user_id, first.body_text) == (
        operator.id,
        "お問い合わせありがとうございます。",
    )
    assert _events(ticket) == [
        ("message.replied", "operator", {"message_id": first.id, "channel": "phone"}),
        ("ticket.status_changed", "operator", {"old": "new", "new": "open"}),
        ("message.replied", "operator", {"message_id": second.id, "channel": "phone"}),
    ]
    assert _audit("message.added") == [
        (
            operator.id,
            world.tea.id,
            "conversations.message",
            str(first.id),
            {"direction": "outbound", "ticket": 2},
        ),
        (
            operator.id,
            world.tea.id,
            "conversations.message",
            str(second.id),
            {"direction": "outbound", "ticket": 2},
        ),
    ]


@pytest.mark.django_db
def test_reply_with_explicit_status(world):
    actor = actor_for_user(world.supervisor)
    with in_shop(world.tea.id):
        message_reply(
            actor=actor, ticket=world.tea_ticket, body_text="ご確認ください。", status="pending"
        )
        assert _reload(world.tea_ticket).status == "pending"
        message_reply(
            actor=actor, ticket=world.tea_ticket, body_text="解決しました。", status="solved"
        )
    stored = _reload(world.tea_ticket)
    assert stored.status == "solved" and stored.solved_at is not None
    assert [
        payload
        for event_type, _, payload in _events(world.tea_ticket)
        if event_type == "ticket.status_changed"
    ] == [
        {"old": "new", "new": "pending"},
        {"old": "pending", "new": "solved"},
    ]


@pytest.mark.django_db
def test_reply_keeps_a_pending_status_by_default(world):
    _set_status(world.tea_ticket, Status.PENDING)
    with in_shop(world.tea.id):
        message_reply(
            actor=actor_for_user(world.operator_tea), ticket=world.tea_ticket, body_text="追伸"
        )
    assert _reload(world.tea_ticket).status == "pending"
    assert [event_type for event_type, *_ in _events(world.tea_ticket)] == ["message.replied"]


@pytest.mark.django_db
def test_client_reply_while_engaged_is_refused_and_writes_nothing(world):
    before = _counts()
    with in_shop(world.tea.id), pytest.raises(PermissionDeniedError):
        message_reply(
            actor=actor_for_user(world.client_tea), ticket=world.tea_ticket, body_text="私が返信"
        )
    assert _counts() == before
    assert _reload(world.tea_ticket).first_responded_at is None


@pytest.mark.django_db
def test_client_replies_when_no_agency_works_the_shop(world):
    Engagement.objects.filter(shop=world.tea).delete()
    with in_shop(world.tea.id):
        message = message_reply(
            actor=actor_for_user(world.client_tea), ticket=world.tea_ticket, body_text="店長です。"
        )
    assert message.author_user_id == world.client_tea.id
    assert _events(world.tea_ticket)[0] == (
        "message.replied",
        "client",
        {"message_id": message.id, "channel": "email"},
    )


@pytest.mark.django_db
def test_reply_validation_writes_nothing(world):
    actor = actor_for_user(world.operator_tea)
    before = _counts()
    with in_shop(world.tea.id):
        with pytest.raises(ValidationError, match="empty"):
            message_reply(actor=actor, ticket=world.tea_ticket, body_text=" \n ")
        with pytest.raises(ValidationError, match="Unknown status"):
            message_reply(actor=actor, ticket=world.tea_ticket, body_text="本文", status="gone")
        with pytest.raises(PermissionDeniedError):
            message_reply(
                actor=actor_for_user(world.operator_ceramics),
                ticket=world.tea_ticket,
                body_text="x",
            )
    assert _counts() == before
    assert _reload(world.tea_ticket).status == "new"


@pytest.mark.django_db
def test_note(world):
    operator = world.operator_tea
    with in_shop(world.tea.id):
        note = message_note(
            actor=actor_for_user(operator), ticket=world.tea_ticket, body_text="在庫を確認中"
        )
    stored = _reload(world.tea_ticket)
    assert (note.direction, note.author_user_id, note.delivery_status) == ("note", operator.id, "")
    assert (stored.status, stored.first_responded_at) == ("new", None)
    assert stored.last_activity_at == note.created_at
    assert _events(world.tea_ticket) == [("message.noted", "operator", {"message_id": note.id})]
    assert _audit("message.added") == [
        (
            operator.id,
            world.tea.id,
            "conversations.message",
            str(note.id),
            {"direction": "note", "ticket": 1},
        )
    ]


@pytest.mark.django_db
def test_clients_and_other_shops_cannot_note(world):
    before = _counts()
    with in_shop(world.tea.id):
        with pytest.raises(PermissionDeniedError):
            message_note(
                actor=actor_for_user(world.client_tea), ticket=world.tea_ticket, body_text="メモ"
            )
        with pytest.raises(PermissionDeniedError):
            message_note(
                actor=actor_for_user(world.operator_ceramics),
                ticket=world.tea_ticket,
                body_text="メモ",
            )
        with pytest.raises(ValidationError, match="empty"):
            message_note(
                actor=actor_for_user(world.operator_tea), ticket=world.tea_ticket, body_text=""
            )
    assert _counts() == before


# --- ticket_update -------------------------------------------------------------------------


def _update(world, user=None, ticket=None, **changes):
    with in_shop(world.tea.id):
        return ticket_update(
            actor=actor_for_user(user or world.operator_tea),
            ticket=ticket or world.tea_ticket,
            **changes,
        )


@pytest.mark.django_db
def test_update_status(world):
    ticket = _update(world, status="solved")
    assert ticket.status == "solved" and ticket.solved_at is not None
    assert _events(ticket) == [
        ("ticket.status_changed", "operator", {"old": "new", "new": "solved"})
    ]
    assert _audit("ticket.updated") == [
        (
            world.operator_tea.id,
            world.tea.id,
            "conversations.ticket",
            str(ticket.id),
            {"status": ["new", "solved"]},
        )
    ]
    closed = _update(world, status="closed")
    assert closed.closed_at is not None
    reopened = _update(world, status="open")
    assert (reopened.solved_at, reopened.closed_at) == (None, None)


@pytest.mark.django_db
def test_update_priority(world):
    ticket = _update(world, priority="urgent")
    assert _reload(ticket).priority == "urgent"
    assert _events(ticket) == [
        ("ticket.priority_changed", "operator", {"old": "normal", "new": "urgent"})
    ]
    assert _audit("ticket.updated")[0][4] == {"priority": ["normal", "urgent"]}


@pytest.mark.django_db
def test_update_assignee_opens_a_new_ticket(world):
    operator = world.operator_tea
    ticket = _update(world, user=world.supervisor, assignee=operator)
    stored = _reload(ticket)
    assert (stored.assignee_id, stored.status) == (operator.id, "open")
    assert [(event_type, payload) for event_type, _, payload in _events(ticket)] == [
        ("ticket.assigned", {"old_user_id": None, "new_user_id": operator.id}),
        ("ticket.status_changed", {"old": "new", "new": "open"}),
    ]
    assert _audit("ticket.assigned") == [
        (
            world.supervisor.id,
            world.tea.id,
            "conversations.ticket",
            str(ticket.id),
            {"assignee": [None, operator.id], "status": ["new", "open"]},
        )
    ]
    unassigned = _update(world, assignee=None)
    assert unassigned.assignee_id is None
    assert _events(ticket)[-1][2] == {"old_user_id": operator.id, "new_user_id": None}
    assert _reload(ticket).status == "open"


@pytest.mark.django_db
def test_assignee_must_work_the_shop(world):
    before = _counts()
    for outsider in (world.operator_ceramics, world.client_tea):
        with pytest.raises(ValidationError, match="does not work this shop"):
            _update(world, assignee=outsider, priority="high")
    assert _counts() == before
    assert _reload(world.tea_ticket).priority == "normal"


@pytest.mark.django_db
def test_update_category(world):
    with unscoped("test setup"):
        delivery = Category.objects.create(shop=world.tea, name="配送")
        foreign = Category.objects.create(shop=world.ceramics, name="破損")
    ticket = _update(world, category=delivery)
    assert _reload(ticket).category_id == delivery.id
    assert _events(ticket) == [
        ("ticket.category_changed", "operator", {"old": None, "new": delivery.id})
    ]
    before = _counts()
    with pytest.raises(ValidationError, match="category belongs to another shop"):
        _update(world, category=foreign)
    assert _counts() == before
    cleared = _update(world, category=None)
    assert cleared.category_id is None
    assert _events(ticket)[-1][2] == {"old": delivery.id, "new": None}


@pytest.mark.django_db
def test_update_tags_adds_and_removes(world):
    ticket = _update(world, tag_names=["配送", " 返品   依頼 ", "", "配送"])
    with in_shop(world.tea.id):
        assert sorted(tag.name for tag in ticket.tags.all()) == ["返品 依頼", "配送"]
    ticket = _update(world, tag_names=["配送", "在庫"])
    with in_shop(world.tea.id):
        assert sorted(tag.name for tag in ticket.tags.all()) == ["在庫", "配送"]
        assert Tag.objects.count() == 3  # tags stay in the shop's vocabulary
    assert [payload for _, _, payload in _events(ticket)] == [
        {"added": ["返品 依頼", "配送"], "removed": []},
        {"added": ["在庫"], "removed": ["返品 依頼"]},
    ]
    assert [changes for *_, changes in _audit("ticket.updated")] == [
        {"tags": {"added": ["返品 依頼", "配送"], "removed": []}},
        {"tags": {"added": ["在庫"], "removed": ["返品 依頼"]}},
    ]


@pytest.mark.django_db
def test_noop_update_writes_nothing(world):
    _update(world, tag_names=["配送"])
    before = _counts()
    ticket = _update(
        world,
        status="new",
        priority="normal",
        assignee=None,
        category=None,
        tag_names=["配送"],
    )
    assert ticket.status == "new"
    assert _counts() == before


@pytest.mark.django_db
def test_update_refuses_other_shops_operator_client_and_bad_values(world):
    before = _counts()
    with pytest.raises(PermissionDeniedError):
        _update(world, user=world.operator_ceramics, status="solved")
    with pytest.raises(PermissionDeniedError):
        _update(world, user=world.client_tea, status="solved")
    with pytest.raises(ValidationError, match="Unknown status"):
        _update(world, status="gone")
    with pytest.raises(ValidationError, match="Unknown priority"):
        _update(world, priority="meh")
    assert _counts() == before
    assert _reload(world.tea_ticket).status == "new"


# --- concurrency ---------------------------------------------------------------------------


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_inbound_stores_one_message(world, monkeypatch):
    rounds = 5
    results: list[object] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)
    passed_check = threading.Barrier(2)
    first_check = threading.local()
    existing_inbound = services._stored_inbound

    def existing_inbound_then_meet(*args):
        # Both deliveries pass the duplicate check before either writes: the database decides.
        found = existing_inbound(*args)
        if not getattr(first_check, "done", False):
            first_check.done = True
            passed_check.wait(timeout=10)
        return found

    monkeypatch.setattr(services, "_stored_inbound", existing_inbound_then_meet)

    def deliver(external_id: str) -> None:
        try:
            barrier.wait(timeout=10)
            with in_shop(world.tea.id):
                results.append(receive_inbound(_inbound(world.tea, external_id)))
        except BaseException as error:  # reported by the test thread below
            errors.append(error)
        finally:
            connection.close()

    for index in range(rounds):
        threads = [
            threading.Thread(target=deliver, args=(f"race{index}@example.jp",)) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    assert len(results) == 2 * rounds
    assert sorted(result.is_duplicate for result in results) == [False] * rounds + [True] * rounds
    with unscoped("test: count rows"):
        assert Message.objects.filter(external_id__startswith="race").count() == rounds
        assert Ticket.objects.filter(shop=world.tea).count() == 1 + rounds
        assert Customer.objects.filter(shop=world.tea).count() == 2
        assert (
            ContactIdentity.objects.filter(
                value_digest=identity_digest("email", "taro@example.jp")
            ).count()
            == 1
        )
        assert sorted(Ticket.objects.filter(shop=world.tea).values_list("number", flat=True)) == [
            1,
            2,
            3,
            4,
            5,
            6,
        ]
        assert Event.objects.filter(type="message.received").count() == rounds


@pytest.mark.django_db
def test_nul_characters_never_reach_the_database(world):
    # PostgreSQL refuses NUL in text; a mail body carrying one must still be stored.
    with in_shop(world.tea.id):
        result = receive_inbound(
            _inbound(world.tea, "nul@example.jp", subject="件名\x00", body_text="本文\x00続き")
        )
        reply = message_reply(
            actor=actor_for_user(world.operator_tea), ticket=result.ticket, body_text="返信\x00"
        )
    assert (result.ticket.subject, result.message.body_text) == ("件名", "本文続き")
    assert reply.body_text == "返信"


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_new_tickets_take_distinct_sequential_numbers(world):
    threads_count = 4
    numbers: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_count)

    def deliver(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            with in_shop(world.tea.id):
                inbound = _inbound(
                    world.tea,
                    f"parallel{index}@example.jp",
                    identities=[IdentityInput(kind="email", value=f"p{index}@example.jp")],
                )
                numbers.append(receive_inbound(inbound).ticket.number)
        except BaseException as error:  # reported by the test thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(numbers) == [2, 3, 4, 5]
    world.tea.refresh_from_db()
    assert world.tea.last_ticket_number == 5


@pytest.mark.django_db
def test_only_a_lead_of_the_shop_can_stand_as_approver(world):
    from madoguchi.tenancy.models import Membership

    with unscoped("test setup"):
        Membership.objects.filter(user=world.operator_tea).update(is_trainee=True)
    trainee = actor_for_user(world.operator_tea)
    with in_shop(world.tea.id):
        with pytest.raises(PermissionDeniedError):
            message_reply(
                actor=trainee,
                ticket=world.tea_ticket,
                body_text="承認なし",
                approved_by=world.operator_ceramics,
            )
        assert Message.objects.filter(ticket=world.tea_ticket, direction="outbound").count() == 0
        reply = message_reply(
            actor=trainee,
            ticket=world.tea_ticket,
            body_text="承認済み",
            approved_by=world.supervisor,
        )
    assert reply.body_text == "承認済み"
