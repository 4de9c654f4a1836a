"""Help-article suggestions in the chat widget, in a real browser (`madoguchi serve`, demo data).

The supervisor copies the widget's tag from the chat settings page (it names the tea shop's
help center) into a page of the shop's own site on another origin. A visitor types a question,
is shown matching articles and opens one, and writes nothing: deflected. A second visitor opens
one too and then writes to the shop anyway: not deflected. The events are read from the server's
SQLite file and the figure from `knowledge.selectors.deflection_summary` run on that database,
hence the SQLite marker.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from madoguchi.connectors.chat.tests.test_chat_browser import ShopSite
from madoguchi.core.testing.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.sqlite, pytest.mark.xdist_group("browser")]

SUPERVISOR = "supervisor@madoguchi-support.example"
QUESTION = "送料はいくらかかりますか"
ARTICLE_TITLE = "送料とお届けまでの日数"

# Runs in a child process on the live server's database (the test's own database is another).
SUMMARY = """
import datetime as dt, json, sys
import django
django.setup()
from madoguchi.knowledge.selectors import deflection_summary
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, unscoped
with unscoped("the browser test reads the figure"):
    shop = Shop.objects.get(slug="tea")
start = dt.datetime.fromisoformat(sys.argv[1])
with in_shop(shop.id):
    summary = deflection_summary(shop_id=shop.id, start=start, end=start + dt.timedelta(hours=1))
print(json.dumps([summary.shown_visitors, summary.opened_visitors, summary.deflected_visitors]))
"""


@pytest.fixture
def shop_site() -> Iterator[ShopSite]:
    site = ShopSite()
    try:
        yield site
    finally:
        site.close()


def _events(database: Path, since: dt.datetime) -> list[tuple[str, dict[str, object]]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT type, payload FROM events_event WHERE type LIKE 'knowledge.suggestion_%'"
            " AND occurred_at >= ? ORDER BY id",
            [since.strftime("%Y-%m-%d %H:%M:%S")],
        ).fetchall()
    return [(kind, json.loads(payload)) for kind, payload in rows]


def _wait_for_events(database: Path, since: dt.datetime, count: int) -> list[tuple[str, dict]]:
    deadline = time.monotonic() + 15
    while True:
        found = _events(database, since)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _summary(data_dir: Path, start: dt.datetime) -> list[int]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "madoguchi.config.settings.local",
        "DATABASE_URL": f"sqlite:///{data_dir / 'live.sqlite3'}",
        "MADOGUCHI_DATA_DIR": str(data_dir),
    }
    done = subprocess.run(
        [sys.executable, "-c", SUMMARY, start.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_chat_suggestions_are_shown_opened_and_count_as_deflected(
    open_browser_page, asgi_server, shop_site
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    data_dir = asgi_server.log_path.parent
    database = data_dir / "live.sqlite3"
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)

    staff = open_browser_page()
    sign_in(staff, SUPERVISOR)
    staff.goto("/chat/tea/settings/")
    settings_form = staff.get_by_test_id("chat-settings-form")
    settings_form.locator("textarea[name=allowed_origins]").fill(shop_site.origin)
    settings_form.locator("button[type=submit]").click()
    expect(staff.locator("textarea[name=allowed_origins]")).to_have_value(shop_site.origin)
    snippet = html.unescape(staff.get_by_test_id("chat-snippet").inner_text())
    assert 'data-help-center="tea"' in snippet
    shop_site.page = (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>山田園 茶舗</title>'
        f"</head><body><h1>山田園 茶舗</h1>{snippet}</body></html>"
    ).encode()

    def ask(visitor) -> object:  # type: ignore[no-untyped-def]
        visitor.goto(shop_site.origin + "/")
        visitor.get_by_test_id("chat-launcher").click()
        panel = visitor.get_by_test_id("chat-panel")
        panel.locator("textarea[name=message]").fill(QUESTION)
        suggestions = panel.get_by_test_id("chat-help-suggestion")
        expect(suggestions.first).to_have_text(ARTICLE_TITLE)
        with visitor.context.expect_page() as opened:
            suggestions.first.click()
        article = opened.value
        expect(article.get_by_test_id("help-article-title")).to_have_text(ARTICLE_TITLE)
        article.close()
        return panel

    # The first visitor reads the article and leaves without writing.
    first = open_browser_page(base_url=None)
    ask(first)
    first_id = first.evaluate("localStorage.getItem('madoguchi-help-visitor')")
    assert first_id
    events = _wait_for_events(database, start, 2)
    assert [(kind, payload["visitor"], payload["source"]) for kind, payload in events] == [
        ("knowledge.suggestion_shown", first_id, "chat"),
        ("knowledge.suggestion_opened", first_id, "chat"),
    ]
    assert _summary(data_dir, start) == [1, 1, 1]

    # The second reads it too, then writes to the shop: not deflected.
    second = open_browser_page(base_url=None)
    panel = ask(second)
    second_id = second.evaluate("localStorage.getItem('madoguchi-help-visitor')")
    assert second_id and second_id != first_id
    email = panel.locator("input[name=email]")
    if email.is_visible():
        email.fill("visitor@example.jp")
    panel.locator("textarea[name=message]").fill("届くまでの日数も教えてください。")
    panel.locator("button[type=submit]").click()
    expect(panel.locator("[data-testid=chat-message][data-direction=inbound]")).to_have_count(1)
    events = _wait_for_events(database, start, 5)
    assert [(kind, payload["visitor"]) for kind, payload in events][2:] == [
        ("knowledge.suggestion_shown", second_id),
        ("knowledge.suggestion_opened", second_id),
        ("knowledge.suggestion_contacted", second_id),
    ]
    assert _summary(data_dir, start) == [2, 2, 1]
