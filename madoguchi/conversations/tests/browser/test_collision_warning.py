"""Collision warning in real browsers against `madoguchi serve` (uvicorn, ASGI, websockets).

Two operators (two browser contexts, two sign-ins) open the same ticket: each sees the other on
it; one types and the other sees them writing; the second one sends a reply; the first, sending
afterwards, is asked to confirm (the newer reply is shown, their text kept) and sends anyway.
Leaving the page removes one from the other's list. The server holds the demo data.
"""

from __future__ import annotations

import re

import pytest

from madoguchi.core.testing.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OPERATOR = ("operator@madoguchi-support.example", "佐藤 葵")
SUPERVISOR = ("supervisor@madoguchi-support.example", "中村 健太")


def test_two_operators_see_each_other_and_the_later_reply_asks_first(open_browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    operator, supervisor = open_browser_page(), open_browser_page()
    sign_in(operator, OPERATOR[0])
    sign_in(supervisor, SUPERVISOR[0])

    # The operator opens one of the tea shop's tickets; the supervisor opens the same one.
    operator.get_by_test_id("ticket-row").last.click()
    expect(operator.get_by_test_id("ticket-reference")).to_be_visible()
    ticket_url = operator.url
    supervisor.goto(ticket_url)
    expect(supervisor.get_by_test_id("ticket-reference")).to_have_text(
        operator.get_by_test_id("ticket-reference").inner_text()
    )

    # Each sees the other, viewing.
    seen_by_operator = operator.get_by_test_id("presence-item")
    seen_by_supervisor = supervisor.get_by_test_id("presence-item")
    expect(seen_by_operator).to_have_count(1)
    expect(seen_by_operator).to_contain_text(SUPERVISOR[1])
    expect(seen_by_operator).to_have_attribute("data-state", "viewing")
    expect(seen_by_supervisor).to_have_count(1)
    expect(seen_by_supervisor).to_contain_text(OPERATOR[1])
    expect(seen_by_supervisor).to_have_attribute("data-state", "viewing")

    # The operator writes a reply: the supervisor sees it live, then it expires.
    mine = "お問い合わせありがとうございます。担当の佐藤が確認いたします。"
    operator_box = operator.get_by_test_id("reply-form").locator("textarea[name=body]")
    operator_box.press_sequentially(mine[:6], delay=30)
    operator_box.fill(mine)
    expect(seen_by_supervisor).to_have_attribute("data-state", "writing")
    expect(seen_by_supervisor).to_contain_text(re.compile("返信を入力中|writing a reply"))
    expect(seen_by_supervisor).to_have_attribute("data-state", "viewing", timeout=12_000)

    # The supervisor replies first.
    theirs = "中村です。本日発送いたしました。"
    supervisor_timeline = supervisor.get_by_test_id("timeline-message")
    before = supervisor_timeline.count()
    supervisor_form = supervisor.get_by_test_id("reply-form")
    supervisor_form.locator("textarea[name=body]").fill(theirs)
    supervisor_form.locator("button[type=submit]").click()
    expect(supervisor_timeline).to_have_count(before + 1)

    # The operator sends afterwards: nothing is sent, the newer reply is shown, text kept.
    operator.get_by_test_id("reply-form").locator("button[type=submit]").click()
    conflict = operator.get_by_test_id("reply-conflict")
    expect(conflict).to_be_visible()
    expect(operator.get_by_test_id("reply-conflict-author")).to_contain_text(SUPERVISOR[1])
    expect(operator.get_by_test_id("reply-conflict-message")).to_have_text(theirs)
    expect(operator.get_by_test_id("reply-form").locator("textarea[name=body]")).to_have_value(mine)
    operator_timeline = operator.get_by_test_id("timeline-message")
    expect(operator_timeline.last).to_contain_text(theirs)
    # The workspace was swapped; the supervisor is still listed.
    expect(seen_by_operator).to_contain_text(SUPERVISOR[1])

    # Send anyway: the reply goes out after the supervisor's.
    after_theirs = operator_timeline.count()
    operator.get_by_test_id("send-anyway").click()
    expect(operator_timeline).to_have_count(after_theirs + 1)
    expect(operator_timeline.last).to_contain_text(mine)
    expect(operator.get_by_test_id("reply-conflict")).to_have_count(0)
    supervisor.reload()
    expect(supervisor.get_by_test_id("timeline-message").last).to_contain_text(mine)

    # The supervisor leaves the ticket: the operator no longer sees them.
    expect(seen_by_operator).to_have_count(1)
    supervisor.goto("/")
    expect(seen_by_operator).to_have_count(0)
