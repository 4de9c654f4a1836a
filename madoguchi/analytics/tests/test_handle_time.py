"""Handle time: the heartbeat endpoint caps what a request may claim, the facts sum the
`ticket.worked` events per ticket and person, and the dashboard shows the exact figures."""

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from madoguchi.analytics import handle_time
from madoguchi.analytics.facts import EventRow, WorkTotal, ticket_figures
from madoguchi.analytics.handle_time import (
    HandleTimeFigure,
    OperatorHandleRow,
    handle_by_operator,
    handle_drilldown,
    ticket_work_record,
)
from madoguchi.analytics.models import HandleFact
from madoguchi.analytics.selectors import Filters, drilldown_tickets
from madoguchi.analytics.services import analytics_apply_new_events, analytics_rebuild
from madoguchi.analytics.tests.history import TOKYO, at, build
from madoguchi.core import rate_limits
from madoguchi.events.models import ActorKind, Event
from madoguchi.operations.calendar import BusinessCalendar
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import shop_scope, unscoped

NOVEMBER = "date_from=2026-11-01&date_to=2026-11-30"


def worked(ticket, user, when, seconds, composing=0):
    return Event.objects.create(
        shop=ticket.shop,
        ticket=ticket,
        type="ticket.worked",
        actor_kind=ActorKind.OPERATOR,
        actor_user=user,
        occurred_at=when,
        payload={"seconds": seconds, "composing_seconds": composing},
    )


@pytest.fixture
def history(world):
    """The hand-made history with handle time: in the tea shop's November t1 was worked 150 s
    (operator 120, 60 of them composing; supervisor 30), t2 300 s (operator, 200 composing),
    t3 45 s (supervisor), t4 not at all; October's t6 600 s; the ceramics ticket 999 s."""
    with unscoped("test setup"):
        made = build(tea=world.tea, ceramics=world.ceramics, operator=world.operator_tea)
        worked(made.t1, world.operator_tea, at(11, 2, 13, 0), 90, 60)
        worked(made.t1, world.operator_tea, at(11, 2, 13, 29), 30)
        worked(made.t1, world.supervisor, at(11, 2, 14), 30)
        worked(made.t2, world.operator_tea, at(11, 4, 10, 29), 300, 200)
        worked(made.t3, world.supervisor, at(11, 5, 10, 9), 45)
        worked(made.t6, world.operator_tea, at(10, 15, 11), 600)
        worked(made.other_shop, world.operator_ceramics, at(11, 2, 11, 4), 999)
    analytics_apply_new_events()
    return made


@pytest.fixture
def november(world):
    return Filters(
        shop_ids=(world.tea.id,),
        start=dt.datetime(2026, 11, 1, tzinfo=TOKYO),
        end=dt.datetime(2026, 12, 1, tzinfo=TOKYO),
    )


@pytest.fixture
def scoped(world):
    with shop_scope((world.tea.id, world.ceramics.id)):
        yield


def test_facts_sum_the_worked_events_per_person():
    start = dt.datetime(2026, 11, 2, 10, tzinfo=TOKYO)
    events = [
        EventRow(1, "ticket.worked", start, {"seconds": 40, "composing_seconds": 10}, 7),
        EventRow(2, "ticket.worked", start, {"seconds": 20, "composing_seconds": 50}, 7),
        EventRow(3, "ticket.worked", start, {"seconds": 15}, 3),
        EventRow(4, "ticket.worked", start, {"seconds": "many"}, 3),
        EventRow(5, "ticket.worked", start, {"seconds": True}, 9),
    ]
    figures = ticket_figures(created_at=start, events=events, calendar=BusinessCalendar())
    # Composing never exceeds the seconds of its event; invalid payloads count nothing.
    assert figures.work == (WorkTotal(3, 15, 0), WorkTotal(7, 60, 30))


