"""The monthly report in a real browser over the demo data: the supervisor drafts and opens the
tea shop's report, its client reads it in the portal without operator names; the PDF the
browser downloads is Japanese text on a drawn page."""

import pypdfium2
import pytest

from madoguchi.core.testing.browser import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SUPERVISOR = "supervisor@madoguchi-support.example"
CLIENT = "owner@yamada-en.example"
OPERATOR_NAME = "佐藤 葵"


def _chart_widths(page):  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all(
        "img.report-chart", "images => images.map(image => image.naturalWidth)"
    )


def test_supervisor_and_client_read_the_monthly_report(browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, SUPERVISOR)
    page.goto("/reports/shops/tea/")
    expect(page.locator("h1")).to_contain_text("月次レポート")
    expect(page.get_by_test_id("report-draft")).to_be_visible()
    expect(page.get_by_test_id("report-points")).to_contain_text("賞味期限")
    expect(page.get_by_test_id("report-row")).to_have_count(1)
    page.get_by_test_id("report-row").first.get_by_role("link").first.click()
    expect(page.get_by_test_id("report-title")).to_contain_text("月次サポートレポート")
    expect(page.get_by_test_id("report-improvements")).to_contain_text("賞味期限")
    expect(page.get_by_test_id("report-send")).to_be_visible()
    page.wait_for_load_state("load")
    widths = _chart_widths(page)
    assert len(widths) == 2
    assert all(width > 0 for width in widths)  # the stored SVG charts load under the CSP
    report_url = page.url

    sign_out(page)
    sign_in(page, CLIENT)
    page.goto("/reports/shops/tea/")
    expect(page.get_by_test_id("report-draft")).to_have_count(0)
    expect(page.get_by_test_id("report-row")).to_have_count(1)
    page.goto(report_url)
    expect(page.get_by_test_id("report-title")).to_contain_text("山田園")
    expect(page.get_by_test_id("report-send")).to_have_count(0)
    expect(page.get_by_test_id("report-operators")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(OPERATOR_NAME)
    page.wait_for_load_state("load")
    assert all(width > 0 for width in _chart_widths(page))

    download = page.request.get(page.get_by_test_id("report-pdf").get_attribute("href"))
    assert download.status == 200
    assert download.headers["content-type"] == "application/pdf"
    first = pypdfium2.PdfDocument(download.body())[0]
    text = first.get_textpage().get_text_range()
    assert "月次サポートレポート" in text
    assert "問い合わせ件数" in text
    darkest, lightest = first.render(scale=1).to_pil().convert("L").getextrema()
    assert lightest == 255 and darkest < 80

    assert page.goto("/reports/shops/ceramics/").status == 404
