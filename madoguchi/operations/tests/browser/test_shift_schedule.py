"""Plan a night shift in a real browser (datetime-local inputs, Tokyo time) and see coverage.

The server holds the demo data (`demo_seed`): the agency's supervisor plans the tea operator.
A week far ahead keeps this test apart from any shift another test plans.
"""

import re

import pytest

from madoguchi.core.testing.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SUPERVISOR = "supervisor@madoguchi-support.example"
OPERATOR_NAME = "佐藤 葵"
WEEK = "2027-03-01"  # a Monday


def plan(page, starts: str, ends: str, label: str) -> None:  # type: ignore[no-untyped-def]
    form = page.get_by_test_id("shift-form")
    form.locator("select[name=membership]").select_option(label=OPERATOR_NAME)
    form.locator("input[name=label]").fill(label)
    form.locator("input[name=starts_at]").fill(starts)
    form.locator("input[name=ends_at]").fill(ends)
    form.locator("button[type=submit]").click()


def test_supervisor_plans_a_night_shift_and_an_overlap_is_refused(browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, SUPERVISOR)
    page.goto(f"/operations/shops/tea/shifts/?week={WEEK}")
    expect(page.get_by_test_id("shift-week")).to_be_visible()

    plan(page, "2027-03-03T22:00", "2027-03-04T07:00", "夜勤")
    expect(page).to_have_url(re.compile(r"week=2027-03-01"))
    row = page.get_by_test_id("shift-row").filter(has_text=OPERATOR_NAME)
    pieces = row.get_by_test_id("shift-piece")
    expect(pieces).to_have_count(2)
    expect(pieces.nth(0)).to_contain_text("22:00–24:00…")
    expect(pieces.nth(1)).to_contain_text("…00:00–07:00")

    plan(page, "2027-03-04T06:00", "2027-03-04T15:00", "日勤")
    expect(page.get_by_test_id("form-errors")).to_contain_text(
        "同じ人のシフト（2027-03-03 22:00 – 2027-03-04 07:00）と重なっています。"
    )
    expect(row.get_by_test_id("shift-piece")).to_have_count(2)

    page.goto(f"/operations/shops/tea/coverage/?week={WEEK}")
    expect(page.get_by_test_id("cell-2027-03-03-23")).to_have_text("1")
    expect(page.get_by_test_id("cell-2027-03-04-06")).to_have_text("1")
    expect(page.get_by_test_id("cell-2027-03-04-07")).to_have_text("0")
    # The stylesheet loaded under the strict CSP: a gap cell is painted.
    gap = page.locator("[data-testid=coverage-grid] td[data-gap=true]").first
    expect(gap).to_have_css("background-color", "rgb(253, 236, 234)")
