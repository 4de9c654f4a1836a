"""Routing fairness over 1,000 tickets, duty and language filters, limits, and the service."""

import datetime as dt
from collections import Counter

from django.utils import timezone

from madoguchi.conversations.models import Ticket
from madoguchi.conversations.services import InboundMessage, receive_inbound
from madoguchi.customers.services import IdentityInput
from madoguchi.events.models import Event
from madoguchi.operations.coverage import uncovered_periods
from madoguchi.operations.models import RoutingSettings
from madoguchi.operations.routing import Candidate, eligible, pick_least_load, pick_round_robin
from madoguchi.operations.services import route_new_tickets, route_ticket
from madoguchi.operations.tests.staffing import tea_operator
from madoguchi.tenancy.scoping import in_shop


def _candidates(count: int, **overrides: object) -> list[Candidate]:
    base = {"is_on_duty": True, "languages": frozenset({"ja"}), "open_tickets": 0}
    return [Candidate(user_id=i, **{**base, **overrides}) for i in range(1, count + 1)]  # type: ignore[arg-type]


def test_round_robin_is_fair_over_1000_tickets() -> None:
    pool = _candidates(7)
    last = None
    counts: Counter[int] = Counter()
    for _ in range(1000):
        last = pick_round_robin(pool, last_user_id=last)
        counts[last] += 1  # type: ignore[index]
    assert sorted(counts.values()) == [142, 143, 143, 143, 143, 143, 143]


def test_least_load_balances_uneven_start_over_1000_tickets() -> None:
    loads = {1: 30, 2: 0, 3: 10, 4: 5}
    last = None
    for _ in range(1000):
        pool = [
            Candidate(user_id=u, is_on_duty=True, languages=frozenset({"ja"}), open_tickets=n)
            for u, n in loads.items()
        ]
        last = pick_least_load(pool, last_user_id=last)
        loads[last] += 1  # type: ignore[index]
    # 1,045 tickets in all end up spread within one ticket of each other.
    assert sorted(loads.values()) == [261, 261, 261, 262]


def test_off_duty_wrong_language_and_full_operators_are_skipped() -> None:
    pool = [
        Candidate(1, is_on_duty=False, languages=frozenset({"ja"}), open_tickets=0),
        Candidate(2, is_on_duty=True, languages=frozenset({"en"}), open_tickets=0),
        Candidate(3, is_on_duty=True, languages=frozenset({"ja", "en"}), open_tickets=5),
        Candidate(4, is_on_duty=True, languages=frozenset({"ja"}), open_tickets=4),
    ]
    assert [c.user_id for c in eligible(pool, language="ja", max_open=5)] == [4]
    assert [c.user_id for c in eligible(pool, language="en", max_open=None)] == [2, 3]
    assert [c.user_id for c in eligible(pool, language="zh", max_open=None)] == []
    assert [
        c.user_id for c in eligible(pool, language="zh", max_open=None, requires_language=False)
    ] == [2, 3, 4]
    assert pick_round_robin([], last_user_id=3) is None


def test_round_robin_wraps_after_the_last_user() -> None:
    pool = _candidates(3)
    assert pick_round_robin(pool, last_user_id=3) == 1
    assert pick_round_robin(pool, last_user_id=None) == 1


def test_uncovered_hours() -> None:
    day = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    shifts = [
        (day.replace(hour=0), day.replace(hour=9)),
        (day.replace(hour=9), day.replace(hour=17)),
        (day.replace(hour=20), day.replace(hour=23, minute=30)),
    ]
    gaps = uncovered_periods((day, day + dt.timedelta(days=1)), shifts)
    assert gaps == [
        (day.replace(hour=17), day.replace(hour=20)),
        (day.replace(hour=23), day + dt.timedelta(days=1)),
    ]


def _operator(world, *, languages, available=True, on_shift=True):
    on_shift_at = timezone.now() if on_shift else None
    return tea_operator(world, languages=languages, available=available, on_shift_at=on_shift_at)


def _new_ticket(world, n: int, language: str = "ja") -> Ticket:
    with in_shop(world.tea.id):
        return receive_inbound(
            InboundMessage(
                shop_id=world.tea.id,
                channel="email",
                external_id=f"route-{n}@example.jp",
                body_text="問い合わせです",
                subject=f"件名{n}",
                language=language,
                identities=[IdentityInput(kind="email", value=f"c{n}@example.jp")],
            )
        ).ticket


def test_route_ticket_round_robin_among_eligible_operators(world):
    first = _operator(world, languages=["ja"])
    second = _operator(world, languages=["ja", "en"])
    _operator(world, languages=["ja"], available=False)
    _operator(world, languages=["ja"], on_shift=False)
    with in_shop(world.tea.id):
        RoutingSettings.objects.create(shop=world.tea, mode=RoutingSettings.Mode.ROUND_ROBIN)
    tickets = [_new_ticket(world, n) for n in range(4)]
    with in_shop(world.tea.id):
        assignees = [route_ticket(ticket_id=t.id) for t in tickets]
        assert assignees == [first, second, first, second]
        english = _new_ticket(world, 99, language="en")
        assert route_ticket(ticket_id=english.id) == second
        routed = Ticket.objects.get(pk=tickets[0].id)
        assert (routed.assignee, routed.status) == (first, "open")
        event = Event.objects.filter(ticket=routed, type="ticket.assigned").get()
        assert event.actor_kind == "system" and event.payload["rule"] == "round_robin"
        # Already assigned: routing leaves it alone.
        assert route_ticket(ticket_id=tickets[0].id) is None


def test_route_new_tickets_follows_the_event_log_and_respects_limits(world):
    operator = _operator(world, languages=["ja"])
    with in_shop(world.tea.id):
        RoutingSettings.objects.create(
            shop=world.tea, mode=RoutingSettings.Mode.LEAST_LOAD, max_open_per_operator=2
        )
    for n in range(3):
        _new_ticket(world, n)
    assert route_new_tickets() == 2
    assert route_new_tickets() == 0
    with in_shop(world.tea.id):
        assert Ticket.objects.filter(assignee=operator).count() == 2


def test_manual_mode_assigns_nothing(world):
    _operator(world, languages=["ja"])
    ticket = _new_ticket(world, 1)
    with in_shop(world.tea.id):
        assert route_ticket(ticket_id=ticket.id) is None
        RoutingSettings.objects.create(shop=world.tea, mode=RoutingSettings.Mode.MANUAL)
        assert route_ticket(ticket_id=ticket.id) is None


def test_new_tickets_of_shops_routed_by_hand_cost_no_query_each(
    world, django_assert_max_num_queries
):
    # Email is routed automatically, chat by hand: a burst of new chats is passed over with the
    # batch's few queries (the job shares the web process's CPU in the embedded default).
    operator = _operator(world, languages=["ja"])
    with in_shop(world.tea.id):
        RoutingSettings.objects.create(
            shop=world.tea,
            mode=RoutingSettings.Mode.LEAST_LOAD,
            channel_modes={"chat": RoutingSettings.Mode.MANUAL},
        )
        for n in range(25):
            receive_inbound(
                InboundMessage(
                    shop_id=world.tea.id,
                    channel="chat",
                    external_id=f"chat-{n}",
                    body_text="こんにちは",
                    identities=[IdentityInput(kind="email", value=f"v{n}@example.jp")],
                )
            )
    with django_assert_max_num_queries(8):
        assert route_new_tickets() == 0
    email = _new_ticket(world, 1)
    assert route_new_tickets() == 1
    with in_shop(world.tea.id):
        assert Ticket.objects.get(pk=email.id).assignee == operator
