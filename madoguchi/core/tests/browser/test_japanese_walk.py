"""An operator and a client walk the demo in a Japanese browser: no English on any page.

Against `madoguchi serve` with the demo data (`demo_seed`), each signs in and opens the inbox,
a ticket of every channel (with its order panel and customer page), the search results, and
every page their menu offers (settings included). The text the browser shows on each page,
with the attributes it shows (placeholders, titles, labels), may hold no English word besides
brand names and codes (`core.testing.japanese`).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from madoguchi.core.testing.browser import sign_in, sign_out
from madoguchi.core.testing.japanese import english_words_in_text

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OPERATOR = "operator@madoguchi-support.example"
CLIENT = "owner@yamada-en.example"
CHANNELS = ("email", "web_form", "chat", "line", "phone")

# The text a visitor reads: visible text nodes outside code and typed text, the attributes a
# browser shows, the options of visible selects, and the title. What others wrote (a mail's
# subject) is marked translate="no" in the templates, as HTML means it, and is not ours to
# translate.
SHOWN_TEXT = """() => {
  const hidden = "script, style, template, noscript, code, pre, kbd, samp, textarea, "
    + "[translate=no]";
  const parts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!element || element.closest(hidden)) { continue; }
    if (element.tagName === "OPTION") { continue; }
    if (!element.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) { continue; }
    parts.push(walker.currentNode.nodeValue);
  }
  const shown = "[placeholder], [title], [aria-label], select, input[type=submit], "
    + "input[type=button]";
  for (const element of document.querySelectorAll(shown)) {
    if (!element.checkVisibility()) { continue; }
    for (const name of ["placeholder", "title", "aria-label"]) {
      if (element.getAttribute(name)) { parts.push(element.getAttribute(name)); }
    }
    if (element.tagName === "SELECT") {
      for (const option of element.options) { parts.push(option.text); }
    }
    if (element.tagName === "INPUT" && element.value) { parts.push(element.value); }
  }
  return parts.join("\\n");
}"""


def english_shown(page: Any) -> list[str]:
    """The English words of what `page` shows."""
    # The demo's chat visitors are known by ids made of their names ("visitor-koji-maeda").
    shown = re.sub(r"visitor-[a-z-]+", " ", page.evaluate(SHOWN_TEXT))
    return english_words_in_text(shown, allowed={"tea"})


class Walk:
    """Open pages as one user and keep what each shows in English."""

    def __init__(self, page: Any, who: str) -> None:
        self.page = page
        self.who = who
        self.english: dict[str, list[str]] = {}
        self.visited: list[str] = []

    def check(self) -> None:
        """Read the current page (after its htmx fragments loaded) for English words."""
        self.page.wait_for_load_state("networkidle")
        path = self.page.url.split("://", 1)[1].split("/", 1)[1]
        self.visited.append("/" + path)
        words = english_shown(self.page)
        if words:
            self.english[f"{self.who} /{path}"] = words

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
        """Open the newest tea ticket of each channel, its order panel's first order (staff
        see the panel) and its customer."""
        from playwright.sync_api import expect

        for channel in CHANNELS:
            self.open(f"/?shop=tea&channel={channel}")
            rows = self.page.get_by_test_id("ticket-row")
            if rows.count() == 0:
                continue
            rows.first.click()
            expect(self.page.get_by_test_id("ticket-reference")).to_be_visible()
            self.check()
            ticket_url = self.page.url
            order = self.page.locator(".panel--orders .order-card h3 a").first
            if order.count():
                order.click()
                self.page.wait_for_url("**/orders/**")
                self.check()
                self.page.goto(ticket_url)
            customer = self.page.locator("a[href*='/customers/']").first
            if customer.count():
                customer.click()
                self.page.wait_for_url("**/customers/**")
                self.check()


def _walk(page: Any, email: str, who: str) -> Walk:
    walk = Walk(page, who)
    sign_in(page, email)
    walk.open("/?shop=tea")
    links = walk.menu_links()
    walk.tickets_of_each_channel()
    walk.open("/search/?q=注文")
    walk.open("/search/?q=返品&shop=tea")
    walk.open("/accounts/profile/")
    for link in links:
        walk.open(link)
    sign_out(page)
    return walk


def test_operator_and_client_see_no_english(browser_page: Any) -> None:
    operator = _walk(browser_page, OPERATOR, "operator")
    client = _walk(browser_page, CLIENT, "client")
    # The walk reached the pages it means to check.
    assert sum("/tickets/" in url for url in operator.visited) >= len(CHANNELS)
    assert any("/customers/" in url for url in operator.visited)
    assert any(re.search(r"/orders/[A-Z]+-\d+/$", url) for url in operator.visited)
    assert any(url.startswith("/search/") for url in client.visited)
    assert len(operator.visited) > 15 and len(client.visited) > 8
    english = {**operator.english, **client.english}
    assert english == {}, "\n".join(f"{page}: {words}" for page, words in english.items())


def test_presence_on_a_ticket_is_said_in_japanese(open_browser_page: Any) -> None:
    """Two of the staff on one ticket: each sees the other viewing, then writing a reply."""
    from playwright.sync_api import expect

    operator, supervisor = open_browser_page(), open_browser_page()
    sign_in(operator, OPERATOR)
    operator.get_by_test_id("ticket-row").first.click()
    expect(operator.get_by_test_id("ticket-reference")).to_be_visible()
    sign_in(supervisor, "supervisor@madoguchi-support.example")
    supervisor.goto(operator.url)
    presence = operator.get_by_test_id("presence-item")
    expect(presence).to_have_text("中村 健太さんが閲覧中")
    supervisor.get_by_test_id("reply-form").locator("textarea[name=body]").press_sequentially(
        "確認します"
    )
    expect(presence).to_have_text("中村 健太さんが返信を入力中")
    assert english_shown(operator) == []
