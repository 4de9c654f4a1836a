"""The ticket page reports handle time from a real browser: typing in the composer, then leaving
the window, sends one heartbeat with the seconds counted and the composing part (CSP intact)."""

import re

import pytest

from madoguchi.core.testing.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OPERATOR = "operator@madoguchi-support.example"


def test_the_ticket_page_sends_a_heartbeat_on_blur(browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    sign_in(page, OPERATOR)
    page.get_by_test_id("ticket-row").first.click()
    expect(page.get_by_test_id("handle-time-beacon")).to_be_attached()
    page.wait_for_load_state("load")
    box = page.get_by_test_id("reply-form").locator("textarea[name=body]")
    box.click()
    box.press_sequentially("確認いたします", delay=150)
    page.wait_for_timeout(2500)
    with page.expect_response(re.compile(r"/worked/$")) as answer:
        page.evaluate("window.dispatchEvent(new Event('blur'))")
    response = answer.value
    assert response.status == 204
    body = response.request.post_data or ""
    fields = dict(re.findall(r'name="(\w+)"\r\n\r\n(\d+)', body))
    assert int(fields["seconds"]) >= 3
    assert 1 <= int(fields["composing"]) <= int(fields["seconds"])
    assert not [error for error in errors if "Content Security Policy" in error]
