"""Password reset by mail: one link that works once and for two hours, no user enumeration."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.test import Client
from django.urls import reverse

from madoguchi.accounts import throttling
from madoguchi.audit.models import AuditEntry

from .conftest import post_password

LINK = re.compile(r"http://testserver(/accounts/password-reset/[^/\s]+/[^/\s]+/)")
NEW_PASSWORD = "green-tea-harvest-2026"


def ask_reset(client: Client, email: str):  # type: ignore[no-untyped-def]
    return client.post(reverse("accounts:password_reset"), {"email": email})


def reset_link(message: mail.EmailMessage) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def test_the_sign_in_page_links_to_the_reset(client, world):
    page = client.get(reverse("accounts:login"))
    assert "パスワードをお忘れですか？" in page.text
    assert f'href="{reverse("accounts:password_reset")}"' in page.text
    form = client.get(reverse("accounts:password_reset"))
    assert form.status_code == 200
    assert "パスワードの再設定" in form.text


def test_reset_end_to_end_and_the_link_works_once(client, world):
    user = world.operator_tea
    response = ask_reset(client, user.email.upper())  # the address is matched ignoring case
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert "メールをご確認ください" in client.get(response["Location"]).text

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "【窓口】パスワード再設定のご案内"
    assert message.from_email == "support@madoguchi.localhost"
    assert f"{user.display_name} 様" in message.body
    assert "リンクは1回だけ使え、2 時間で有効期限が切れます。" in message.body
    link = reset_link(message)

    # Django moves the token into the session and shows the form at a token-less address.
    opened = client.get(link)
    assert opened.status_code == 302
    form_url = opened["Location"]
    page = client.get(form_url)
    assert 'data-testid="set-password-form"' in page.text
    saved = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert saved.status_code == 302
    assert saved["Location"] == reverse("accounts:password_reset_complete")
    assert "新しいパスワードを設定しました" in client.get(saved["Location"]).text

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(actor=user, action="user.password_reset").count() == 1
    assert post_password(Client(), user.email, NEW_PASSWORD).status_code == 302

    # The same link again: refused, the password stays.
    again = Client().get(link, follow=True)
    assert 'data-testid="invalid-link"' in again.text
    assert "このリンクは使用済みか有効期限が切れているため" in again.text


def test_an_expired_link_is_refused(client, world, monkeypatch):
    ask_reset(client, world.operator_tea.email)
    link = reset_link(mail.outbox[0])
    real_now = PasswordResetTokenGenerator._now
    monkeypatch.setattr(
        PasswordResetTokenGenerator,
        "_now",
        lambda self: real_now(self) + dt.timedelta(hours=2, minutes=1),
    )
    page = client.get(link, follow=True)
    assert 'data-testid="invalid-link"' in page.text
    assert 'data-testid="set-password-form"' not in page.text


def test_a_link_inside_two_hours_still_works(client, world, monkeypatch):
    ask_reset(client, world.operator_tea.email)
    link = reset_link(mail.outbox[0])
    real_now = PasswordResetTokenGenerator._now
    monkeypatch.setattr(
        PasswordResetTokenGenerator,
        "_now",
        lambda self: real_now(self) + dt.timedelta(hours=1, minutes=59),
    )
    page = client.get(link, follow=True)
    assert 'data-testid="set-password-form"' in page.text


@pytest.mark.parametrize("address", ["nobody@example.jp", "inactive"])
def test_unknown_and_inactive_addresses_get_the_same_answer_and_no_mail(client, world, address):
    known = ask_reset(Client(), world.operator_ceramics.email)
    mail.outbox.clear()
    if address == "inactive":
        world.client_tea.is_active = False
        world.client_tea.save(update_fields=["is_active"])
        address = world.client_tea.email
    response = ask_reset(client, address)
    assert (response.status_code, response["Location"]) == (known.status_code, known["Location"])
    assert mail.outbox == []


def test_an_english_user_gets_the_mail_in_english(client, world):
    user = world.supervisor
    user.language = "en"
    user.save(update_fields=["language"])
    ask_reset(client, user.email)
    message = mail.outbox[0]
    assert message.subject == "[Madoguchi] Reset your password"
    assert "The link works once and expires in 2 hours." in message.body


def test_a_reset_signs_out_every_session_of_the_user(client, world):
    user = world.operator_tea
    signed_in = Client()
    post_password(signed_in, user.email)
    assert signed_in.get(reverse("conversations:inbox")).status_code == 200
    ask_reset(client, user.email)
    form_url = client.get(reset_link(mail.outbox[0]))["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    response = signed_in.get(reverse("conversations:inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_weak_new_password_is_refused_in_japanese(client, world):
    ask_reset(client, world.operator_tea.email)
    form_url = client.get(reset_link(mail.outbox[0]))["Location"]
    page = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert page.status_code == 200
    assert "このパスワードは一般的すぎます。" in page.text


def test_reset_requests_are_limited_per_address(client, world):
    for _ in range(throttling.RESET_LIMIT):
        assert ask_reset(client, "nobody@example.jp").status_code == 302
    refused = ask_reset(client, world.operator_tea.email)
    assert refused.status_code == 200
    assert "再設定の申し込みが多すぎます" in refused.text
    assert f'value="{world.operator_tea.email}"' in refused.text  # what was typed stays
    assert mail.outbox == []
    # Another address is not affected.
    other = Client(REMOTE_ADDR="192.0.2.9")
    assert ask_reset(other, world.operator_tea.email).status_code == 302
    assert len(mail.outbox) == 1
