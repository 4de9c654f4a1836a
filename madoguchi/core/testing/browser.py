"""Steps the browser tests share: a Japanese browser context, signing in and out.

The pages are Playwright sync-API pages; Playwright is imported inside the functions so that
collecting the tests does not need it (the `chromium_browser` fixture skips without it).
"""

from __future__ import annotations

from madoguchi.demo import content

DEFAULT_TIMEOUT_MS = 15_000


def japanese_context(browser, base_url: str | None = None):  # type: ignore[no-untyped-def]
    """A fresh context (no cookies) on Japanese locale and Tokyo time, waiting up to 15 s."""
    options = {"locale": "ja-JP", "timezone_id": "Asia/Tokyo"}
    if base_url is not None:
        options["base_url"] = base_url
    context = browser.new_context(**options)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context


def sign_in(page, email: str, password: str = content.DEMO_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Sign in on the login page and wait for the inbox."""
    from playwright.sync_api import expect

    page.goto("/accounts/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("ticket-list")).to_be_visible()


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    """Sign out with the header's button and wait for the login form."""
    from playwright.sync_api import expect

    page.locator("form[action='/accounts/logout/'] button[type=submit]").click()
    expect(page.get_by_test_id("login-form")).to_be_visible()
