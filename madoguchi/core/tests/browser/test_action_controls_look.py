"""In a real browser, every action control on the busiest pages is drawn as a button (issue #13:
テンプレートを使う, お知らせを送る, ステータスを変更 and これらの注文に充当 read as plain text)."""

import pytest

from madoguchi.core.testing.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OPERATOR = "operator@madoguchi-support.example"

# For each visible button-classed control in <main>: its text and whether it has a visible frame
# (a solid border of a colour that is not transparent) or a filled background.
_LOOKS = """
elements => elements
  .filter(element => element.offsetParent !== null)
  .map(element => {
    const style = getComputedStyle(element);
    const transparent = colour => colour === "transparent" || colour.endsWith(", 0)");
    return {
      text: element.textContent.trim(),
      framed: style.borderTopStyle !== "none" && parseFloat(style.borderTopWidth) > 0
        && !transparent(style.borderTopColor),
      filled: !transparent(style.backgroundColor),
    };
  })
"""


def _looks(page, selector: str = "main .button"):  # type: ignore[no-untyped-def]
    return page.locator(selector).evaluate_all(_LOOKS)


def test_action_controls_on_the_order_page_are_framed_buttons(browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    sign_in(page, OPERATOR)
    page.goto("/commerce/tea/orders/")
    page.locator("main a[href^='/commerce/tea/orders/']").filter(has_text="#").first.click()
    page.wait_for_load_state()
    looks = _looks(page)
    texts = [look["text"] for look in looks]
    assert "お知らせを送る" in texts
    assert "ステータスを変更" in texts
    assert [look for look in looks if not (look["framed"] and look["filled"])] == []


def test_action_controls_on_the_ticket_page_are_framed_buttons(browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    sign_in(page, OPERATOR)
    page.get_by_test_id("ticket-row").first.click()
    page.get_by_test_id("ticket-reference").wait_for()
    looks = _looks(page)
    assert looks, "the ticket page shows no action control"
    assert [look for look in looks if not look["framed"]] == []
