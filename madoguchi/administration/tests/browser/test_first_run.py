"""A fresh install becomes a working shop in the browser, and email works end to end.

`madoguchi setup` makes an agency and its admin on an empty database. In real Chromium the
admin creates a client shop with its engagement, invites an operator (the invitation arrives at
a real SMTP server on loopback), who accepts, sets a password and two-step sign-in. The admin
adds a mail address whose mailbox is a real Dovecot on loopback and whose outgoing server is the
SMTP server, sets business hours, an SLA policy and routing. A customer's mail then arrives by
IMAP, routing gives it to the operator, the ticket shows its SLA due time, and the operator's
reply reaches the SMTP server as an answer to the customer's mail.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from madoguchi.core.testing.browser import japanese_context, pass_second_step
from madoguchi.core.testing.live_server import LiveServer, running_server
from madoguchi.core.testing.mailservers import DovecotServer, SmtpCapture

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@midori-support.example"
ADMIN_PASSWORD = "midori-admin-2026!"
OPERATOR_EMAIL = "sato@midori-support.example"
OPERATOR_PASSWORD = "sato-operator-2026!"
SUPPORT_ADDRESS = "support@hanamizuki.example"
CUSTOMER = "yamamoto.kei@example.jp"
WAIT_SECONDS = 60


@pytest.fixture
def fresh_install(tmp_path: Path, smtp_capture: SmtpCapture) -> Iterator[LiveServer]:
    """`madoguchi setup` on an empty database, then `madoguchi serve` sending by `smtp_capture`."""
    password_file = tmp_path / "admin-password"
    password_file.write_text(ADMIN_PASSWORD + "\n")
    setup = [
        "setup",
        "--workspace-name",
        "みどりサポート株式会社",
        "--kind",
        "agency",
        "--admin-name",
        "森 みどり",
        "--admin-email",
        ADMIN_EMAIL,
        "--admin-password-file",
        str(password_file),
    ]
    prepare = [["migrate", "--noinput"], setup]
    env = {
        "EMAIL_HOST": smtp_capture.host,
        "EMAIL_PORT": str(smtp_capture.port),
        "MADOGUCHI_MAIL_IMAP_POLL_SECONDS": "2",
    }
    with running_server(tmp_path, prepare=prepare, extra_env=env) as server:
        yield server


def _wait_for(what: str, found: Callable[[], Any], server: LiveServer) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"Waited {WAIT_SECONDS} s for {what}.\n{server.log_tail()}")


def _mail_to(
    capture: SmtpCapture, recipient: str, containing: str = ""
) -> Callable[[], EmailMessage | None]:
    def found() -> EmailMessage | None:
        for mail in capture.received:
            message = mail.message()
            text = message.get_body(preferencelist=("plain",))
            if recipient in mail.rcpt_tos and text is not None and containing in text.get_content():
                return message
        return None

    return found


def _totp(secret_text: str) -> str:
    from django_otp.oath import totp

    key = base64.b32decode(re.sub(r"\s", "", secret_text).upper())
    return f"{totp(key):06d}"


def _submit(page: Any, form: Any) -> None:
    with page.expect_navigation():
        form.locator("button[type=submit]").first.click()


def _sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(email)
    form.locator("input[name=password]").fill(password)
    _submit(page, form)
    pass_second_step(page, email)  # the admin sets up an authenticator at the first sign-in


def test_a_fresh_install_answers_its_first_mail(
    chromium_browser: Any,
    fresh_install: LiveServer,
    smtp_capture: SmtpCapture,
    dovecot: DovecotServer,
) -> None:
    from playwright.sync_api import expect

    server = fresh_install
    admin = japanese_context(chromium_browser, server.url).new_page()

    # The admin signs in; the menu is Japanese and reaches the workspace pages.
    _sign_in(admin, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(admin.locator("nav.menu")).to_contain_text("ワークスペース")

    # A client shop together with its engagement (受託型).
    admin.goto("/settings/workspace/")
    admin.locator("a[href$='/new-shop/']").first.click()
    form = admin.locator("form[method=post]").filter(has=admin.locator("input[name=client_name]"))
    form.locator("input[name=client_name]").fill("株式会社はなみずき")
    form.locator("input[name=name]").fill("はなみずき雑貨店")
    form.locator("input[name=ticket_prefix]").fill("HNM")
    form.locator("select[name=mode]").select_option("outsourced")
    form.locator("input[name=starts_on]").fill("2026-01-01")
    _submit(admin, form)
    match = re.search(r"/settings/shops/([^/]+)/", admin.url)
    assert match, admin.url
    shop = match[1]
    expect(admin.locator("body")).to_contain_text("はなみずき雑貨店")

    # Invite an operator for the shop: the invitation arrives at the SMTP server.
    admin.goto("/settings/people/invite/")
    form = admin.locator("form[method=post]").filter(has=admin.locator("input[name=email]"))
    form.locator("input[name=email]").fill(OPERATOR_EMAIL)
    form.locator("select[name=role]").select_option("operator")
    form.locator("input[name=shops]").first.check()
    form.locator("input[name=languages][value=ja]").check()
    _submit(admin, form)
    invitation = _wait_for("the invitation mail", _mail_to(smtp_capture, OPERATOR_EMAIL), server)
    body = invitation.get_body(preferencelist=("plain",))
    assert body is not None
    link = re.search(r"https?://\S+/settings/invitations/\S+/", body.get_content())
    assert link, body.get_content()

    # The operator accepts, chooses a password and turns on two-step sign-in.
    operator = japanese_context(chromium_browser, server.url).new_page()
    operator.goto(link[0])
    form = operator.locator("form[method=post]").filter(
        has=operator.locator("input[name=password1]")
    )
    form.locator("input[name=display_name]").fill("佐藤 葵")
    form.locator("input[name=password1]").fill(OPERATOR_PASSWORD)
    form.locator("input[name=password2]").fill(OPERATOR_PASSWORD)
    _submit(operator, form)
    operator.goto("/accounts/two-factor/setup/")
    secret = operator.get_by_test_id("secret").inner_text()
    expect(operator.get_by_test_id("qr-code").locator("svg")).to_be_visible()
    form = operator.get_by_test_id("two-factor-setup-form")
    form.locator("input[name=code]").fill(_totp(secret))
    _submit(operator, form)
    recovery_codes = operator.get_by_test_id("recovery-codes").locator("code").all_inner_texts()
    assert len(recovery_codes) == 10

    # The shop's mail: an IMAP mailbox (Dovecot), an outgoing server, the support address.
    admin.goto(f"/mail/{shop}/mailboxes/")
    form = admin.locator("form[method=post]").filter(has=admin.locator("input[name=host]"))
    form.locator("input[name=name]").fill("サポート受信箱")
    form.locator("input[name=host]").fill(dovecot.host)
    form.locator("input[name=port]").fill(str(dovecot.port))
    form.locator("select[name=security]").select_option("none")
    form.locator("input[name=username]").fill(dovecot.user)
    form.locator("input[name=password]").fill(dovecot.password)
    _submit(admin, form)
    admin.goto(f"/mail/{shop}/smtp/")
    form = admin.locator("form[method=post]").filter(has=admin.locator("input[name=host]"))
    form.locator("input[name=name]").fill("送信サーバー")
    form.locator("input[name=host]").fill(smtp_capture.host)
    form.locator("input[name=port]").fill(str(smtp_capture.port))
    form.locator("select[name=security]").select_option("none")
    _submit(admin, form)
    admin.goto(f"/mail/{shop}/addresses/")
    form = admin.locator("form[method=post]").filter(has=admin.locator("input[name=address]"))
    form.locator("input[name=address]").fill(SUPPORT_ADDRESS)
    form.locator("input[name=display_name]").fill("はなみずき雑貨店 サポート")
    form.locator("input[name=is_default_sender]").check()
    form.locator("input[name=is_verified]").check()
    form.locator("input[name=inbound_method][value=imap]").check()
    form.locator("select[name=mailbox]").select_option(
        label=f"サポート受信箱 ({dovecot.user}@{dovecot.host})"
    )
    form.locator("select[name=outbound_server]").select_option(
        label=f"送信サーバー ({smtp_capture.host})"
    )
    _submit(admin, form)
    expect(admin.locator("body")).to_contain_text(SUPPORT_ADDRESS)

    # Hours (open around the clock, so the due time is plain), an SLA policy, routing.
    admin.goto(f"/operations/shops/{shop}/calendar/")
    form = admin.locator("form[method=post]").filter(has=admin.locator("input[name=always_open]"))
    form.locator("input[name=always_open]").check()
    _submit(admin, form)
    admin.goto(f"/operations/shops/{shop}/sla-policies/")
    form = admin.locator("form[method=post]").filter(
        has=admin.locator("input[name=first_response_minutes]")
    )
    form.locator("input[name=name]").fill("標準")
    form.locator("input[name=first_response_minutes]").fill("2:00")
    form.locator("input[name=in_business_hours]").uncheck()
    _submit(admin, form)
    expect(admin.locator("body")).to_contain_text("標準")
    admin.goto(f"/operations/shops/{shop}/routing/")
    form = admin.locator("form[method=post]").filter(has=admin.locator("input[name=mode]"))
    form.locator("input[name=mode][value=round_robin]").check()
    form.locator("input[name=requires_on_duty]").uncheck()
    _submit(admin, form)

    # A customer writes; the mail arrives through IMAP and becomes a ticket.
    customer_message_id = make_msgid(domain="example.jp")
    mail = EmailMessage()
    mail["From"] = f"山本 圭 <{CUSTOMER}>"
    mail["To"] = SUPPORT_ADDRESS
    mail["Subject"] = "注文した花瓶が届きません"
    mail["Message-ID"] = customer_message_id
    mail.set_content("10日に注文した花瓶がまだ届きません。発送状況を教えてください。", cte="8bit")
    dovecot.append(mail.as_bytes())

    # The operator signs in again, with a recovery code this time, and finds the ticket
    # assigned to them with its SLA due time.
    _submit(operator, operator.locator("form[action='/accounts/logout/']"))
    _sign_in(operator, OPERATOR_EMAIL, OPERATOR_PASSWORD)
    form = operator.get_by_test_id("code-form")
    form.locator("input[name=code]").fill(recovery_codes[0])
    _submit(operator, form)
    expect(operator.get_by_test_id("code-form")).to_have_count(0)

    def assigned_ticket() -> str | None:
        operator.goto("/?view=mine")
        link = operator.locator("a", has_text="注文した花瓶が届きません")
        return str(link.first.get_attribute("href")) if link.count() else None

    ticket_url = _wait_for("the ticket, assigned to the operator", assigned_ticket, server)
    operator.goto(ticket_url)
    expect(operator.get_by_test_id("ticket-reference")).to_have_text(re.compile(r"#HNM-\d+"))

    def sla_shown() -> bool:
        operator.reload()
        return bool(operator.get_by_test_id("sla-panel").count())

    _wait_for("the SLA due time on the ticket", sla_shown, server)
    expect(operator.get_by_test_id("sla-panel")).to_contain_text("期限")

    # The reply goes out through the shop's server as an answer to the customer's mail.
    form = operator.get_by_test_id("reply-form")
    form.locator("textarea").first.fill(
        "山本様\nお問い合わせありがとうございます。本日発送いたしました。"
    )
    form.locator("button[type=submit]").first.click()  # htmx swaps the timeline in
    sent = "本日発送いたしました"
    reply = _wait_for(
        "the reply at the SMTP server", _mail_to(smtp_capture, CUSTOMER, sent), server
    )
    assert reply["In-Reply-To"] == customer_message_id
    assert customer_message_id in reply["References"]
    assert SUPPORT_ADDRESS in reply["From"]
    # The acknowledgement went out the same way when the mail arrived.
    acknowledgement = _mail_to(smtp_capture, CUSTOMER, "受付番号")()
    assert acknowledgement is not None
    assert acknowledgement["In-Reply-To"] == customer_message_id

    def shown_as_sent() -> bool:
        operator.reload()
        return "送信済み" in operator.get_by_test_id("delivery-status").last.inner_text()

    _wait_for("the reply shown as sent", shown_as_sent, server)
