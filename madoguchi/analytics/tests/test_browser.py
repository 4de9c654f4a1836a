"""The dashboard in a real browser over the demo data: the supervisor across both shops with
operator names, the tea shop's client on its shop without them; charts load under the CSP."""

import re

import pytest

from madoguchi.core.testing.browser import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SUPERVISOR = "supervisor@madoguchi-support.example"
CLIENT = "owner@yamada-en.example"
OPERATOR_NAME = "佐藤 葵"


def chart_widths(page):  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all(
        "img.analytics-chart", "images => images.map(image => image.naturalWidth)"
    )


def test_supervisor_and_client_read_the_dashboard(browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, SUPERVISOR)
    page.goto("/analytics/")
    expect(page.locator("h1")).to_contain_text("すべての担当ショップ")
    summary = page.get_by_test_id("summary-table")
    expect(summary).to_contain_text("チケット")
    expect(page.get_by_test_id("operators-table")).to_contain_text(OPERATOR_NAME)
    page.wait_for_load_state("load")
    widths = chart_widths(page)
    assert len(widths) == 4
    assert all(width > 0 for width in widths)  # the SVG charts rendered

    # The ticket count links to exactly those tickets.
    first = summary.get_by_test_id("summary-value").first
    count = int(first.inner_text())
    assert count > 0
    first.click()
    expect(page).to_have_url(re.compile(r"/analytics/tickets/\?.*figure=tickets"))
    expect(page.get_by_test_id("drilldown-row")).to_have_count(min(count, 200))

    sign_out(page)
    sign_in(page, CLIENT)
    page.goto("/analytics/shops/tea/")
    expect(page.locator("h1")).to_contain_text("山田園")
    expect(page.get_by_test_id("summary-table")).to_be_visible()
    expect(page.get_by_test_id("operators-table")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(OPERATOR_NAME)
    page.wait_for_load_state("load")
    assert all(width > 0 for width in chart_widths(page))
    assert page.goto("/analytics/shops/ceramics/").status == 404
