"""The demo loader: idempotent, and it respects who may see which shop."""

from collections import Counter
from typing import Any

import pytest
from django.core.management import call_command

from madoguchi.accounts.models import User
from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Message, Tag, Ticket
from madoguchi.conversations.selectors import InboxFilters, InboxView, inbox_queryset
from madoguchi.customers.models import ContactIdentity, Customer
from madoguchi.demo import content
from madoguchi.demo.seed import seed_demo
from madoguchi.events.models import Event
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Membership, Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    with unscoped("test: count every shop's rows"):
        return {
            "users": User.objects.count(),
            "memberships": Membership.objects.count(),
            "shops": Shop.objects.count(),
            "customers": Customer.objects.count(),
            "identities": ContactIdentity.objects.count(),
            "tickets": Ticket.objects.count(),
            "messages": Message.objects.count(),
            "tags": Tag.objects.count(),
            "events": Event.objects.count(),
            "audit": AuditEntry.objects.count(),
        }


def test_second_run_changes_nothing() -> None:
    first = seed_demo()
    after_first = _counts()
    second = seed_demo()

    assert first.tickets_created == 80
    assert second.tickets_created == 0
    assert _counts() == after_first
    assert after_first["shops"] == 2
    assert after_first["users"] == 5  # admin, supervisor, operator, trainee, shop owner
    assert after_first["tickets"] == 80
    # The trainee revealed one tea customer's masked contacts, with a reason (ADR 0013).
    reveals = AuditEntry.objects.filter(action="customer.pii_revealed")
    assert list(reveals.values_list("actor__email", "shop__slug")) == [
        ("trainee@madoguchi-support.example", "tea")
    ]


def test_each_shop_has_forty_tickets_in_every_status_and_channel() -> None:
    seed_demo()
    with unscoped("test: inspect both shops"):
        for slug in ("tea", "ceramics"):
            tickets = Ticket.objects.filter(shop__slug=slug)
            statuses = Counter(tickets.values_list("status", flat=True))
            channels = set(tickets.values_list("channel", flat=True))
            assert tickets.count() == 40
            assert statuses == {
                "new": 6,
                "open": 10,
                "pending": 8,
                "on_hold": 2,
                "solved": 10,
                "closed": 4,
            }
            assert channels == {"email", "web_form", "chat", "line", "phone"}
        directions = set(Message.objects.values_list("direction", flat=True))
        assert directions == {"inbound", "outbound", "note"}
        tea = Shop.objects.get(slug="tea")
        assert [t.reference for t in Ticket.objects.filter(shop=tea).order_by("created_at")][
            :3
        ] == ["#TEA-1", "#TEA-2", "#TEA-3"]


def test_operator_sees_only_the_tea_shop() -> None:
    seed_demo()
    operator = User.objects.get(email="operator@madoguchi-support.example")
    actor = actor_for_user(operator)
    with unscoped("test: read what the inbox would show"):
        tea = Shop.objects.get(slug="tea")
        tickets = inbox_queryset(actor=actor, filters=InboxFilters(view=InboxView.OPEN))
        shop_ids = set(tickets.values_list("shop_id", flat=True))
        open_count = tickets.count()
        expected = Ticket.objects.filter(shop=tea).unsolved().count()
    assert actor.shop_ids == (tea.id,)
    assert shop_ids == {tea.id}
    assert open_count == expected == 26


def test_client_sees_only_the_tea_shop_and_does_not_work_tickets() -> None:
    seed_demo()
    client = User.objects.get(email="owner@yamada-en.example")
    actor = actor_for_user(client)
    with unscoped("test: look up the shops"):
        tea = Shop.objects.get(slug="tea")
        ceramics = Shop.objects.get(slug="ceramics")
    assert actor.shop_ids == (tea.id,)
    assert actor.role_for(ceramics.id) is None
    assert actor.is_staff_for(tea.id) is False


def test_demo_users_sign_in_with_the_shared_password() -> None:
    seed_demo(password="another-demo-pass")
    for person in content.PEOPLE:
        assert User.objects.get(email=person.email).check_password("another-demo-pass")


