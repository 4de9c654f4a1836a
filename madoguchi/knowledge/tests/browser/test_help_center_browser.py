"""The knowledge flows in a real browser over the demo data (`madoguchi serve`, ASGI):

- a visitor reads the tea shop's public help center, searches it in hiragana, votes, and never
  meets the draft article (neither in lists nor by its address);
- a customer typing on the web form is shown matching articles (suggest.js under the form's
  CSP nonce) and opens one: the shop's supervisor finds the draft the supervisor saves from a FAQ
  candidate, edits it and publishes it, and the help center then shows it.
"""

from __future__ import annotations

import re

import pytest

from madoguchi.core.testing.browser import sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SUPERVISOR = "supervisor@madoguchi-support.example"
DRAFT_TITLE = "定期便のお休み・スキップ"


def test_the_public_help_center_never_shows_a_draft(browser_page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = browser_page
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on(
        "console",
        lambda message: errors.append(message.text) if "violates" in message.text else None,
    )
    assert page.goto("/help/tea/").status == 200
    expect(page.locator("h1")).to_have_text("どのようなことでお困りですか？")
    expect(page.get_by_test_id("help-article-link").first).to_be_visible()
    expect(page.locator("main")).to_contain_text("送料とお届けまでの日数")
    expect(page.locator("main")).not_to_contain_text(DRAFT_TITLE)
    expect(page.locator("main")).not_to_contain_text("【社内】")

    # Katakana typed as hiragana matches (マイページ); the draft also says マイページ.
    page.get_by_test_id("help-search-input").fill("まいぺーじ")
    page.get_by_test_id("help-search-input").press("Enter")
    expect(page.get_by_test_id("help-result")).to_have_count(2)
    expect(page.get_by_test_id("help-results")).to_contain_text("返品・交換の方法")
    expect(page.get_by_test_id("help-results")).to_contain_text("領収書の発行")
    expect(page.get_by_test_id("help-results")).not_to_contain_text(DRAFT_TITLE)
    page.get_by_test_id("help-search-input").fill("ていきびん")  # the draft's word: not found
    page.get_by_test_id("help-search-input").press("Enter")
    expect(page.get_by_test_id("help-no-results")).to_be_visible()

    page.goto("/help/tea/")
    page.get_by_text("送料とお届けまでの日数").click()
    expect(page.get_by_test_id("help-article-title")).to_have_text("送料とお届けまでの日数")
    canonical = page.locator("link[rel=canonical]").get_attribute("href")
    assert canonical is not None and re.fullmatch(
        r"http://127\.0\.0\.1:\d+/help/tea/articles/\d+/", canonical
    )
    page.get_by_test_id("help-vote-yes").click()
    expect(page.get_by_test_id("help-vote")).to_contain_text("ご回答ありがとうございました")

    # The sitemap (fetched, not shown: Chrome's XML viewer styles itself inline) omits it too.
    sitemap = page.request.get("/help/tea/sitemap.xml")
    assert sitemap.status == 200
    assert "<loc>" in sitemap.text()
    assert DRAFT_TITLE not in sitemap.text()
    # Nothing was refused by the CSP (the browser's own favicon request may 404).
    errors = [error for error in errors if "Content Security Policy" in error]
    assert errors == [], errors


def test_web_form_suggestions_and_a_candidate_becomes_a_published_article(
    open_browser_page,
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    staff = open_browser_page()
    sign_in(staff, SUPERVISOR)
    staff.goto("/webform/tea/settings/")
    form_url = staff.get_by_test_id("public-url").inner_text()

    # A customer types on the web form: matching articles appear under the message box.
    customer = open_browser_page()
    csp_errors: list[str] = []
    customer.on(
        "console",
        lambda message: (
            csp_errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    customer.goto(form_url)
    customer.locator("#id_message").fill("領収書を発行してほしいのですが")
    suggestions = customer.get_by_test_id("help-suggestion")
    expect(suggestions.first).to_have_text("領収書の発行")
    with customer.context.expect_page() as opened:
        suggestions.first.click()
    article = opened.value
    expect(article.get_by_test_id("help-article-title")).to_have_text("領収書の発行")
    assert csp_errors == []

    # The supervisor turns an open FAQ candidate into an article and publishes it.
    staff.goto("/shops/tea/knowledge/candidates/")
    candidate = staff.get_by_test_id("candidate").first
    question = candidate.get_by_test_id("candidate-question").inner_text()
    expect(candidate.get_by_test_id("candidate-ticket").first).to_be_visible()
    candidate.get_by_test_id("candidate-convert").click()
    expect(staff.get_by_test_id("article-form")).to_be_visible()
    staff.locator("#id_title").fill(f"{question}（FAQ）")
    staff.locator("#id_body").fill("マイページの注文履歴からお手続きいただけます。")
    staff.get_by_test_id("article-save").click()
    expect(staff.get_by_test_id("article-status")).to_have_text("下書き")
    public_title = f"{question}（FAQ）"
    visitor = open_browser_page()
    visitor.goto("/help/tea/")
    expect(visitor.locator("main")).not_to_contain_text(public_title)
    staff.get_by_test_id("article-publish").click()
    expect(staff.get_by_test_id("article-status")).to_have_text("公開中")
    visitor.reload()
    expect(visitor.locator("main")).to_contain_text(public_title)
    sign_out(staff)
