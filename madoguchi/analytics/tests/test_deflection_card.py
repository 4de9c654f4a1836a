"""The dashboard's deflection card: knowledge.selectors.deflection_summary over the readable
shops and the period, linked to each shop's help center and articles."""

import pytest
from django.urls import reverse

from madoguchi.analytics.tests.history import at
from madoguchi.events.models import ActorKind, Event
from madoguchi.tenancy.scoping import unscoped

NOVEMBER = "date_from=2026-11-01&date_to=2026-11-30"


def suggestion(shop, type, visitor, when, **payload):
    Event.objects.create(
        shop=shop,
        type=f"knowledge.suggestion_{type}",
        actor_kind=ActorKind.CUSTOMER,
        occurred_at=when,
        payload={"visitor": visitor, "source": "web_form", **payload},
    )


@pytest.fixture
def visits(world):
    """Tea: a opened and left (deflected), b opened then wrote, c only saw suggestions, and d
    opened in October. Ceramics: e opened and left."""
    with unscoped("test setup"):
        tea, ceramics = world.tea, world.ceramics
        suggestion(tea, "shown", "a", at(11, 2, 10), article_ids=[1])
        suggestion(tea, "opened", "a", at(11, 2, 10, 1), article_id=1)
        suggestion(tea, "shown", "b", at(11, 3, 10), article_ids=[1])
        suggestion(tea, "opened", "b", at(11, 3, 10, 1), article_id=1)
        suggestion(tea, "contacted", "b", at(11, 3, 10, 30))
        suggestion(tea, "shown", "c", at(11, 4, 10), article_ids=[1])
        suggestion(tea, "opened", "d", at(10, 20, 10), article_id=1)
        suggestion(ceramics, "shown", "e", at(11, 5, 10), article_ids=[2])
        suggestion(ceramics, "opened", "e", at(11, 5, 10, 2), article_id=2)


def card(response):
    html = response.content.decode()
    assert response.status_code == 200
    section = html.split('data-testid="deflection-card"')[1].split("</section>")[0]
    return section, [
        section.split(f'data-testid="deflection-{name}">')[1].split("<")[0]
        for name in ("shown", "opened", "deflected", "rate")
    ]


def test_supervisor_sees_every_shop_and_one_shop(english, world, visits):
    english.force_login(world.supervisor)
    section, values = card(english.get(f"{reverse('analytics:dashboard')}?{NOVEMBER}"))
    assert values == ["4", "3", "2", "66.7%"]
    assert reverse("knowledge:help", args=[world.ceramics.slug]) in section
    assert reverse("knowledge:articles", args=[world.tea.slug]) in section
    url = f"{reverse('analytics:shop_dashboard', args=[world.tea.slug])}?{NOVEMBER}"
    section, values = card(english.get(url))
    assert values == ["3", "2", "1", "50.0%"]
    assert reverse("knowledge:help", args=[world.ceramics.slug]) not in section


def test_client_sees_own_shop_only(english, world, visits):
    english.force_login(world.client_tea)
    section, values = card(english.get(f"{reverse('analytics:dashboard')}?{NOVEMBER}"))
    assert values == ["3", "2", "1", "50.0%"]
    assert reverse("knowledge:help", args=[world.tea.slug]) in section
    assert world.ceramics.slug not in section
    other = english.get(reverse("analytics:shop_dashboard", args=[world.ceramics.slug]))
    assert other.status_code == 404


def test_an_empty_period_shows_no_rate(english, world, visits):
    english.force_login(world.supervisor)
    url = f"{reverse('analytics:dashboard')}?date_from=2026-09-01&date_to=2026-09-30"
    _section, values = card(english.get(url))
    assert values == ["0", "0", "0", "—"]