def test_command_prints_the_logins(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("demo_seed")
    out = capsys.readouterr().out
    assert "Demo data ready (80 tickets created)." in out
    assert "Demo logins (password: madoguchi-demo)" in out
    for person in content.PEOPLE:
        assert person.email in out
    assert "oathtool --totp" in out  # how the demo admin passes the two-step sign-in


def test_a_customer_has_a_memo_and_the_web_forms_link_a_privacy_policy() -> None:
    from madoguchi.connectors.webform.models import WebForm

    seed_demo()
    with unscoped("test: read both shops"):
        memos = dict(Customer.objects.exclude(note="").values_list("shop__slug", "note"))
        policies = dict(WebForm.objects.values_list("shop__slug", "privacy_policy_url"))
        memo_audits = AuditEntry.objects.filter(action="customer.note_changed").count()
        from madoguchi.privacy.models import RetentionPolicy, RetentionRun

        retention = list(
            RetentionPolicy.objects.values_list("shop__slug", "is_enabled", "closed_ticket_years")
        )
        runs = list(RetentionRun.objects.values_list("shop__slug", "errors"))
    assert memos == {
        "tea": "贈答用の注文が多い。のし・包装の指定を毎回確認する。連絡は平日の午前中を希望。",
        "ceramics": "割れ物の再発送を一度経験。梱包を厚めにするよう倉庫へ伝える。",
    }
    assert policies == {
        "tea": "https://yamada-en.example.jp/privacy",
        "ceramics": "https://aoki-tobo.example.jp/privacy",
    }
    assert memo_audits == 2
    # The tea shop's retention policy (ADR 0015) and its one past run, without errors.
    assert retention == [("tea", True, 3)]
    assert runs == [("tea", "")]


def test_the_tickets_show_the_orders_they_talk_about(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from madoguchi.commerce.models import Order, TicketOrderLink

    with django_capture_on_commit_callbacks(execute=True):  # the inbound hooks link them
        seed_demo()
    with unscoped("test: read both shops"):
        orders = Counter(number[:3] for number in Order.objects.values_list("number", flat=True))
        links = list(TicketOrderLink.objects.select_related("ticket", "order"))
        talking = set(
            Ticket.objects.filter(subject__regex=r"(YE|AT)-[0-9]{8}")
            .exclude(channel="phone")
            .values_list("id", flat=True)
        )
    assert orders == {"YE-": 40, "AT-": 40}
    assert talking and talking <= {link.ticket_id for link in links}
    assert {(link.source, link.order.customer_id == link.ticket.customer_id) for link in links} == {
        ("mention", True)
    }


def test_the_tea_operators_are_on_duty_in_business_hours() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from madoguchi.operations.models import OperatorProfile, Shift
    from madoguchi.operations.services import routing_candidates

    seed_demo()
    seed_demo()  # planned once
    with unscoped("test: read the agency's shifts"):
        tea = Shop.objects.get(slug="tea")
        profiles = {
            profile.membership.user.email: (profile.duty, tuple(profile.languages))
            for profile in OperatorProfile.objects.select_related("membership__user")
        }
        shifts = Counter(Shift.objects.values_list("membership__user__email", flat=True))
        first = Shift.objects.order_by("starts_at").first()
    operators = {p.email for p in content.PEOPLE if p.role == Membership.Role.OPERATOR}
    assert set(profiles) == operators
    assert set(profiles.values()) == {("available", ("ja",))}
    assert set(shifts) == operators
    assert len(set(shifts.values())) == 1 and 9 <= next(iter(shifts.values())) <= 10
    local = first.starts_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (local.hour, (first.ends_at - first.starts_at)) == (10, dt.timedelta(hours=8))
    during = first.starts_at + dt.timedelta(hours=1)
    with in_shop(tea.id):
        on_duty = {c.user_id for c in routing_candidates(shop=tea, now=during) if c.is_on_duty}
    assert len(on_duty) == len(operators)
