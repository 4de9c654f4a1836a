"""Inbox views, filters, keyset pagination, ticket access and the timeline."""

import base64
import datetime as dt
import json

import pytest
from django.core.files.base import ContentFile

from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.conversations.selectors import (
    InboxFilters,
    InboxView,
    access_ticket,
    customer_tickets,
    inbox_counts,
    inbox_page,
    ticket_timeline,
)
from madoguchi.core.errors import NotFoundError, ValidationError
from madoguchi.core.templatetags.madoguchi_ui import ticket_rows
from madoguchi.core.testing import factories
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import shop_scope, unscoped

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def inbox(world):
    """Tickets across both shops in every state; the world's two tickets tie at T0."""
    with unscoped("test setup: inbox tickets in two shops"):
        Ticket.objects.filter(pk__in=[world.tea_ticket.pk, world.ceramics_ticket.pk]).update(
            last_activity_at=T0
        )
        rows = {
            "tea_ticket": world.tea_ticket,
            "ceramics_ticket": world.ceramics_ticket,
        }
        spec = [
            ("t_new", world.tea, "new", None, "normal", "email", 1),
            ("t_open_mine", world.tea, "open", world.operator_tea, "high", "line", 2),
            ("t_pending_mine", world.tea, "pending", world.operator_tea, "normal", "email", 3),
            ("t_on_hold", world.tea, "on_hold", world.supervisor, "normal", "phone", 4),
            ("t_solved_mine", world.tea, "solved", world.operator_tea, "normal", "email", 5),
            ("t_closed", world.tea, "closed", None, "low", "email", 6),
            ("c_open", world.ceramics, "open", None, "urgent", "chat", 7),
            ("c_pending", world.ceramics, "pending", world.operator_ceramics, "normal", "email", 8),
        ]
        for name, shop, status, assignee, priority, channel, minutes in spec:
            rows[name] = factories.TicketFactory(
                shop=shop,
                status=status,
                assignee=assignee,
                priority=priority,
                channel=channel,
                created_at=_at(minutes),
                subject=name,
            )
    return rows


def _page(user, **filters):
    actor = actor_for_user(user)
    with shop_scope(actor.shop_ids):
        page = inbox_page(actor=actor, filters=InboxFilters(**filters), page_size=50)
    assert page.next_cursor is None
    return [
        ticket.subject if ticket.subject.startswith(("t_", "c_")) else _world_name(ticket)
        for ticket in page.tickets
    ]


def _world_name(ticket):
    return "tea_ticket" if ticket.shop.slug == "tea" else "ceramics_ticket"


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (InboxView.MINE, ["t_pending_mine", "t_open_mine"]),
        (InboxView.UNASSIGNED, ["t_new", "tea_ticket"]),
        (
            InboxView.OPEN,
            ["t_on_hold", "t_pending_mine", "t_open_mine", "t_new", "tea_ticket"],
        ),
        (InboxView.PENDING, ["t_pending_mine"]),
        (InboxView.SOLVED, ["t_closed", "t_solved_mine"]),
    ],
)
def test_saved_views_for_an_operator(world, inbox, view, expected):
    assert _page(world.operator_tea, view=view) == expected


def test_admin_sees_both_shops_newest_first_ties_by_id(world, inbox):
    # The world's tickets tie on activity; the later id (ceramics) comes first.
    assert _page(world.admin, view=InboxView.OPEN) == [
        "c_pending",
        "c_open",
        "t_on_hold",
        "t_pending_mine",
        "t_open_mine",
        "t_new",
        "ceramics_ticket",
        "tea_ticket",
    ]
    assert _page(world.admin, view=InboxView.MINE) == []
    assert _page(world.operator_ceramics, view=InboxView.MINE) == ["c_pending"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"shop_id": "ceramics"}, ["c_pending", "c_open", "ceramics_ticket"]),
        ({"status": "pending"}, ["c_pending", "t_pending_mine"]),
        ({"priority": "urgent"}, ["c_open"]),
        ({"channel": "line"}, ["t_open_mine"]),
        ({"assignee_id": "supervisor"}, ["t_on_hold"]),
        ({"view": InboxView.SOLVED, "priority": "low"}, ["t_closed"]),
        ({"status": "pending", "shop_id": "tea"}, ["t_pending_mine"]),
    ],
)
def test_filters(world, inbox, filters, expected):
    resolved = {"view": InboxView.OPEN}
    for key, value in filters.items():
        if key in ("shop_id", "assignee_id"):
            value = getattr(world, value).id  # named in the parameters, resolved here
        resolved[key] = value
    assert _page(world.admin, **resolved) == expected


