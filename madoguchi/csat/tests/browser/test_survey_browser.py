"""A customer answers a CSAT survey in a real browser on a phone-sized screen, changes the
answer, and the supervisor sees it on the ticket.

The live server holds the demo data, in which the tea shop sent surveys that nobody answered
yet; the link of one is read from the server's SQLite file (the token is only in the message
the customer got), hence the SQLite marker.
"""

import re
import sqlite3
from pathlib import Path

import pytest

from madoguchi.core.testing.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.sqlite, pytest.mark.xdist_group("browser")]

SUPERVISOR = "supervisor@madoguchi-support.example"
TOKEN = re.compile(r"/csat/([A-Za-z0-9_-]+)/")


def _unanswered_survey(database: Path) -> tuple[str, int]:
    """Return the link token and ticket number of a sent, unanswered survey of the tea shop."""
    with sqlite3.connect(database) as connection:
        body, number = connection.execute(
            "SELECT m.body_text, t.number FROM csat_csatsurvey s"
            " JOIN conversations_message m ON m.id = s.message_id"
            " JOIN conversations_ticket t ON t.id = s.ticket_id"
            " WHERE s.status = 'sent' AND s.channel = 'email' ORDER BY s.id LIMIT 1"
        ).fetchone()
    match = TOKEN.search(body)
    assert match is not None
    return match.group(1), number


def test_a_customer_answers_and_changes_a_survey(open_browser_page, asgi_server) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    token, number = _unanswered_survey(asgi_server.log_path.parent / "live.sqlite3")
    page = open_browser_page()
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"/csat/{token}/")
    expect(page.get_by_test_id("survey-question")).to_contain_text(
        "この度のお問い合わせへの対応はいかがでしたか？"
    )
    form = page.get_by_test_id("survey-form")
    form.locator("label.csat-score", has_text="4").click()
    form.locator("textarea[name=comment]").fill("説明がとても分かりやすかったです。")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("survey-thanks")).to_contain_text("ご回答ありがとうございました。")
    expect(page.get_by_test_id("survey-current")).to_contain_text("5段階中 4")

    page.goto(f"/csat/{token}/")
    expect(page.locator("input[name=score][value='4']")).to_be_checked()
    form = page.get_by_test_id("survey-form")
    form.locator("label.csat-score", has_text="5").click()
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("survey-current")).to_contain_text("5段階中 5")

    staff = open_browser_page()
    sign_in(staff, SUPERVISOR)
    staff.goto(f"/shops/tea/tickets/{number}/")
    panel = staff.get_by_test_id("csat-panel")
    expect(panel.get_by_test_id("csat-score")).to_contain_text("5 / 5")
    expect(panel.get_by_test_id("csat-comment")).to_have_text("説明がとても分かりやすかったです。")
