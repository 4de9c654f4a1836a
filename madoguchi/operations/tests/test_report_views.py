"""The SLA attainment page: leads and the shop's client read it, operators and strangers do not."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.core.testing import factories
from madoguchi.operations.models import SlaMeasureRecord, SlaPolicy
from madoguchi.tenancy.scoping import unscoped

TOKYO = ZoneInfo("Asia/Tokyo")


def store(shop, policy, started_at, took_minutes, due_minutes=60, metric="first_response"):
    ticket = factories.TicketFactory(shop=shop)
    SlaMeasureRecord.objects.create(
        shop=shop,
        ticket=ticket,
        policy=policy,
        metric=metric,
        started_at=started_at,
        due_at=started_at + dt.timedelta(minutes=due_minutes),
        completed_at=started_at + dt.timedelta(minutes=took_minutes),
        computed_at=started_at,
    )


@pytest.fixture
def october(world):
    with unscoped("test setup"):
        policy = SlaPolicy.objects.create(shop=world.tea, name="標準メール")
        start = dt.datetime(2026, 10, 5, 10, tzinfo=TOKYO)
        for took in (20, 40, 65, 125):
            store(world.tea, policy, start, took)
        ceramics = SlaPolicy.objects.create(shop=world.ceramics, name="陶器の約束")
        store(world.ceramics, ceramics, start, 10)
    return policy


def url(shop, month=None):
    base = reverse("operations:attainment", args=[shop.slug])
    return f"{base}?month={month}" if month else base


def test_supervisor_reads_the_month(english, world, october):
    english.force_login(world.supervisor)
    response = english.get(url(world.tea, "2026-10"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "標準メール" in page
    assert "陶器の約束" not in page
    # 4 measured, 2 met within 60 minutes: 50.0%; nearest-rank median 0:40, p90 2:05.
    row = page.split('data-testid="attainment-row"')[1].split("</tr>")[0]
    cells = [cell.split("</td>")[0].split(">")[-1] for cell in row.split("<td")[1:]]
    assert cells == ["標準メール", "First response", "4", "2", "2", "0", "50.0%", "0:40", "2:05"]
    assert 'href="?month=2026-09"' in page
    assert 'href="?month=2026-11"' in page


def test_default_month_is_the_current_tokyo_month(english, world, october):
    english.force_login(world.supervisor)
    page = english.get(url(world.tea)).content.decode()
    current = timezone.localtime(timezone.now(), TOKYO)
    assert f'data-testid="month">{current:%Y-%m}<' in page
    if f"{current:%Y-%m}" != "2026-10":
        assert "No SLA measures in this month." in page
    # A month that cannot be read falls back to the current one.
    assert (
        f'data-testid="month">{current:%Y-%m}<'
        in english.get(url(world.tea, "2026-13")).content.decode()
    )


def test_the_shops_client_reads_it_without_the_staff_menu(english, world, october):
    english.force_login(world.client_tea)
    response = english.get(url(world.tea, "2026-10"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "50.0%" in page
    assert reverse("operations:templates", args=[world.tea.slug]) not in page


def test_operator_is_refused(english, world, october):
    english.force_login(world.operator_tea)
    response = english.get(url(world.tea, "2026-10"))
    assert response.status_code == 403
    assert "標準メール" not in response.content.decode()


@pytest.mark.parametrize("stranger", ["operator_ceramics", "client_ceramics"])
def test_other_shop_gets_404(english, world, october, stranger):
    english.force_login(getattr(world, stranger))
    response = english.get(url(world.tea, "2026-10"))
    assert response.status_code == 404
    assert "標準メール" not in response.content.decode()


def test_the_client_finds_the_report_from_the_inbox(english, world):
    english.force_login(world.client_tea)
    page = english.get(reverse("conversations:inbox") + f"?shop={world.tea.slug}").content.decode()
    assert f'href="{url(world.tea)}"' in page
    english.force_login(world.operator_tea)
    page = english.get(reverse("conversations:inbox") + f"?shop={world.tea.slug}").content.decode()
    assert 'data-testid="shop-reports"' not in page
