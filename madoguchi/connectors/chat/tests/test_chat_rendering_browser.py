"""Checklist 25 in real browsers: what a chat visitor controls (their name, their text) is shown as
text in the widget and in the operator console, a bidi override (U+202E) in it reorders nothing
around it, a long unbroken string wraps instead of widening the page, and a 100 KB paste is
refused by the widget itself (sent, its frame would close the socket at every reconnect).

The widget has no `postMessage` handler (it runs in the shop's page, not in a frame), so the
origin check of such handlers does not apply.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest

from madoguchi.connectors.chat.tests.test_chat_browser import ShopSite
from madoguchi.core.testing.browser import sign_in
from madoguchi.core.testing.live_server import LiveServer, running_server

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SUPERVISOR = "supervisor@madoguchi-support.example"
NAME = "\u202eexe.txt 右から"  # shows as "から右 txt.exe" if the override leaks
MARKUP = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
MESSAGE = MARKUP + "\u202e注文" + "x" * 3800  # within the 4,000 characters a message may have
PASTE = "y" * 100_000


@pytest.fixture(scope="module")
def asgi_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's own server: its markup, override and settings stay out of the demo data
    the other browser tests (the Japanese walk) read."""
    prepare = [["migrate", "--noinput"], ["demo_seed"]]
    with running_server(tmp_path_factory.mktemp("chat-rendering"), prepare=prepare) as server:
        yield server


@pytest.fixture
def named_site() -> Iterator[ShopSite]:
    site = ShopSite()
    try:
        yield site
    finally:
        site.close()


def _no_overflow(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


def _bidi(locator) -> str:  # type: ignore[no-untyped-def]
    return str(locator.evaluate("node => getComputedStyle(node).unicodeBidi"))


def test_a_visitors_name_and_text_are_inert_isolated_and_wrapped_in_widget_and_console(
    open_browser_page, asgi_server, named_site
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    operator = open_browser_page()
    sign_in(operator, SUPERVISOR)
    operator.goto("/chat/tea/settings/")
    settings_form = operator.get_by_test_id("chat-settings-form")
    settings_form.locator("textarea[name=allowed_origins]").fill(named_site.origin)
    settings_form.locator("input[name=follows_business_hours]").uncheck()
    settings_form.locator("button[type=submit]").click()
    expect(operator.locator("textarea[name=allowed_origins]")).to_have_value(named_site.origin)
    key = operator.get_by_test_id("chat-public-key").inner_text().strip()
    named_site.page = (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>山田園</title></head>'
        f'<body><script src="{asgi_server.url}/static/chat/widget.js" data-shop-key="{key}" '
        f'data-user-name="{html.escape(NAME)}" async></script></body></html>'
    ).encode()
    operator.goto("/")
    expect(operator.get_by_test_id("chat-live")).to_have_attribute("data-chat-connected", "true")

    visitor = open_browser_page(base_url=None)
    visitor.goto(named_site.origin + "/")
    visitor.get_by_test_id("chat-launcher").click()
    panel = visitor.get_by_test_id("chat-panel")
    box = panel.locator("textarea[name=message]")

    # A 100 KB unbroken paste: refused by the widget, in Japanese, and kept in the box.
    box.fill(PASTE)
    panel.locator("button[type=submit]").click()
    expect(panel).to_contain_text("メッセージが長すぎます")
    assert len(box.input_value()) == len(PASTE)
    expect(visitor.get_by_test_id("chat-message")).to_have_count(0)

    # The longest message, with markup and an override, is sent and shown as text.
    box.fill(MESSAGE)
    panel.locator("button[type=submit]").click()
    bubble = visitor.get_by_test_id("chat-message-text")
    expect(bubble).to_have_count(1)
    expect(visitor.get_by_test_id("chat-message").first).to_have_attribute(
        "data-id", re.compile(r"^\d+$")
    )
    assert bubble.first.text_content() == MESSAGE
    assert panel.locator("img, script").count() == 0
    assert _bidi(bubble.first) == "isolate"
    assert bubble.first.evaluate("node => node.scrollWidth <= node.clientWidth + 1")
    assert _no_overflow(visitor)

    # The console: the live feed, then the ticket page, as text.
    item = operator.get_by_test_id("chat-feed-item").first
    expect(item).to_contain_text("注文")
    assert item.locator("img, script").count() == 0
    item.locator("a").click()
    timeline = operator.get_by_test_id("timeline-message")
    expect(timeline.last).to_contain_text("注文")
    operator.reload()  # the page as the server renders it
    body = timeline.last.locator(".message__body")
    assert body.text_content().strip() == MESSAGE
    assert (
        operator.locator("[data-testid=timeline] img, [data-testid=timeline] script").count() == 0
    )
    author = timeline.last.locator(".message__author bdi")
    assert author.text_content().strip() == NAME
    assert _bidi(author) == "isolate"
    assert _bidi(body) == "isolate"
    card = operator.locator(".customer-card__name")
    assert card.text_content().strip() == NAME
    assert _bidi(card) == "isolate"
    assert _no_overflow(operator)

    # The inbox row of the ticket.
    operator.goto("/")
    row = operator.locator(".ticket-row__customer", has_text="右から").first
    expect(row).to_be_visible()
    assert _bidi(row) == "isolate"
    assert _no_overflow(operator)
    for page in (operator, visitor):
        assert page.evaluate("() => window.__xss") is None
