"""The demo ships with business hours, SLA policies, routing and computed SLA clocks."""

import datetime as dt

import pytest
from django.db.models import Count

from madoguchi.conversations.models import Ticket
from madoguchi.demo.seed import seed_demo
from madoguchi.events.models import ConsumerCursor, Event
from madoguchi.operations.models import (
    BusinessCalendarSettings,
    Closure,
    OpeningHours,
    RoutingSettings,
    SlaMeasureRecord,
    SlaPolicy,
)
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db


def _operations_rows() -> dict[str, object]:
    with unscoped("test: the demo's operations rows of both shops"):
        return {
            "calendars": sorted(
                BusinessCalendarSettings.objects.values_list(
                    "shop__slug", "shop__time_zone", "observes_national_holidays", "always_open"
                )
            ),
            "hours": sorted(
                OpeningHours.objects.filter(shop__slug="tea").values_list(
                    "weekday", "opens_at", "closes_at"
                )
            ),
            "closures": sorted(Closure.objects.values_list("shop__slug", "name")),
            "policies": sorted(
                SlaPolicy.objects.values_list(
                    "shop__slug",
                    "name",
                    "priority",
                    "first_response_minutes",
                    "next_response_minutes",
                    "resolution_minutes",
                    "in_business_hours",
                )
            ),
            "routing": list(RoutingSettings.objects.values_list("shop__slug", "mode")),
            "measures": SlaMeasureRecord.objects.count(),
            "sla_events": dict(
                Event.objects.filter(type__startswith="sla.")
                .values_list("type")
                .annotate(count=Count("id"))
                .values_list("type", "count")
            ),
        }


def test_the_demo_sets_up_operations_once_and_computes_the_clocks() -> None:
    seed_demo()
    first = _operations_rows()
    seed_demo()
    assert _operations_rows() == first
    assert first["calendars"] == [
        ("ceramics", "Asia/Tokyo", True, False),
        ("tea", "Asia/Tokyo", True, False),
    ]
    t = dt.time
    assert first["hours"] == [
        *[
            (day, opens, closes)
            for day in range(5)
            for opens, closes in ((t(10), t(12)), (t(13), t(18)))
        ],
        (5, t(10), t(15)),
    ]
    assert first["closures"] == [("ceramics", "年末年始"), ("tea", "年末年始")]
    assert first["policies"] == [
        ("ceramics", "標準", "", 240, 480, 1260, True),
        ("ceramics", "至急", "urgent", 60, 120, 420, True),
        ("tea", "標準", "", 240, 480, 1260, True),
        ("tea", "至急", "urgent", 60, 120, 420, True),
    ]
    assert first["routing"] == [("tea", "round_robin")]
    with unscoped("test: every seeded ticket has its clocks"):
        tickets = Ticket.objects.count()
        measured = SlaMeasureRecord.objects.values("ticket").distinct().count()
        open_due = SlaMeasureRecord.objects.filter(
            ticket__status__in=Ticket.UNSOLVED_STATUSES, due_at__isnull=False
        ).count()
        last_event = Event.objects.order_by("-id").values_list("id", flat=True).first()
        routing_cursor = ConsumerCursor.objects.get(name="operations.routing").position
    assert (tickets, measured) == (80, 80)
    assert open_due > 0
    # Breaches of the seeded history are escalated to the leads once, as the job would.
    events = first["sla_events"]
    assert isinstance(events, dict)
    assert events["sla.breached"] == events["sla.escalated"] > 0
    # Routing starts after the seeded history: those tickets are not handed out later.
    assert routing_cursor == last_event
