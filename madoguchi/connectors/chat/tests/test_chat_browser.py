"""The live chat's must-show flow in real browsers against `madoguchi serve` (uvicorn, ASGI).

A supervisor allows a shop site on the chat settings page and stays in the inbox (an operator is
present). A visitor opens the shop's page, served by another HTTP server on another origin, with
the one-tag widget; writes in Japanese; the operator sees it live in the inbox, opens the ticket,
answers; the visitor sees the answer; a second visitor message (with markup) appears live on the
ticket page as text; a second answer appends to the page without re-rendering it; the visitor
reloads and sees the whole conversation exactly once.
"""

from __future__ import annotations

import http.server
import re
import socket
import threading
from collections.abc import Iterator

import pytest

from madoguchi.core.testing.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SUPERVISOR = "supervisor@madoguchi-support.example"


class ShopSite:
    """A tiny site of the shop on its own origin; its page carries the widget's script tag."""

    def __init__(self) -> None:
        self.page = b""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(site.page)))
                self.end_headers()
                self.wfile.write(site.page)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.origin = f"http://localhost:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def show_widget(self, script_url: str, key: str) -> None:
        self.page = (
            '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
            "<title>山田園 茶舗</title></head><body><h1>山田園 茶舗</h1>"
            f'<script src="{script_url}" data-shop-key="{key}" async></script>'
            "</body></html>"
        ).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shop_site() -> Iterator[ShopSite]:
    site = ShopSite()
    try:
        yield site
    finally:
        site.close()


