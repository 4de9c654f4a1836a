"""Send approval in a real browser: a trainee's reply waits for a supervisor and is sent after.

The server holds the demo data (`demo_seed`), which has a trainee operator of the tea shop.
"""

import re

import pytest

from madoguchi.core.testing.browser import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TRAINEE = "trainee@madoguchi-support.example"
SUPERVISOR = "supervisor@madoguchi-support.example"


def test_trainee_reply_waits_for_approval_and_is_sent_after_it(browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, TRAINEE)
    row = page.get_by_test_id("ticket-row").first
    reference = row.get_attribute("data-reference")
    row.click()
    expect(page.get_by_test_id("ticket-reference")).to_have_text(reference)
    ticket_url = page.url
    messages_before = page.get_by_test_id("timeline-message").count()
    expect(page.get_by_test_id("trainee-notice")).to_be_visible()

    draft_text = "お問い合わせありがとうございます。確認します。"
    reply_form = page.get_by_test_id("reply-form")
    reply_form.locator("textarea[name=body]").fill(draft_text)
    reply_form.locator("button[type=submit]").click()
    pending = page.locator("[data-testid=reply-draft][data-state=pending]")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text(draft_text)
    # Nothing reached the customer: the timeline has no new message.
    expect(page.get_by_test_id("timeline-message")).to_have_count(messages_before)
    sign_out(page)

    sign_in(page, SUPERVISOR)
    page.goto("/operations/shops/tea/approvals/")
    approval = page.get_by_test_id("approval-row").filter(has_text=reference)
    expect(approval).to_have_count(1)
    approval.get_by_role("link").click()
    expect(page.get_by_test_id("draft-original")).to_contain_text(draft_text)
    edited = "お問い合わせありがとうございます。確認いたします。"
    review = page.get_by_test_id("draft-review-form")
    review.locator("textarea[name=body]").fill(edited)
    review.get_by_role("button", name=re.compile("Show changes|変更点を表示")).click()
    diff = page.get_by_test_id("draft-diff")
    expect(diff).to_contain_text("- " + draft_text)
    expect(diff).to_contain_text("+ " + edited)
    page.get_by_test_id("draft-review-form").get_by_role(
        "button", name=re.compile("Approve and send|承認して送信")
    ).click()
    expect(page.get_by_test_id("approval-queue")).to_be_visible()
    expect(page.get_by_test_id("approval-row").filter(has_text=reference)).to_have_count(0)

    page.goto(ticket_url)
    expect(page.get_by_test_id("timeline-message")).to_have_count(messages_before + 1)
    last = page.get_by_test_id("timeline-message").last
    expect(last).to_have_attribute("data-direction", "outbound")
    expect(last).to_contain_text(edited)
    expect(last).to_contain_text("鈴木 翔")  # the trainee is the author
    expect(page.locator("[data-testid=reply-draft]")).to_have_count(0)


def test_operator_fills_a_reply_from_a_template_and_it_sets_the_status(browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, "operator@madoguchi-support.example")
    page.goto("/operations/shops/tea/templates/")
    form = page.get_by_test_id("template-form")
    form.locator("input[name=name]").fill("ブラウザ確認")
    form.locator("select[name=language]").select_option("ja")
    form.locator("textarea[name=body]").fill(
        "{{ customer_name }}様\n{{ shop_name }}でございます。{{ settings.SECRET_KEY }}"
    )
    form.locator("select[name=set_status]").select_option("pending")
    form.locator("button[type=submit]").click()
    # A placeholder outside the allowlist is refused with a field error; the text is kept.
    form = page.get_by_test_id("template-form")
    expect(form.locator(".field__error")).to_contain_text("{{ settings.SECRET_KEY }}")
    expect(page.get_by_test_id("template-row").filter(has_text="ブラウザ確認")).to_have_count(0)
    form.locator("textarea[name=body]").fill("{{ customer_name }}様\n{{ shop_name }}でございます。")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("template-row").filter(has_text="ブラウザ確認")).to_have_count(1)

    page.goto("/")
    # A mail ticket of the demo: its customer has a name, so the template has no empty variable
    # (another browser test may have left a newer chat from a visitor without one, and a reply
    # with an empty variable is refused until it is filled in).
    row = (
        page.get_by_test_id("ticket-row")
        .filter(has=page.locator(".chip--email"))
        .filter(has_not=page.locator(".badge--pending"))
        .first
    )
    row.click()
    # htmx binds the picker once the page has loaded: a change before that would go unheard.
    page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    page.wait_for_load_state("load")
    page.get_by_test_id("template-picker").locator("select").select_option(
        label="ブラウザ確認 (日本語)"
    )
    body = page.get_by_test_id("reply-form").locator("textarea[name=body]")
    expect(body).to_have_value(re.compile(r"^[^{}\s][^{}]*様\n山田園 茶舗でございます。$"))
    page.get_by_test_id("reply-form").locator("button[type=submit]").click()
    badge = page.locator("header").get_by_test_id("status-badge")
    expect(badge).to_have_class(re.compile(r"\bbadge--pending\b"))
    expect(page.get_by_test_id("timeline-message").last).to_contain_text(
        "山田園 茶舗でございます。"
    )