def test_filter_on_a_shop_the_actor_cannot_see_gives_nothing(world, inbox):
    assert _page(world.operator_tea, view=InboxView.OPEN, shop_id=world.ceramics.id) == []


def test_client_sees_its_shop_only(world, inbox):
    assert _page(world.client_ceramics, view=InboxView.OPEN) == [
        "c_pending",
        "c_open",
        "ceramics_ticket",
    ]
    assert _page(world.client_ceramics, view=InboxView.MINE) == []


def test_unknown_view_raises(world):
    actor = actor_for_user(world.admin)
    with shop_scope(actor.shop_ids), pytest.raises(ValidationError, match="Unknown view"):
        inbox_page(actor=actor, filters=InboxFilters(view="everything"))


def test_inbox_counts(world, inbox):
    operator = actor_for_user(world.operator_tea)
    with shop_scope(operator.shop_ids):
        assert inbox_counts(actor=operator) == {
            "mine": 2,
            "unassigned": 2,
            "open": 5,
            "pending": 1,
            "undelivered": 0,
        }
    admin = actor_for_user(world.admin)
    with shop_scope(admin.shop_ids):
        assert inbox_counts(actor=admin) == {
            "mine": 0,
            "unassigned": 4,
            "open": 8,
            "pending": 2,
            "undelivered": 0,
        }


def test_inbox_counts_stop_at_the_cap(world, inbox):
    admin = actor_for_user(world.admin)
    with shop_scope(admin.shop_ids):
        assert inbox_counts(actor=admin, cap=3) == {
            "mine": 0,
            "unassigned": 3,
            "open": 3,
            "pending": 2,
            "undelivered": 0,
        }


def test_keyset_pagination_walks_every_ticket_once_in_order(world):
    # 60 tickets in groups of three that tie on activity; odd groups carry microseconds.
    with unscoped("test setup: many tickets"):
        Ticket.objects.filter(pk=world.tea_ticket.pk).update(last_activity_at=_at(-1))
        for index in range(60):
            group = index // 3
            at = _at(group) + dt.timedelta(microseconds=123456 if group % 2 else 0)
            factories.TicketFactory(shop=world.tea, created_at=at)
        expected = list(
            Ticket.objects.filter(shop=world.tea)
            .order_by("-last_activity_at", "-id")
            .values_list("id", flat=True)
        )
    assert len(expected) == 61
    actor = actor_for_user(world.operator_tea)
    seen: list[int] = []
    pages = 0
    cursor = None
    with shop_scope(actor.shop_ids):
        while True:
            page = inbox_page(
                actor=actor, filters=InboxFilters(view=InboxView.OPEN), cursor=cursor, page_size=7
            )
            pages += 1
            seen.extend(ticket.id for ticket in page.tickets)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert seen == expected
    assert pages == 9  # 8 full pages of 7 and one of 5


def test_last_full_page_has_no_next_cursor(world):
    actor = actor_for_user(world.operator_tea)
    with unscoped("test setup"):
        factories.TicketFactory(shop=world.tea)
    with shop_scope(actor.shop_ids):
        page = inbox_page(actor=actor, filters=InboxFilters(), page_size=2)
    assert len(page.tickets) == 2
    assert page.next_cursor is None


def _raw_cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "e30",  # {}
        _raw_cursor(None),
        _raw_cursor([1]),
        _raw_cursor([5, 1]),
        _raw_cursor(["yesterday", 1]),
        _raw_cursor(["2026-11-20T01:00:00+00:00", "x"]),
        _raw_cursor(["2026-11-20T01:00:00+00:00", None]),
        _raw_cursor(["2026-11-20T01:00:00+00:00", 1, 2]),
        _raw_cursor(["2026-11-20T01:00:00", 1]),  # no time zone
        "WyIyMDI2LTExLTIwVDAxOjAwOjAwKzAwOjAwIiwgMWU0MDBd",  # ["...", 1e400]: infinity
    ],
)
def test_bad_cursor_raises_validation_error(world, cursor):
    actor = actor_for_user(world.operator_tea)
    with shop_scope(actor.shop_ids), pytest.raises(ValidationError, match="page link"):
        inbox_page(actor=actor, filters=InboxFilters(), cursor=cursor)


