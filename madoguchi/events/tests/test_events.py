"""The event log: registered types only, append-only rows, cursor reads per shop."""

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.events.models import ActorKind, Event
from madoguchi.events.registry import EVENT_TYPES, get_event_type
from madoguchi.events.selectors import events_after, ticket_events
from madoguchi.events.services import event_append
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db


def _append(shop, type="ticket.created", **kwargs):
    return event_append(shop=shop, type=type, actor_kind=ActorKind.SYSTEM, **kwargs)


def test_append_stores_type_version_payload_and_actor(world):
    at = timezone.now() - dt.timedelta(minutes=3)
    with in_shop(world.tea.id):
        event = event_append(
            shop=world.tea,
            ticket=world.tea_ticket,
            type="ticket.status_changed",
            actor_kind=ActorKind.OPERATOR,
            actor_user=world.operator_tea,
            payload={"old": "new", "new": "open"},
            occurred_at=at,
        )
        stored = Event.objects.get(pk=event.pk)
    assert stored.shop_id == world.tea.id
    assert stored.ticket_id == world.tea_ticket.id
    assert stored.type == "ticket.status_changed"
    assert stored.payload_version == 1
    assert stored.payload == {"old": "new", "new": "open"}
    assert stored.actor_kind == "operator"
    assert stored.actor_user_id == world.operator_tea.id
    assert stored.actor_customer_id is None
    assert stored.occurred_at == at


def test_unknown_event_type_raises(world):
    with in_shop(world.tea.id), pytest.raises(KeyError):
        _append(world.tea, type="ticket.exploded")
    with unscoped("test: count events"):
        assert Event.objects.count() == 0


def test_event_ticket_must_belong_to_the_shop(world):
    with unscoped("test: cross-shop check"):
        with pytest.raises(ValueError, match="ticket must belong to its shop"):
            _append(world.tea, ticket=world.ceramics_ticket)
        assert Event.objects.count() == 0


def test_events_are_append_only(world):
    with in_shop(world.tea.id):
        event = _append(world.tea, payload={"subject": "x"})
        event.payload = {"subject": "rewritten"}
        with pytest.raises(TypeError, match="append-only"):
            event.save()
        with pytest.raises(TypeError, match="append-only"):
            event.delete()
        with pytest.raises(TypeError, match="append-only"):
            Event.objects.filter(pk=event.pk).update(payload={})
        with pytest.raises(TypeError, match="append-only"):
            Event.objects.filter(pk=event.pk).delete()
        with pytest.raises(TypeError, match="append-only"):
            Event.objects.all().delete()
        assert Event.objects.get(pk=event.pk).payload == {"subject": "x"}


def test_events_after_reads_one_shop_from_a_cursor_in_order(world):
    with unscoped("test setup: events in two shops"):
        tea_events = [_append(world.tea, payload={"n": n}) for n in range(5)]
        _append(world.ceramics, payload={"n": 99})
    with in_shop(world.tea.id):
        assert [e.payload["n"] for e in events_after(shop_id=world.tea.id, cursor=0)] == [
            0,
            1,
            2,
            3,
            4,
        ]
        after_second = events_after(shop_id=world.tea.id, cursor=tea_events[1].id)
        assert [e.id for e in after_second] == [e.id for e in tea_events[2:]]
        limited = events_after(shop_id=world.tea.id, cursor=tea_events[0].id, limit=2)
        assert [e.payload["n"] for e in limited] == [1, 2]
        assert list(events_after(shop_id=world.tea.id, cursor=tea_events[-1].id)) == []
        # Another shop's id reads nothing inside this scope.
        assert list(events_after(shop_id=world.ceramics.id, cursor=0)) == []


def test_ticket_events_oldest_first(world):
    with in_shop(world.tea.id):
        first = _append(world.tea, ticket=world.tea_ticket)
        _append(world.tea)  # not about the ticket
        second = _append(
            world.tea,
            type="ticket.priority_changed",
            ticket=world.tea_ticket,
            payload={"old": "normal", "new": "high"},
        )
        assert [e.id for e in ticket_events(ticket_id=world.tea_ticket.id)] == [
            first.id,
            second.id,
        ]


def test_registry():
    assert get_event_type("message.received").version == 1
    assert "ticket.tags_changed" in EVENT_TYPES
    with pytest.raises(KeyError):
        get_event_type("nope")


def test_deferred_events_go_in_with_one_insert_in_order(world):
    from django.db import IntegrityError, connection, transaction
    from django.test.utils import CaptureQueriesContext

    from madoguchi.events.services import events_deferred

    with in_shop(world.tea.id), transaction.atomic():
        before = Event.objects.count()
        with CaptureQueriesContext(connection) as queries, events_deferred():
            _append(world.tea, payload={"n": 1})
            try:
                with transaction.atomic():
                    _append(world.tea, payload={"n": "rolled back"})
                    raise IntegrityError("the change this event describes did not happen")
            except IntegrityError:
                pass
            with events_deferred():  # a nested block hands its events on
                _append(world.tea, payload={"n": 2})
            with pytest.raises(ValueError), events_deferred():
                _append(world.tea, payload={"n": "dropped with its error"})
                raise ValueError("failed")
            _append(world.tea, payload={"n": 3})
            assert not [q for q in queries.captured_queries if "events_event" in q["sql"]]
        inserts = [q for q in queries.captured_queries if "events_event" in q["sql"]]
        payloads = list(Event.objects.order_by("id").values_list("payload", flat=True)[before:])
    assert len(inserts) == 1
    assert payloads == [{"n": 1}, {"n": 2}, {"n": 3}]
