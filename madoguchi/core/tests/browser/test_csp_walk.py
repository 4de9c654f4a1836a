"""The strict CSP breaks no page: the admin, an operator and a client walk the demo in Chromium.

Against `madoguchi serve` with the demo data, each signs in and opens the inbox, a ticket of
every channel (the presence and chat sockets connect there), search, their profile and every
page their menu offers. Chromium reports each blocked script, style, image, socket or form as
a `securitypolicyviolation` event and a console error; any one fails the test.
"""

from __future__ import annotations

from typing import Any

import pytest

from madoguchi.core.testing.browser import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADMIN = "admin@madoguchi-support.example"
OPERATOR = "operator@madoguchi-support.example"
CLIENT = "owner@yamada-en.example"
CHANNELS = ("email", "web_form", "chat", "line", "phone")

# Runs before any page script (Playwright injects it outside the page's CSP).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} on ${location.pathname}`
  );
});
"""


class Walk:
    """Open pages as one user; keep every CSP violation the browser reports."""

    def __init__(self, page: Any, who: str) -> None:
        self.page = page
        self.who = who
        self.violations: list[str] = []
        self.visited: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"{self.who} console: {message.text}")

    def check(self) -> None:
        self.page.wait_for_load_state("networkidle")
        self.visited.append(self.page.url)
        found = self.page.evaluate("window.__cspViolations || []")
        self.violations.extend(f"{self.who}: {violation}" for violation in found)

    def open(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status < 400, f"{self.who}: {url}"
        self.check()

    def menu_links(self) -> list[str]:
        links = self.page.locator("nav.menu a[href]").evaluate_all(
            "links => links.map(link => link.getAttribute('href'))"
        )
        return [link for link in dict.fromkeys(links) if link.startswith("/")]

    def tickets_of_each_channel(self) -> None:
        from playwright.sync_api import expect

        for channel in CHANNELS:
            self.open(f"/?shop=tea&channel={channel}")
            rows = self.page.get_by_test_id("ticket-row")
            if rows.count() == 0:
                continue
            rows.first.click()
            expect(self.page.get_by_test_id("ticket-reference")).to_be_visible()
            if self.who != "client":  # staff: the presence socket got through connect-src
                expect(self.page.locator("[data-presence-connected=true]")).to_have_count(1)
            self.check()


def _walk(page: Any, email: str, who: str) -> Walk:
    walk = Walk(page, who)
    sign_in(page, email)
    walk.check()
    walk.open("/?shop=tea")
    links = walk.menu_links()
    walk.tickets_of_each_channel()
    walk.open("/search/?q=注文")
    walk.open("/accounts/profile/")
    for link in links:
        walk.open(link)
    sign_out(page)
    walk.check()
    return walk


def test_no_page_breaks_the_content_security_policy(open_browser_page: Any) -> None:
    walks = [
        _walk(open_browser_page(), ADMIN, "admin"),
        _walk(open_browser_page(), OPERATOR, "operator"),
        _walk(open_browser_page(), CLIENT, "client"),
    ]
    # The walk reached the pages it means to check, tickets with live sockets included.
    assert sum("/tickets/" in url for url in walks[1].visited) >= len(CHANNELS)
    assert len(walks[0].visited) > 20 and len(walks[2].visited) > 8
    violations = [violation for walk in walks for violation in walk.violations]
    assert violations == [], "\n".join(violations)


def test_a_violation_is_caught(open_browser_page: Any) -> None:
    """The detector itself: an inline style injected into a console page is reported."""
    walk = Walk(open_browser_page(), "probe")
    walk.open("/accounts/login/")
    walk.page.evaluate(
        "() => { const s = document.createElement('style');"
        " s.textContent = 'body{color:red}'; document.head.appendChild(s); }"
    )
    walk.page.wait_for_timeout(200)
    walk.check()
    assert any("style-src" in violation for violation in walk.violations), walk.violations
