"""Checklist 41 in a browser: a customer's mail full of markup stays text on every page.

`madoguchi serve` with the demo data takes one more mail through `mail import`: its sender's
display name, subject, body and attachment name carry the payload set. An operator opens the
inbox, the search results, the ticket and the customer page in Chromium. On each page no element
a payload would make exists (`svg[onload]`, `img[src=x]`, a script without the page's nonce), no
dialog opens, no payload's handler ran and the CSP reported nothing: the markup was escaped,
not merely blocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest

from madoguchi.core.testing.browser import japanese_context, sign_in
from madoguchi.core.testing.live_server import LiveServer, running_server

pytestmark = pytest.mark.browser

OPERATOR = "operator@madoguchi-support.example"
SUBJECT = "件名 <svg onload=window.__xss=1> 届きません"

# Runs before any page script: what a payload would do, and what the CSP would report.
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI || "inline"}`);
});
"""
INJECTED = """() => ({
  elements: document.querySelectorAll(
    "svg[onload], img[src='x'], img[onerror], script:not([nonce]):not([src])"
  ).length,
  ran: window.__xss === 1,
  violations: window.__cspViolations,
  shown: document.body.innerText.includes("<svg onload=window.__xss=1>"),
})"""


def _payload_mail() -> bytes:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = Address(
        display_name='"><img src=x onerror=window.__xss=1> 花子', addr_spec="xss@example.jp"
    )
    mail["To"] = "support@yamada-en.example"
    mail["Subject"] = SUBJECT
    mail["Message-ID"] = "<xss-browser@example.jp>"
    mail.set_content("本文 </textarea><script>window.__xss=1</script> {{7*7}} 届きません")
    mail.add_attachment(
        b"%PDF-1.4", maintype="application", subtype="pdf", filename="<svg onload=x>.pdf"
    )
    return mail.as_bytes()


@pytest.fixture(scope="module")
def payload_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("xss-server")
    mail = data_dir / "payload.eml"
    mail.write_bytes(_payload_mail())
    prepare = [
        ["migrate", "--noinput"],
        ["demo_seed"],
        ["mail", "import", "--shop", "tea", str(mail)],
    ]
    with running_server(Path(data_dir), prepare=prepare) as server:
        yield server


def test_a_customers_markup_stays_text_in_the_browser(
    chromium_browser: Any, payload_server: LiveServer
) -> None:
    context = japanese_context(chromium_browser, payload_server.url)
    try:
        page = context.new_page()
        page.add_init_script(WATCH)
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        sign_in(page, OPERATOR)
        seen: dict[str, Any] = {}

        def look(url: str) -> None:
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            page.wait_for_load_state("networkidle")
            seen[url] = page.evaluate(INJECTED)

        look("/?shop=tea")
        look("/search/?q=届きません")
        page.locator("a[href*='/tickets/']", has_text="件名").first.click()
        page.wait_for_load_state("networkidle")
        ticket_url = page.url.split(payload_server.url, 1)[1]
        look(ticket_url)
        customer = page.locator("a[href*='/customers/']").first.get_attribute("href")
        assert customer is not None
        look(customer)
    finally:
        context.close()

    for url, found in seen.items():
        assert (found["elements"], found["ran"], found["violations"]) == (0, False, []), url
    assert dialogs == []
    # The payloads were on the pages, as text.
    assert seen[ticket_url]["shown"] and seen["/?shop=tea"]["shown"]
