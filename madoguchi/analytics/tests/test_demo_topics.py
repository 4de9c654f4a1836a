"""The demo comes with rising topics: its tickets' terms are stored with their facts, and a
rebuild stores the same."""

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.analytics.models import TopicDayCount, TopicTermFact
from madoguchi.analytics.selectors import Filters
from madoguchi.analytics.services import analytics_rebuild
from madoguchi.analytics.topics import rising_topics
from madoguchi.demo.seed import seed_demo
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db


def _stored():
    return (
        sorted(TopicTermFact.objects.values_list("fact__ticket_id", "term", "created_on")),
        sorted(TopicDayCount.objects.values_list("shop_id", "day", "term", "tickets")),
    )


def test_the_demo_has_rising_topics_that_a_rebuild_keeps():
    seed_demo()
    with unscoped("test: the demo spans shops"):
        shop_ids = tuple(sorted(Shop.objects.values_list("id", flat=True)))
        seeded = _stored()
        assert len({ticket_id for ticket_id, _term, _day in seeded[0]}) > 40
        end = timezone.now() + dt.timedelta(days=1)
        filters = Filters(shop_ids=shop_ids, start=end - dt.timedelta(days=30), end=end)
        topics = rising_topics(filters, min_count=2)
        assert topics, "the demo shows at least one rising topic"
        assert all(topic.count - topic.previous > 0 for topic in topics)
        analytics_rebuild()
        assert _stored() == seeded
