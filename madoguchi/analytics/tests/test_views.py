"""The analytics pages: leads and the shop's client read them, operators and strangers do not;
clients see operator names only where the shop allows it."""

import pytest
from django.urls import reverse

from madoguchi.analytics.models import AnalyticsSettings
from madoguchi.analytics.services import analytics_apply_new_events
from madoguchi.analytics.tests.history import build
from madoguchi.audit.models import AuditEntry
from madoguchi.tenancy.scoping import unscoped

NOVEMBER = "date_from=2026-11-01&date_to=2026-11-30"


@pytest.fixture
def history(world):
    with unscoped("test setup"):
        made = build(tea=world.tea, ceramics=world.ceramics, operator=world.operator_tea)
    analytics_apply_new_events()
    return made


def dashboard_url(shop=None):
    if shop is None:
        return f"{reverse('analytics:dashboard')}?{NOVEMBER}"
    return f"{reverse('analytics:shop_dashboard', args=[shop.slug])}?{NOVEMBER}"


def summary_values(response):
    """The 'this period' column of the summary table, in order."""
    html = response.content.decode()
    table = html.split('data-testid="summary-table"')[1].split("</table>")[0]
    return [
        cell.split(">")[1].split("<")[0] for cell in table.split('data-testid="summary-value"')[1:]
    ]


def test_supervisor_reads_all_shops_and_one_shop(english, world, history):
    english.force_login(world.supervisor)
    response = english.get(dashboard_url())
    assert response.status_code == 200
    # Tickets, new, returning, resolved, reopened, one touch, CSAT answers over both shops.
    assert summary_values(response) == ["5", "4", "1", "4", "1", "2", "2"]
    shop = english.get(dashboard_url(world.tea))
    assert shop.status_code == 200
    assert summary_values(shop) == ["4", "3", "1", "3", "1", "1", "2"]
    assert 'data-testid="operators-table"' in shop.content.decode()
    assert world.operator_tea.display_name in shop.content.decode()


def test_admin_reads_the_dashboard(english, world, history):
    english.force_login(world.admin)
    assert english.get(dashboard_url(world.ceramics)).status_code == 200


def test_operator_is_refused(english, world, history):
    english.force_login(world.operator_tea)
    assert english.get(dashboard_url(world.tea)).status_code == 403
    assert english.get(dashboard_url()).status_code == 403


def test_client_reads_own_shop_without_operator_names(english, world, history):
    english.force_login(world.client_tea)
    response = english.get(dashboard_url())
    assert response.status_code == 200
    assert summary_values(response) == ["4", "3", "1", "3", "1", "1", "2"]
    html = response.content.decode()
    assert 'data-testid="operators-table"' not in html
    assert world.operator_tea.display_name not in html
    # The operator filter is ignored for clients: all four tickets stay counted.
    filtered = english.get(f"{dashboard_url(world.tea)}&operator={world.operator_tea.id}")
    assert summary_values(filtered)[0] == "4"


def test_client_sees_operator_names_when_the_shop_allows(english, world, history):
    with unscoped("test setup"):
        AnalyticsSettings.objects.create(shop=world.tea, shows_operator_names_to_client=True)
    english.force_login(world.client_tea)
    response = english.get(dashboard_url(world.tea))
    assert world.operator_tea.display_name in response.content.decode()
    filtered = english.get(f"{dashboard_url(world.tea)}&operator={world.operator_tea.id}")
    assert summary_values(filtered)[0] == "2"


def test_other_shop_is_not_found(english, world, history):
    english.force_login(world.client_tea)
    assert english.get(dashboard_url(world.ceramics)).status_code == 404
    assert (
        english.get(f"{reverse('analytics:tickets')}?shop=ceramics&{NOVEMBER}").status_code == 404
    )
    assert (
        english.get(f"{reverse('analytics:chart', args=['volume'])}?shop=ceramics").status_code
        == 404
    )
    assert english.get(reverse("analytics:settings", args=["ceramics"])).status_code == 404


def test_drilldown_lists_the_tickets_behind_a_figure(english, world, history):
    english.force_login(world.supervisor)
    response = english.get(f"{reverse('analytics:tickets')}?shop=tea&{NOVEMBER}&figure=reopened")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="drilldown-row"') == 1
    assert f"#TEA-{history.t3.number}" in html
    assert reverse("conversations:ticket", args=["tea", history.t3.number]) in html


def test_client_drilldown_stays_in_its_shops(english, world, history):
    english.force_login(world.client_tea)
    response = english.get(f"{reverse('analytics:tickets')}?{NOVEMBER}&figure=tickets")
    html = response.content.decode()
    assert html.count('data-testid="drilldown-row"') == 4
    assert "CER-" not in html


def test_charts_are_svg_with_text(english, world, history):
    english.force_login(world.supervisor)
    for name in ("volume", "channels", "categories", "heatmap"):
        response = english.get(f"{reverse('analytics:chart', args=[name])}?shop=tea&{NOVEMBER}")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
        assert response.content.decode().count("<text") > 0
    categories = english.get(
        f"{reverse('analytics:chart', args=['categories'])}?shop=tea&{NOVEMBER}"
    )
    assert "配送" in categories.content.decode()
    assert english.get(reverse("analytics:chart", args=["pie"])).status_code == 404


def test_settings_saved_by_a_lead_and_audited(english, world, history):
    english.force_login(world.supervisor)
    url = reverse("analytics:settings", args=["tea"])
    assert english.get(url).status_code == 200
    response = english.post(url, {"shows_operator_names_to_client": "on"})
    assert response.status_code == 302
    with unscoped("test check"):
        assert AnalyticsSettings.objects.get(shop=world.tea).shows_operator_names_to_client is True
        entry = AuditEntry.objects.get(action="analytics.settings_changed")
    assert entry.changes == {"shows_operator_names_to_client": [False, True]}
    assert entry.shop_id == world.tea.id


def test_settings_refused_to_client_and_operator(english, world, history):
    url = reverse("analytics:settings", args=["tea"])
    for user in (world.client_tea, world.operator_tea):
        english.force_login(user)
        assert english.get(url).status_code == 403
        assert english.post(url, {"shows_operator_names_to_client": "on"}).status_code == 403


def test_invalid_period_falls_back_and_says_so(english, world, history):
    english.force_login(world.supervisor)
    response = english.get(
        f"{reverse('analytics:dashboard')}?date_from=2026-11-30&date_to=2026-11-01"
    )
    assert response.status_code == 200
    assert "The end of the period is before its start." in response.content.decode()