def test_handle_time_figures_are_exact(history, november, scoped, world):
    assert handle_time.handle_time(november) == HandleTimeFigure(
        tickets=3, median=150, p90=300, total=495, composing_total=260
    )
    assert handle_time.handle_time(november.previous()) == HandleTimeFigure(
        tickets=1, median=600, p90=600, total=600, composing_total=0
    )
    assert handle_by_operator(november) == [
        OperatorHandleRow(
            key=str(world.operator_tea.id),
            label=world.operator_tea.display_name,
            tickets=2,
            seconds=420,
            composing_seconds=260,
        ),
        OperatorHandleRow(
            key=str(world.supervisor.id),
            label=world.supervisor.display_name,
            tickets=2,
            seconds=75,
            composing_seconds=0,
        ),
    ]
    # The channel filter narrows to t2 (chat); the ceramics shop has its own 999 s.
    chat = Filters(
        shop_ids=november.shop_ids, start=november.start, end=november.end, channel="chat"
    )
    assert handle_time.handle_time(chat).total == 300
    ceramics = Filters(shop_ids=(world.ceramics.id,), start=november.start, end=november.end)
    assert handle_time.handle_time(ceramics).median == 999


def test_drilldown_lists_the_tickets_longest_first(history, november, scoped, world):
    rows, total = handle_drilldown(november, operator="", with_operators=True)
    assert total == 3
    assert [(row.number, row.business_seconds) for row in rows] == [
        (history.t2.number, 300),
        (history.t1.number, 150),
        (history.t3.number, 45),
    ]
    mine, total = drilldown_tickets(
        november,
        figure=f"handle:{world.operator_tea.id}",
        now=at(11, 30, 12),
        with_operators=True,
    )
    assert total == 2
    assert [(row.number, row.business_seconds) for row in mine] == [
        (history.t2.number, 300),
        (history.t1.number, 120),
    ]
    with pytest.raises(ValueError):
        handle_drilldown(november, operator=str(world.operator_tea.id), with_operators=False)


def test_rebuild_gives_the_same_rows(history, world):
    def rows():
        with shop_scope((world.tea.id, world.ceramics.id)):
            return sorted(
                HandleFact.objects.values_list(
                    "shop_id", "fact__ticket_id", "operator_id", "seconds", "composing_seconds"
                )
            )

    applied = rows()
    assert len(applied) == 6
    analytics_rebuild()
    assert rows() == applied


def test_dashboard_shows_handle_time(english, world, history):
    english.force_login(world.supervisor)
    response = english.get(
        f"{reverse('analytics:shop_dashboard', args=[world.tea.slug])}?{NOVEMBER}"
    )
    html = response.content.decode()
    assert 'data-testid="handle-median">0:02:30<' in html
    assert 'data-testid="handle-p90">0:05:00<' in html
    assert 'data-testid="handle-total">0:08:15<' in html
    assert 'data-testid="handle-composing">0:04:20<' in html
    operators = html.split('data-testid="handle-operators-table"')[1].split("</table>")[0]
    assert world.operator_tea.display_name in operators
    assert "0:07:00" in operators
    drill = english.get(
        f"{reverse('analytics:tickets')}?shop={world.tea.slug}&{NOVEMBER}&figure=handle"
    )
    cells = drill.content.decode().split('data-testid="handle-time">')[1:]
    assert [cell.split("<")[0] for cell in cells] == ["0:05:00", "0:02:30", "0:00:45"]


def test_client_sees_handle_time_without_operator_names(english, world, history):
    english.force_login(world.client_tea)
    response = english.get(f"{reverse('analytics:dashboard')}?{NOVEMBER}")
    html = response.content.decode()
    assert 'data-testid="handle-median">0:02:30<' in html
    assert 'data-testid="handle-operators-table"' not in html
    hidden = english.get(
        f"{reverse('analytics:tickets')}?{NOVEMBER}&figure=handle:{world.operator_tea.id}"
    )
    # A figure the reader may not see falls back to the period's tickets.
    assert 'data-testid="handle-time"' not in hidden.content.decode()