def test_inbox_page_query_ceiling(world, django_assert_max_num_queries):
    with unscoped("test setup"):
        for _ in range(30):
            factories.TicketFactory(
                shop=world.tea,
                assignee=world.operator_tea,
                category=None,
                status="open",
            )
    actor = actor_for_user(world.admin)
    # One query for the page, including everything its rows show (loaded with `only`).
    with shop_scope(actor.shop_ids), django_assert_max_num_queries(1):
        page = inbox_page(actor=actor, filters=InboxFilters(), page_size=25)
        html = ticket_rows(page.tickets)
    assert len(page.tickets) == 25
    assert html.count('data-testid="ticket-row"') == 25
    assert world.operator_tea.display_name in html


def test_access_ticket(world):
    operator = actor_for_user(world.operator_tea)
    with shop_scope(operator.shop_ids):
        assert access_ticket(actor=operator, shop_slug="tea", number=1) == world.tea_ticket
        with pytest.raises(NotFoundError):
            access_ticket(actor=operator, shop_slug="ceramics", number=1)
        with pytest.raises(NotFoundError):
            access_ticket(actor=operator, shop_slug="tea", number=999)
    # Even with both shops in scope the actor's own shops decide.
    with shop_scope((world.tea.id, world.ceramics.id)), pytest.raises(NotFoundError):
        access_ticket(actor=operator, shop_slug="ceramics", number=1)
    client = actor_for_user(world.client_ceramics)
    with shop_scope(client.shop_ids):
        assert access_ticket(actor=client, shop_slug="ceramics", number=1) == world.ceramics_ticket
        with pytest.raises(NotFoundError):
            access_ticket(actor=client, shop_slug="tea", number=1)


@pytest.fixture
def timeline(world):
    """The tea ticket's conversation: inbound, note, reply (with attachments)."""
    ticket = world.tea_ticket
    with unscoped("test setup: a conversation"):
        inbound = Message.objects.get(ticket=ticket)
        Message.objects.filter(pk=inbound.pk).update(created_at=_at(0))
        note = factories.MessageFactory(
            ticket=ticket,
            direction="note",
            author_user=world.operator_tea,
            body_text="在庫確認中",
            created_at=_at(1),
        )
        reply = factories.MessageFactory(
            ticket=ticket,
            direction="outbound",
            author_user=world.operator_tea,
            body_text="発送しました",
            created_at=_at(2),
        )
        same_time = factories.MessageFactory(ticket=ticket, body_text="追伸", created_at=_at(2))
        for name in ("invoice.pdf", "photo.jpg"):
            Attachment.objects.create(
                shop=world.tea,
                message=reply,
                filename=name,
                content_type="application/octet-stream",
                size=3,
                sha256="0" * 64,
                file=ContentFile(b"abc", name=name),
            )
    return {"inbound": inbound, "note": note, "reply": reply, "same_time": same_time}


def test_timeline_shows_notes_to_staff_only(world, timeline):
    order = ["inbound", "note", "reply", "same_time"]
    staff = actor_for_user(world.operator_tea)
    with shop_scope(staff.shop_ids):
        messages = ticket_timeline(actor=staff, ticket=world.tea_ticket)
    assert [m.id for m in messages] == [timeline[name].id for name in order]
    client = actor_for_user(world.client_tea)
    with shop_scope(client.shop_ids):
        messages = ticket_timeline(actor=client, ticket=world.tea_ticket)
    assert [m.id for m in messages] == [timeline[name].id for name in order if name != "note"]


def test_timeline_query_ceiling(world, timeline, django_assert_max_num_queries):
    staff = actor_for_user(world.operator_tea)
    with shop_scope(staff.shop_ids), django_assert_max_num_queries(2):
        messages = ticket_timeline(actor=staff, ticket=world.tea_ticket)
        summary = [
            (
                m.author_user and m.author_user.display_name,
                m.author_customer and m.author_customer.name,
                sorted(a.filename for a in m.attachments.all()),
            )
            for m in messages
        ]
    assert summary[2] == (world.operator_tea.display_name, None, ["invoice.pdf", "photo.jpg"])


def test_customer_tickets(world, inbox):
    customer = world.tea_ticket.customer
    with unscoped("test setup"):
        later = factories.TicketFactory(shop=world.tea, customer=customer, created_at=_at(10))
    with shop_scope((world.tea.id,)):
        assert list(customer_tickets(customer_id=customer.id, shop_id=world.tea.id)) == [
            later,
            world.tea_ticket,
        ]
        assert list(customer_tickets(customer_id=customer.id, shop_id=world.ceramics.id)) == []