def test_visitor_and_operator_chat_live_and_the_visitor_resumes_once(
    open_browser_page, asgi_server, shop_site
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    operator = open_browser_page()
    sign_in(operator, SUPERVISOR)

    # Allow the shop's site; live chat whenever an operator is connected (not only in hours).
    operator.goto("/chat/tea/settings/")
    settings_form = operator.get_by_test_id("chat-settings-form")
    settings_form.locator("textarea[name=allowed_origins]").fill(shop_site.origin)
    settings_form.locator("input[name=follows_business_hours]").uncheck()
    settings_form.locator("button[type=submit]").click()
    expect(operator.locator("textarea[name=allowed_origins]")).to_have_value(shop_site.origin)
    key = operator.get_by_test_id("chat-public-key").inner_text().strip()
    shop_site.show_widget(f"{asgi_server.url}/static/chat/widget.js", key)

    operator.goto("/")
    live = operator.get_by_test_id("chat-live")
    expect(live).to_have_attribute("data-chat-connected", "true")

    visitor = open_browser_page(base_url=None)
    visitor.goto(shop_site.origin + "/")
    visitor.get_by_test_id("chat-launcher").click()
    panel = visitor.get_by_test_id("chat-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("input[name=email]")).to_be_hidden()  # an operator is there
    question = "こんにちは。注文した煎茶がまだ届きません。配送状況を教えてください。"
    panel.locator("textarea[name=message]").fill(question)
    panel.locator("button[type=submit]").click()
    visitor_messages = visitor.get_by_test_id("chat-message")
    expect(visitor_messages).to_have_count(1)
    expect(visitor_messages.first).to_have_attribute("data-id", re.compile(r"^\d+$"))

    # The operator sees it live in the inbox and opens the ticket.
    item = operator.get_by_test_id("chat-feed-item").first
    expect(item).to_contain_text(question)
    item.locator("a").click()
    timeline = operator.get_by_test_id("timeline-message")
    expect(timeline.last).to_contain_text(question)
    expect(operator.get_by_test_id("chat-live")).to_have_attribute("data-chat-connected", "true")
    before = timeline.count()

    answer = "お問い合わせありがとうございます。本日発送いたしました。明日お届け予定です。"
    reply_form = operator.get_by_test_id("reply-form")
    reply_form.locator("textarea[name=body]").fill(answer)
    reply_form.locator("button[type=submit]").click()
    expect(timeline).to_have_count(before + 1)

    outbound = visitor.locator("[data-testid=chat-message][data-direction=outbound]")
    expect(outbound).to_have_count(1)
    expect(outbound).to_have_text(answer)

    # A second visitor message, with markup, appears live on the ticket page, as text.
    expect(panel.locator("input[name=email]")).to_be_hidden()
    thanks = "ありがとうございます！<b>助かりました</b>"
    panel.locator("textarea[name=message]").fill(thanks)
    panel.locator("textarea[name=message]").press("Enter")
    expect(timeline).to_have_count(before + 2)
    expect(timeline.last).to_contain_text(thanks)
    assert timeline.last.locator("b").count() == 0
    expect(visitor_messages).to_have_count(3)
    assert visitor_messages.last.locator("b").count() == 0

    # A second reply leaves the page as it was but for the timeline, the notice and a clear
    # composer (the workspace is not swapped: the mark survives). The reply appends what
    # arrived after the page's last message, so the visitor's message shown live comes
    # again, and the page keeps it once.
    operator.evaluate("document.getElementById('ticket-workspace').dataset.mark = 'kept'")
    follow_up = "どういたしまして。またお気軽にご連絡ください。"
    reply_form.locator("textarea[name=body]").fill(follow_up)
    reply_form.locator("button[type=submit]").click()
    expect(timeline).to_have_count(before + 3)
    expect(timeline.last).to_contain_text(follow_up)
    expect(reply_form.locator("textarea[name=body]")).to_have_value("")
    expect(operator.locator("#ticket-workspace")).to_have_attribute("data-mark", "kept")
    expect(operator.locator(".flash__item")).to_have_count(1)
    operator.wait_for_timeout(300)  # give a duplicate the chance to stay
    shown = timeline.evaluate_all("items => items.map(item => item.dataset.messageId)")
    assert len(shown) == len(set(shown)) == before + 3
    newest = reply_form.locator("input[name=seen_message]").get_attribute("value")
    assert newest == shown[-1]
    expect(outbound).to_have_count(2)

    # The visitor reloads: the same conversation comes back, every message once, in order.
    visitor.reload()
    expect(visitor.get_by_test_id("chat-panel")).to_be_visible()
    expect(visitor_messages).to_have_count(4)
    # The texts, without the state marks under the visitor's own messages.
    expect(visitor_messages.get_by_test_id("chat-message-text")).to_have_text(
        [question, answer, thanks, follow_up]
    )
    visitor.wait_for_timeout(500)  # give a duplicate the chance to show up
    expect(visitor_messages).to_have_count(4)
    ids = visitor_messages.evaluate_all("items => items.map(item => item.dataset.id)")
    assert len(set(ids)) == 4


# Before the widget runs: keep its sockets reachable from the page and let the test cut the
# network (a socket opened while "offline" goes to a closed port and fails, as without a network).
SOCKET_SWITCH = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__offline = false;
  function Switched(url, protocols) {
    const socket = new Native(window.__offline ? "ws://127.0.0.1:9/" : url, protocols);
    window.__sockets.push(socket);
    return socket;
  }
  Switched.prototype = Native.prototype;
  Object.assign(Switched, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  window.WebSocket = Switched;
})();
"""


def test_a_message_sent_while_the_socket_is_down_is_delivered_once_after_reconnect(
    open_browser_page, asgi_server, shop_site
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    operator = open_browser_page()
    sign_in(operator, SUPERVISOR)
    operator.goto("/chat/tea/settings/")
    settings_form = operator.get_by_test_id("chat-settings-form")
    settings_form.locator("textarea[name=allowed_origins]").fill(shop_site.origin)
    settings_form.locator("input[name=follows_business_hours]").uncheck()
    settings_form.locator("button[type=submit]").click()
    expect(operator.locator("textarea[name=allowed_origins]")).to_have_value(shop_site.origin)
    key = operator.get_by_test_id("chat-public-key").inner_text().strip()
    shop_site.show_widget(f"{asgi_server.url}/static/chat/widget.js", key)
    operator.goto("/")
    expect(operator.get_by_test_id("chat-live")).to_have_attribute("data-chat-connected", "true")

    visitor = open_browser_page(base_url=None)
    visitor.add_init_script(SOCKET_SWITCH)
    visitor.goto(shop_site.origin + "/")
    visitor.get_by_test_id("chat-launcher").click()
    panel = visitor.get_by_test_id("chat-panel")
    own = panel.locator("[data-testid=chat-message][data-direction=inbound]")

    first = "ギフト包装はできますか？"
    panel.locator("textarea[name=message]").fill(first)
    panel.locator("button[type=submit]").click()
    # Stored (acknowledged), then received by the operator's inbox: 配信済み.
    expect(own.first).to_have_attribute("data-state", "delivered")
    expect(own.first.get_by_test_id("chat-message-state")).to_have_text("配信済み")

    # The connection drops and stays down; the visitor writes anyway.
    visitor.evaluate("window.__offline = true; window.__sockets.forEach(s => s.close())")
    expect(panel.get_by_test_id("chat-error")).to_have_text("再接続しています…")
    second = "のし紙もお願いしたいです。"
    panel.locator("textarea[name=message]").fill(second)
    panel.locator("button[type=submit]").click()
    expect(own).to_have_count(2)
    expect(own.last).to_have_attribute("data-state", "failed")
    resend = own.last.get_by_test_id("chat-resend")
    expect(resend).to_have_text("再送")

    # Back online: 再送 reconnects, the replay comes first, the message is stored once.
    visitor.evaluate("window.__offline = false")
    resend.click()
    expect(own.last).to_have_attribute("data-state", "delivered")
    expect(own.last.get_by_test_id("chat-message-state")).to_have_text("配信済み")
    visitor.wait_for_timeout(500)  # give a duplicate the chance to show up
    expect(own.get_by_test_id("chat-message-text")).to_have_text([first, second])
    ids = own.evaluate_all("items => items.map(item => item.dataset.id)")
    assert len(set(ids)) == 2

    # The operator's inbox got each message once.
    feed = operator.get_by_test_id("chat-feed-item")
    expect(feed.filter(has_text=second)).to_have_count(1)
    expect(feed.filter(has_text=first)).to_have_count(1)