# The heartbeat ---------------------------------------------------------------------------------


def test_a_beat_claims_at_most_the_time_since_the_previous_one(world):
    cache.clear()
    actor = actor_for_user(world.operator_tea)
    ticket = world.tea_ticket
    start = dt.datetime(2026, 11, 2, 10, tzinfo=TOKYO)
    with shop_scope((world.tea.id,)):
        first = ticket_work_record(
            actor=actor, ticket=ticket, seconds=30, composing_seconds=12, now=start
        )
        assert first.payload == {"seconds": 30, "composing_seconds": 12}
        assert first.actor_user_id == world.operator_tea.id
        later = start + dt.timedelta(seconds=10)
        second = ticket_work_record(actor=actor, ticket=ticket, seconds=30, now=later)
        assert second.payload == {"seconds": 10, "composing_seconds": 0}
        assert ticket_work_record(actor=actor, ticket=ticket, seconds=30, now=later) is None
        much_later = start + dt.timedelta(hours=1)
        third = ticket_work_record(
            actor=actor, ticket=ticket, seconds=5000, composing_seconds=9000, now=much_later
        )
        assert third.payload == {"seconds": 90, "composing_seconds": 90}
        assert ticket_work_record(actor=actor, ticket=ticket, seconds=-5, now=much_later) is None


def test_the_endpoint_appends_a_worked_event(english, world):
    cache.clear()
    english.force_login(world.operator_tea)
    url = reverse("analytics:ticket_worked", args=[world.tea.slug, world.tea_ticket.number])
    response = english.post(url, {"seconds": "25", "composing": "5"})
    assert response.status_code == 204
    with shop_scope((world.tea.id,)):
        events = list(Event.objects.filter(type="ticket.worked"))
    assert [(event.ticket_id, event.actor_user_id, event.payload) for event in events] == [
        (world.tea_ticket.id, world.operator_tea.id, {"seconds": 25, "composing_seconds": 5})
    ]
    # At once again: no time has passed since, nothing is claimed.
    assert english.post(url, {"seconds": "25"}).status_code == 204
    assert english.post(url, {"seconds": "nonsense"}).status_code == 204
    with shop_scope((world.tea.id,)):
        assert Event.objects.filter(type="ticket.worked").count() == 1
    assert english.get(url).status_code == 405


def test_the_endpoint_refuses_others(english, world):
    cache.clear()
    url = reverse("analytics:ticket_worked", args=[world.tea.slug, world.tea_ticket.number])
    english.force_login(world.operator_ceramics)
    assert english.post(url, {"seconds": "25"}).status_code == 404
    english.force_login(world.client_tea)
    assert english.post(url, {"seconds": "25"}).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.operator_tea)
    assert strict.post(url, {"seconds": "25"}).status_code == 403
    with shop_scope((world.tea.id,)):
        assert not Event.objects.filter(type="ticket.worked").exists()


def test_the_endpoint_is_rate_limited(english, world, monkeypatch):
    cache.clear()
    # One fixed window, whatever the clock says.
    monkeypatch.setattr(rate_limits, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))
    english.force_login(world.operator_tea)
    url = reverse("analytics:ticket_worked", args=[world.tea.slug, world.tea_ticket.number])
    answers = [english.post(url, {"seconds": "1"}).status_code for _ in range(13)]
    assert answers == [204] * 12 + [429]


def test_the_ticket_page_loads_the_beacon_for_staff_only(english, world):
    url = reverse("conversations:ticket", args=[world.tea.slug, world.tea_ticket.number])
    english.force_login(world.operator_tea)
    html = english.get(url).content.decode()
    assert 'data-testid="handle-time-beacon"' in html
    assert "analytics/handle_time" in html
    english.force_login(world.client_tea)
    assert 'data-testid="handle-time-beacon"' not in english.get(url).content.decode()
