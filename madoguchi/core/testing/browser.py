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
    pass_second_step(page, email)
    expect(page.get_by_test_id("ticket-list")).to_be_visible()


# The authenticator keys the browser tests set up, by email (per live server process: each
# xdist worker runs its own server), and the last time step each one's code was used for.
_AUTHENTICATOR_KEYS: dict[str, str] = {}
_LAST_STEP: dict[str, int] = {}


def _authenticator_code(email: str) -> str:
    """The code the user's authenticator app shows, never one already used (a code is accepted
    once: a second sign-in within 30 seconds uses the next period's, which the server accepts)."""
    import time
    from base64 import b32decode

    from django_otp.oath import TOTP

    secret = _AUTHENTICATOR_KEYS[email]
    key = b32decode(secret + "=" * (-len(secret) % 8))
    step = max(int(time.time()) // 30, _LAST_STEP.get(email, 0) + 1)
    _LAST_STEP[email] = step
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = step * 30
    return f"{totp.token():06d}"


def pass_second_step(page, email: str) -> None:  # type: ignore[no-untyped-def]
    """After the password: set up an authenticator when asked (every admin must have one,
    security checklist 70) and enter its code, as a person with the app would."""
    from playwright.sync_api import expect

    setup = page.get_by_test_id("two-factor-setup-form")
    code_form = page.get_by_test_id("code-form")
    landed = page.locator(
        "[data-testid=ticket-list], [data-testid=two-factor-setup-form], [data-testid=code-form]"
    )
    expect(landed.first).to_be_visible()
    if setup.count():
        _AUTHENTICATOR_KEYS[email] = page.get_by_test_id("secret").inner_text().replace(" ", "")
        setup.locator("input[name=code]").fill(_authenticator_code(email))
        setup.locator("button[type=submit]").click()
        expect(page.get_by_test_id("recovery-codes")).to_be_visible()
        page.goto("/")
    elif code_form.count() and email in _AUTHENTICATOR_KEYS:  # else the caller answers it
        code_form.locator("input[name=code]").fill(_authenticator_code(email))
        code_form.locator("button[type=submit]").click()


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    """Sign out with the header's button and wait for the login form."""
    from playwright.sync_api import expect

    page.locator("form[action='/accounts/logout/'] button[type=submit]").click()
    expect(page.get_by_test_id("login-form")).to_be_visible()
