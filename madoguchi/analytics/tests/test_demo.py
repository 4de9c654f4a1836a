"""The demo comes with its analytics: every seeded ticket has its facts, as a rebuild gives."""

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.analytics import selectors
from madoguchi.analytics.models import DurationFact, HandleFact, TicketFact
from madoguchi.analytics.services import analytics_rebuild
from madoguchi.conversations.models import Ticket
from madoguchi.demo.seed import seed_demo
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db


def _figures(shop_ids):
    now = timezone.now()
    filters = selectors.Filters(
        shop_ids=shop_ids, start=now - dt.timedelta(days=400), end=now + dt.timedelta(days=1)
    )
    rows = sorted(
        DurationFact.objects.values_list(
            "fact__ticket_id", "metric", "cycle", "business_seconds", "elapsed_seconds"
        )
    )
    return selectors.summary(filters), selectors.durations(filters), rows


def test_the_demo_seed_builds_the_rollups():
    seed_demo()
    with unscoped("test: the demo spans shops"):
        shop_ids = tuple(sorted(Shop.objects.values_list("id", flat=True)))
        assert TicketFact.objects.count() == Ticket.objects.count() == 80
        seeded = _figures(shop_ids)
        assert seeded[0].tickets == 80
        assert seeded[0].csat_answered > 0
        assert seeded[1][0].count > 0  # first responses measured
        handle_rows = HandleFact.objects.values_list("fact__ticket_id", "operator_id", "seconds")
        handles = sorted(handle_rows)
        assert len(handles) > 40  # the demo's replies come with handle time
        analytics_rebuild()
        assert _figures(shop_ids) == seeded
        assert sorted(handle_rows.all()) == handles
