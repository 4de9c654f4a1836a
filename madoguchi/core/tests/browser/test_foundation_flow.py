"""The foundation's must-show flow, in a real browser against `madoguchi serve`.

Sign in as the tea shop's operator, open a ticket from the inbox, reply, set it pending, find it
in the pending view; sign out; sign in as the tea shop's owner and get a 404 for a ceramics
ticket. The server holds the demo data (`demo_seed`).
"""

import re

import pytest

from madoguchi.core.testing.browser import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OPERATOR = "operator@madoguchi-support.example"
CLIENT = "owner@yamada-en.example"


def test_sign_in_page_and_wrong_password(browser_page, asgi_server) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    response = page.goto("/accounts/login/")
    assert response is not None and response.status == 200
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(OPERATOR)
    form.locator("input[name=password]").fill("not-the-password")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    assert page.url == f"{asgi_server.url}/accounts/login/"


def test_operator_replies_sets_pending_and_client_gets_404(browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, OPERATOR)
    rows = page.get_by_test_id("ticket-row")
    expect(rows.first).to_be_visible()
    references = rows.evaluate_all("rows => rows.map(row => row.dataset.reference)")
    assert references, "the operator's inbox is empty"
    assert all(reference.startswith("#TEA-") for reference in references)

    # Open the first ticket that is not already pending.
    row = rows.filter(has_not=page.locator(".badge--pending")).first
    reference = row.get_attribute("data-reference")
    row.click()
    expect(page.get_by_test_id("ticket-reference")).to_have_text(reference)
    messages_before = page.get_by_test_id("timeline-message").count()

    reply = "お問い合わせありがとうございます。本日、発送の手配をいたしました。"
    reply_form = page.get_by_test_id("reply-form")
    reply_form.locator("textarea[name=body]").fill(reply)
    reply_form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("timeline-message")).to_have_count(messages_before + 1)
    last = page.get_by_test_id("timeline-message").last
    expect(last).to_have_attribute("data-direction", "outbound")
    expect(last).to_contain_text(reply)

    properties = page.get_by_test_id("properties-form")
    properties.locator("select[name=status]").select_option("pending")
    properties.locator("button[type=submit]").click()
    badge = page.locator("header").get_by_test_id("status-badge")
    expect(badge).to_have_class(re.compile(r"\bbadge--pending\b"))

    page.get_by_role("banner").get_by_role("link").first.click()
    page.get_by_test_id("view-pending").click()
    pending_row = page.locator(f"[data-testid=ticket-row][data-reference='{reference}']")
    expect(pending_row).to_be_visible()
    expect(pending_row.get_by_test_id("status-badge")).to_have_class(
        re.compile(r"\bbadge--pending\b")
    )

    # Reload the ticket: the reply and the status were stored, not only swapped into the page.
    pending_row.click()
    expect(page.get_by_test_id("timeline-message").last).to_contain_text(reply)
    sign_out(page)

    sign_in(page, CLIENT)
    client_rows = page.get_by_test_id("ticket-row")
    expect(client_rows.first).to_be_visible()
    client_refs = client_rows.evaluate_all("rows => rows.map(row => row.dataset.reference)")
    assert all(ref.startswith("#TEA-") for ref in client_refs)
    response = page.goto("/shops/ceramics/tickets/1/")
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("not-found")).to_be_visible()
    response = page.goto("/shops/tea/tickets/1/")
    assert response is not None and response.status == 200
    expect(page.get_by_test_id("reply-form")).to_have_count(0)
