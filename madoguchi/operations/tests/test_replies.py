"""Reply templates, trainee drafts and their approval, after-hours replies: the services."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Category, Message, Ticket
from madoguchi.conversations.services import InboundMessage, message_reply, receive_inbound
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.testing import factories
from madoguchi.customers.services import IdentityInput
from madoguchi.events.models import Event
from madoguchi.operations.calendar import BusinessCalendar
from madoguchi.operations.models import AfterHoursSettings, ReplyTemplate
from madoguchi.operations.replies import (
    after_hours_reply,
    reply_draft_approve,
    reply_draft_return,
    reply_send,
    reply_template_save,
    template_render,
    text_diff,
)
from madoguchi.operations.selectors import ticket_history
from madoguchi.operations.templating import (
    format_business_hours,
    format_moment,
    render_placeholders,
)
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import in_shop, unscoped

TOKYO = ZoneInfo("Asia/Tokyo")


def tokyo(*args):
    return dt.datetime(*args, tzinfo=TOKYO)


@pytest.fixture
def trainee(world):
    with unscoped("test setup"):
        membership = factories.MembershipFactory(
            workspace=world.agency, role=Membership.Role.OPERATOR, is_trainee=True
        )
        factories.ShopAssignmentFactory(membership=membership, shop=world.tea)
    return membership.user


def _events(ticket, prefix=""):
    with unscoped("test assertion"):
        return [
            (event.type, event.payload)
            for event in Event.objects.filter(ticket=ticket, type__startswith=prefix).order_by("id")
        ]


# Placeholders ----------------------------------------------------------------------------------


def test_placeholders_come_from_the_allowlist_only():
    values = {"customer_name": "山田 {{ shop_name }}", "shop_name": "山田園"}
    text = (
        "{{ customer_name }}様 {{settings.SECRET_KEY}} {% debug %} {{ shop.smtp_password }} "
        "{{ shop_name }} {{ unknown_name }} {{ order_number }}"
    )
    assert render_placeholders(text, values) == (
        "山田 {{ shop_name }}様 {{settings.SECRET_KEY}} {% debug %} {{ shop.smtp_password }} "
        "山田園 {{ unknown_name }} {{ order_number }}"
    )


def test_business_hours_and_next_opening_are_written_per_language():
    calendar = BusinessCalendar(
        weekly_hours={
            day: [(dt.time(10), dt.time(12)), (dt.time(13), dt.time(18))] for day in range(5)
        }
        | {5: [(dt.time(10), dt.time(15))]}
    )
    assert format_business_hours(calendar, "ja") == (
        "月〜金 10:00〜12:00、13:00〜18:00 / 土 10:00〜15:00(祝日を除く)"
    )
    assert format_business_hours(calendar, "en") == (
        "Mon-Fri 10:00-12:00, 13:00-18:00 / Sat 10:00-15:00 (closed on public holidays)"
    )
    # Sunday evening before 勤労感謝の日 (Monday 2026-11-23): next opening is Tuesday 10:00.
    moment = calendar.next_open_at(tokyo(2026, 11, 22, 20, 0))
    assert format_moment(moment, calendar, "ja") == "2026年11月24日(火) 10:00"
    assert format_moment(moment, calendar, "en") == "Tue 24 Nov 2026, 10:00"


def test_template_renders_the_ticket_values(world):
    with in_shop(world.tea.id):
        # A row saved before templates were checked: its unknown placeholder stays literal.
        template = ReplyTemplate.objects.create(
            shop=world.tea,
            name="お詫び",
            language="ja",
            body="{{ customer_name }}様\n{{ ticket_reference }} {{ shop_name }} {{ operator_name }}"
            "\n{{ settings.SECRET_KEY }}",
        )
        rendered = template_render(
            template=template,
            ticket=world.tea_ticket,
            operator=actor_for_user(world.operator_tea),
        )
    customer = world.tea_ticket.customer.name
    assert rendered.text == (
        f"{customer}様\n{world.tea_ticket.reference} 山田園 茶舗 "
        f"{world.operator_tea.display_name}\n{{{{ settings.SECRET_KEY }}}}"
    )
    assert rendered.empty == ()


def test_template_names_are_unique_per_shop_and_language(world):
    actor = actor_for_user(world.operator_tea)
    with in_shop(world.tea.id):
        reply_template_save(actor=actor, shop=world.tea, name="挨拶", language="ja", body="a")
        reply_template_save(actor=actor, shop=world.tea, name="挨拶", language="en", body="b")
        with pytest.raises(ValidationError, match="exists"):
            reply_template_save(actor=actor, shop=world.tea, name="挨拶", language="ja", body="c")
        assert ReplyTemplate.objects.filter(shop=world.tea).count() == 2


def test_client_may_not_write_templates(world):
    with in_shop(world.tea.id), pytest.raises(PermissionDeniedError):
        reply_template_save(
            actor=actor_for_user(world.client_tea),
            shop=world.tea,
            name="x",
            language="ja",
            body="y",
        )


def test_reply_with_template_applies_status_tags_and_category(world):
    actor = actor_for_user(world.operator_tea)
    with in_shop(world.tea.id):
        category = Category.objects.create(shop=world.tea, name="配送")
        template = reply_template_save(
            actor=actor,
            shop=world.tea,
            name="発送済み",
            language="ja",
            body="発送しました。",
            set_status="solved",
            set_tags=["発送", "定型"],
            set_category=category,
        )
        outcome = reply_send(
            actor=actor, ticket=world.tea_ticket, body_text="発送しました。", template=template
        )
        ticket = Ticket.objects.get(pk=world.tea_ticket.pk)
        assert outcome.message is not None and outcome.draft is None
        assert ticket.status == "solved"
        assert sorted(tag.name for tag in ticket.tags.all()) == ["定型", "発送"]
        assert ticket.category_id == category.id


# Send approval ---------------------------------------------------------------------------------


def test_trainee_reply_becomes_a_draft_and_is_not_sent(world, trainee):
    actor = actor_for_user(trainee)
    with in_shop(world.tea.id):
        with pytest.raises(PermissionDeniedError):
            message_reply(actor=actor, ticket=world.tea_ticket, body_text="直接送信")
        outcome = reply_send(actor=actor, ticket=world.tea_ticket, body_text="確認いたします。")
        assert outcome.message is None
        draft = outcome.draft
        assert (draft.state, draft.author_id, draft.body_text) == (
            "pending",
            trainee.id,
            "確認いたします。",
        )
        assert not Message.objects.filter(ticket=world.tea_ticket, direction="outbound").exists()
    assert _events(world.tea_ticket, "reply.") == [
        ("reply.draft_submitted", {"draft_id": draft.id})
    ]


def test_supervisor_approves_an_edited_draft(world, trainee):
    with in_shop(world.tea.id):
        draft = reply_send(
            actor=actor_for_user(trainee),
            ticket=world.tea_ticket,
            body_text="確認します。\nお待ちを。",
        ).draft
        with pytest.raises(PermissionDeniedError):
            reply_draft_approve(actor=actor_for_user(world.operator_tea), draft=draft)
        message = reply_draft_approve(
            actor=actor_for_user(world.supervisor),
            draft=draft,
            body_text="確認いたします。\nお待ちを。",
        )
        draft.refresh_from_db()
        assert (message.author_user_id, message.body_text, message.direction) == (
            trainee.id,
            "確認いたします。\nお待ちを。",
            "outbound",
        )
        assert (draft.state, draft.reviewer_id, draft.message_id) == (
            "approved",
            world.supervisor.id,
            message.id,
        )
        assert draft.sent_text == "確認いたします。\nお待ちを。"
        with pytest.raises(ValidationError, match="already handled"):
            reply_draft_approve(actor=actor_for_user(world.supervisor), draft=draft)
        entry = AuditEntry.objects.get(action="reply.draft_approved")
        assert entry.actor_id == world.supervisor.id
        assert entry.changes["author"] == trainee.id and entry.changes["edited"] is True
    replied = [p for t, p in _events(world.tea_ticket) if t == "message.replied"]
    assert replied == [
        {"message_id": message.id, "channel": "email", "approved_by_id": world.supervisor.id}
    ]
    assert _events(world.tea_ticket, "reply.")[-1] == (
        "reply.draft_approved",
        {"draft_id": draft.id, "message_id": message.id, "is_edited": True},
    )


def test_supervisor_sends_a_draft_back_with_a_comment(world, trainee):
    with in_shop(world.tea.id):
        draft = reply_send(
            actor=actor_for_user(trainee), ticket=world.tea_ticket, body_text="わかりません"
        ).draft
        with pytest.raises(ValidationError):
            reply_draft_return(actor=actor_for_user(world.supervisor), draft=draft, comment=" ")
        reply_draft_return(
            actor=actor_for_user(world.supervisor), draft=draft, comment="配送状況を確認して"
        )
        draft.refresh_from_db()
        assert (draft.state, draft.review_comment) == ("returned", "配送状況を確認して")
        assert not Message.objects.filter(ticket=world.tea_ticket, direction="outbound").exists()


def test_text_diff_marks_added_and_removed_lines():
    diff = text_diff("a\nb\nc", "a\nB\nc\nd")
    assert [(line.kind, line.text) for line in diff] == [
        ("same", "a"),
        ("removed", "b"),
        ("added", "B"),
        ("same", "c"),
        ("added", "d"),
    ]


# After-hours replies ---------------------------------------------------------------------------


def _inbound(world, external_id, at, ticket_id=None):
    return InboundMessage(
        shop_id=world.tea.id,
        channel="email",
        external_id=external_id,
        body_text="夜分に失礼します。",
        subject="夜の問い合わせ",
        identities=[IdentityInput(kind="email", value="night@example.jp")],
        customer_name="夜田",
        received_at=at,
        ticket_id=ticket_id,
    )


@pytest.fixture
def after_hours_on(world):
    with in_shop(world.tea.id):
        AfterHoursSettings.objects.create(shop=world.tea, is_enabled=True)


def test_after_hours_reply_once_with_the_next_opening(world, after_hours_on):
    with in_shop(world.tea.id):
        first = receive_inbound(_inbound(world, "<n1@x>", tokyo(2026, 11, 22, 20, 0)))
        reply = after_hours_reply(first.message)
        assert reply is not None
        assert reply.body_text == (
            "お問い合わせいただきありがとうございます。\n"
            "ただいま営業時間外のため、2026年11月24日(火) 10:00以降に"
            "担当者より順にご返信いたします。\n"
            "営業時間: 月〜金 10:00〜12:00、13:00〜18:00(祝日を除く)\n山田園 茶舗"
        )
        assert (reply.direction, reply.author_user_id) == ("outbound", None)
        second = receive_inbound(
            _inbound(world, "<n2@x>", tokyo(2026, 11, 22, 21, 0), ticket_id=first.ticket.id)
        )
        assert after_hours_reply(second.message) is None
        ticket = Ticket.objects.get(pk=first.ticket.pk)
        # An automatic reply is no response: no first response time, no reply in the SLA history.
        assert ticket.first_responded_at is None
        assert ticket.status == "new"
        assert ticket_history(ticket=ticket).replies == []
    assert [t for t, _ in _events(first.ticket, "message.")] == [
        "message.received",
        "message.auto_replied",
        "message.received",
    ]


def test_no_after_hours_reply_in_business_hours_or_when_off(world, after_hours_on):
    with in_shop(world.tea.id):
        # Thursday 14:00: open.
        open_hours = receive_inbound(_inbound(world, "<d1@x>", tokyo(2026, 11, 26, 14, 0)))
        assert after_hours_reply(open_hours.message) is None
        AfterHoursSettings.objects.filter(shop=world.tea).update(is_enabled=False)
        closed = receive_inbound(_inbound(world, "<d2@x>", tokyo(2026, 11, 26, 12, 30)))
        assert after_hours_reply(closed.message) is None


def test_after_hours_reply_in_the_lunch_break_uses_the_shop_text(world, after_hours_on):
    with in_shop(world.tea.id):
        AfterHoursSettings.objects.filter(shop=world.tea).update(
            body="{{ customer_name }}様 {{ next_opening }}に再開します {{ settings.SECRET_KEY }}",
            body_approved_by=world.supervisor,
        )
        lunch = receive_inbound(_inbound(world, "<l1@x>", tokyo(2026, 11, 26, 12, 30)))
        reply = after_hours_reply(lunch.message)
    assert (
        reply.body_text == "夜田様 2026年11月26日(木) 13:00に再開します {{ settings.SECRET_KEY }}"
    )


def test_a_text_no_lead_approved_is_never_sent(client, world, after_hours_on):
    """A text saved before only leads could save it goes unsent until a lead saves it."""
    with in_shop(world.tea.id):
        AfterHoursSettings.objects.filter(shop=world.tea).update(body="研修生が書いた文面")
        lunch = receive_inbound(_inbound(world, "<u1@x>", tokyo(2026, 11, 26, 12, 30)))
        reply = after_hours_reply(lunch.message)
    assert "研修生" not in reply.body_text
    assert reply.body_text.startswith("お問い合わせいただきありがとうございます。")
    client.force_login(world.supervisor)
    url = reverse("operations:after_hours", args=["tea"])
    assert b'data-testid="after-hours-unapproved"' in client.get(url).content
    client.post(url, {"is_enabled": "on", "body": "研修生が書いた文面"})
    assert b'data-testid="after-hours-unapproved"' not in client.get(url).content
    with in_shop(world.tea.id):
        saved = AfterHoursSettings.objects.get(shop=world.tea)
        assert saved.body_approved_by == world.supervisor
        assert saved.sent_body == "研修生が書いた文面"


def test_after_hours_hook_runs_after_the_commit(
    world, after_hours_on, django_capture_on_commit_callbacks
):
    with in_shop(world.tea.id):
        with django_capture_on_commit_callbacks(execute=True):
            result = receive_inbound(_inbound(world, "<h1@x>", tokyo(2026, 11, 28, 3, 0)))
        replies = list(Message.objects.filter(ticket=result.ticket, direction="outbound"))
    assert len(replies) == 1
    assert "2026年11月30日(月) 10:00" in replies[0].body_text


def test_staff_logged_messages_get_no_after_hours_reply(world, after_hours_on):
    with in_shop(world.tea.id):
        message = factories.MessageFactory(
            ticket=world.tea_ticket,
            author_user=world.operator_tea,
            created_at=tokyo(2026, 11, 28, 3, 0),
        )
        assert after_hours_reply(message) is None
        assert not Message.objects.filter(ticket=world.tea_ticket, direction="outbound").exists()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_after_hours_messages_get_one_reply(world, monkeypatch):
    from django.db import connection

    from madoguchi.operations import replies

    with in_shop(world.tea.id):
        first = receive_inbound(_inbound(world, "<c1@x>", tokyo(2026, 11, 28, 3, 0)))
        second = receive_inbound(
            _inbound(world, "<c2@x>", tokyo(2026, 11, 28, 3, 1), ticket_id=first.ticket.id)
        )
        AfterHoursSettings.objects.create(shop=world.tea, is_enabled=True)
    met = threading.Barrier(2)
    calendar_for_shop = replies.calendar_for_shop

    def calendar_then_meet(*, shop_id):
        # Both hooks have read the settings and the calendar before either takes the lock.
        calendar = calendar_for_shop(shop_id=shop_id)
        met.wait(timeout=10)
        return calendar

    monkeypatch.setattr(replies, "calendar_for_shop", calendar_then_meet)
    results: list[object] = []
    errors: list[BaseException] = []

    def run(message):
        try:
            with in_shop(world.tea.id), transaction.atomic():
                results.append(after_hours_reply(message))
        except BaseException as error:  # reported by the test thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(m,)) for m in (first.message, second.message)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(result is None for result in results) == [False, True]
    with in_shop(world.tea.id):
        assert Message.objects.filter(ticket=first.ticket, direction="outbound").count() == 1
        assert Event.objects.filter(ticket=first.ticket, type="message.auto_replied").count() == 1
