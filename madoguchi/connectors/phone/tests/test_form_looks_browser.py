"""In a real browser, the call log and the phone order pages are drawn like the rest of the app
(issue #13: they looked unstyled): full-width framed inputs under bold labels in a card, and a
refusal shown in red beside the field, with what was typed still there."""

import pytest

from madoguchi.core.testing.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OPERATOR = "operator@madoguchi-support.example"

# For each visible text input, select and textarea of the form: whether it fills its field's
# width, has a visible frame, and sits under a bold block label.
_LOOKS = """
form => [...form.querySelectorAll("input:not([type=hidden]):not([type=radio])"
    + ":not([type=checkbox]), select, textarea")]
  .filter(element => element.offsetParent !== null)
  .map(element => {
    const style = getComputedStyle(element);
    const field = element.closest(".field");
    const label = field && field.querySelector(".field__label");
    const labelStyle = label && getComputedStyle(label);
    return {
      name: element.name,
      fills: field !== null
        && Math.abs(element.getBoundingClientRect().width
          - field.getBoundingClientRect().width) < 2,
      framed: style.borderTopStyle === "solid" && parseFloat(style.borderTopWidth) > 0,
      labelled: labelStyle !== null && labelStyle.display === "block"
        && parseInt(labelStyle.fontWeight) >= 600,
    };
  })
"""


def _badly_drawn(page, test_id: str):  # type: ignore[no-untyped-def]
    form = page.get_by_test_id(test_id)
    looks = form.evaluate(_LOOKS)
    assert len(looks) >= 6
    return [look for look in looks if not (look["fills"] and look["framed"] and look["labelled"])]


def test_the_call_form_is_drawn_like_the_other_forms(browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    sign_in(page, OPERATOR)
    page.goto("/phone/tea/calls/new/")
    assert _badly_drawn(page, "call-form") == []
    page.locator("input[name=number]").fill("090-1111-2222")
    page.locator("input[name=duration]").fill("3分")
    page.get_by_test_id("call-form").locator("button[type=submit]").click()
    page.wait_for_load_state()
    error = page.locator(".field.has-error .field__error")
    assert error.inner_text() == "通話時間は「分:秒」で入力してください（例：3:20）。"
    colour = "element => getComputedStyle(element).color"
    assert error.evaluate(colour) != page.locator(".field__label").first.evaluate(colour)
    assert page.locator("input[name=number]").input_value() == "090-1111-2222"
    page.screenshot(path="/tmp/shots/call.png", full_page=True)


def test_the_order_form_is_drawn_like_the_other_forms(browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    sign_in(page, OPERATOR)
    page.goto("/commerce/tea/orders/new/")
    assert _badly_drawn(page, "order-form") == []
    page.locator("input[name=number]").fill("TEST-1")
    page.locator("textarea[name=lines]").fill("煎茶 100g, 1080, 2, 5")
    page.get_by_test_id("order-form").locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".field.has-error .field__error").inner_text() == (
        "煎茶 100g：税率は 8 または 10 で入力してください。"
    )
    assert page.locator("textarea[name=lines]").input_value() == "煎茶 100g, 1080, 2, 5"
    page.screenshot(path="/tmp/shots/order.png", full_page=True)
