"""Two-step sign-in: set-up with a QR code, the code step at sign-in, recovery codes, turning it
off, and the workspace rule that staff must have it."""

from __future__ import annotations

import re
from base64 import b32encode

from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import UserSession
from madoguchi.audit.models import AuditEntry

from .conftest import PASSWORD, code_for, enable_two_factor, post_password

CODE_STEP = reverse("accounts:sign_in_code")
SETUP = reverse("accounts:two_factor_setup")


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    assert post_password(client, user.email).status_code == 302
    return client


def test_set_up_shows_a_qr_code_and_the_secret_then_recovery_codes(world):
    user = world.operator_tea
    client = signed_in(user)
    other = signed_in(user)
    page = client.get(SETUP)
    assert page.status_code == 200
    assert '<div class="qr-code" data-testid="qr-code"><svg' in page.text
    assert "<?xml" not in page.text
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    secret = re.search(r'data-testid="secret">([A-Z2-7 ]+)<', page.text).group(1)
    assert secret.replace(" ", "") == b32encode(device.bin_key).decode().rstrip("=")
    # Reloading keeps the same secret (the app may have scanned it already).
    client.get(SETUP)
    assert TOTPDevice.objects.filter(user=user).count() == 1

    wrong = client.post(SETUP, {"code": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "コードが正しくありません" in wrong.text
    device.refresh_from_db()
    assert device.confirmed is False

    confirmed = client.post(SETUP, {"code": code_for(device)})
    assert confirmed["Location"] == reverse("accounts:recovery_codes")
    codes_page = client.get(confirmed["Location"])
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", codes_page.text)
    assert len(codes) == 10
    assert sorted(codes) == sorted(StaticToken.objects.values_list("token", flat=True))
    # Shown once only.
    assert client.get(reverse("accounts:recovery_codes"))["Location"] == reverse(
        "accounts:two_factor"
    )
    device.refresh_from_db()
    assert device.confirmed is True
    assert AuditEntry.objects.filter(actor=user, action="user.two_factor_enabled").count() == 1
    # This browser goes on; the user's other session was signed out.
    assert client.get(reverse("conversations:inbox")).status_code == 200
    assert other.get(reverse("conversations:inbox"))["Location"].startswith(
        reverse("accounts:login")
    )
    assert UserSession.objects.filter(user=user).count() == 1


def test_sign_in_asks_for_the_code_before_any_page(world):
    user = world.operator_tea
    device, _ = enable_two_factor(user)
    client = Client()
    inbox = reverse("conversations:inbox")
    response = post_password(client, user.email, next="/search/?q=x")
    assert response.status_code == 302
    assert response["Location"] == f"{CODE_STEP}?next=%2Fsearch%2F%3Fq%3Dx"
    # Every page, including fragments and other accounts pages, sends to the code step.
    for url in (
        inbox,
        reverse("accounts:profile"),
        f"/shops/tea/tickets/{world.tea_ticket.number}/",
    ):
        page = client.get(url)
        assert page.status_code == 302, url
        assert page["Location"].startswith(CODE_STEP)
    fragment = client.get(inbox, headers={"HX-Request": "true"})
    assert fragment["HX-Redirect"] == CODE_STEP
    assert "お茶が届きません" not in fragment.text
    code_page = client.get(response["Location"])
    assert code_page.status_code == 200
    assert "認証アプリに表示されている6桁のコード" in code_page.text

    wrong = client.post(CODE_STEP, {"code": "12345", "next": "/search/?q=x"})
    assert "コードが正しくありません" in wrong.text
    passed = client.post(
        CODE_STEP, {"code": code_for(device, steps_ahead=1), "next": "/search/?q=x"}
    )
    assert passed["Location"] == "/search/?q=x"
    assert client.get(inbox).status_code == 200


def test_a_recovery_code_works_once(world):
    user = world.operator_tea
    _, codes = enable_two_factor(user)
    client = Client()
    post_password(client, user.email)
    passed = client.post(CODE_STEP, {"code": codes[0].upper()})
    assert passed["Location"] == reverse("conversations:inbox")
    assert (
        "リカバリーコードでログインしました。残りは 9 個です。"
        in client.get(passed["Location"]).text
    )

    again = Client()
    post_password(again, user.email)
    refused = again.post(CODE_STEP, {"code": codes[0]})
    assert refused.status_code == 200
    assert "コードが正しくありません" in refused.text
    assert again.get(reverse("conversations:inbox"))["Location"].startswith(CODE_STEP)


def test_five_wrong_codes_send_back_to_the_password(world):
    user = world.operator_tea
    enable_two_factor(user)
    client = Client()
    post_password(client, user.email)
    for _ in range(4):
        assert client.post(CODE_STEP, {"code": "not-a-code"}).status_code == 200
    response = client.post(CODE_STEP, {"code": "not-a-code"})
    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"])
    assert "確認コードの誤りが続いたため" in page.text
    assert (
        AuditEntry.objects.filter(
            actor=user, action="user.login_failed", changes__step="code"
        ).count()
        == 5
    )
    # The wrong codes count as failed sign-ins: the account is locked for a while.
    refused = post_password(Client(), user.email)
    assert refused.status_code == 200
    assert "ログインの失敗が続いたため" in refused.text


def test_regenerate_and_turn_off_need_the_password(world):
    user = world.operator_tea
    device, old_codes = enable_two_factor(user)
    client = Client()
    post_password(client, user.email)
    client.post(CODE_STEP, {"code": code_for(device, steps_ahead=1)})
    status = client.get(reverse("accounts:two_factor"))
    assert "リカバリーコードは残り 10 個です" in status.text

    refused = client.post(reverse("accounts:recovery_codes"), {"regenerate-password": "wrong"})
    assert refused["Location"] == reverse("accounts:two_factor")
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(old_codes)
    made = client.post(reverse("accounts:recovery_codes"), {"regenerate-password": PASSWORD})
    new_codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", client.get(made["Location"]).text)
    assert len(new_codes) == 10
    assert not set(new_codes) & set(old_codes)
    assert AuditEntry.objects.filter(action="user.recovery_codes_regenerated").count() == 1

    wrong = client.post(reverse("accounts:two_factor_disable"), {"password": "wrong"})
    assert wrong.status_code == 400
    assert "パスワードが正しくありません。" in wrong.text
    assert TOTPDevice.objects.filter(user=user).exists()
    off = client.post(reverse("accounts:two_factor_disable"), {"password": PASSWORD})
    assert off["Location"] == reverse("accounts:profile")
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticToken.objects.exists()
    assert AuditEntry.objects.filter(actor=user, action="user.two_factor_disabled").count() == 1
    # Signing in is one step again.
    assert post_password(Client(), user.email)["Location"] == reverse("conversations:inbox")


def test_staff_of_a_workspace_that_requires_it_must_set_it_up_first(world):
    world.agency.requires_two_factor = True
    world.agency.save(update_fields=["requires_two_factor"])
    client = Client()
    response = post_password(client, world.operator_tea.email)
    inbox = client.get(response["Location"])
    assert inbox.status_code == 302
    assert inbox["Location"].startswith(SETUP)
    assert client.get(reverse("accounts:profile"))["Location"].startswith(SETUP)
    page = client.get(SETUP)
    assert "2段階認証を必須とするワークスペースのメンバーは" in page.text
    device = TOTPDevice.objects.get(user=world.operator_tea)
    client.post(SETUP, {"code": code_for(device)})
    assert client.get(reverse("accounts:recovery_codes")).status_code == 200
    assert client.get(reverse("conversations:inbox")).status_code == 200


def test_a_client_of_a_shop_is_not_held_by_the_agencys_rule(world):
    world.agency.requires_two_factor = True
    world.agency.save(update_fields=["requires_two_factor"])
    client = Client()
    post_password(client, world.client_tea.email)
    assert client.get(reverse("conversations:inbox")).status_code == 200


def test_a_signed_in_staff_member_is_held_once_the_rule_is_on(world):
    client = Client()
    client.force_login(world.supervisor)
    assert client.get(reverse("conversations:inbox")).status_code == 200
    world.agency.requires_two_factor = True
    world.agency.save(update_fields=["requires_two_factor"])
    assert client.get(reverse("conversations:inbox"))["Location"].startswith(SETUP)
    # Signing out and the language switch stay open.
    assert client.post(reverse("set_language"), {"language": "en", "next": "/"}).status_code == 302
    assert client.post(reverse("accounts:logout"))["Location"] == reverse("accounts:login")


def test_the_profile_links_the_two_step_pages(world):
    client = Client()
    client.force_login(world.operator_tea)
    page = client.get(reverse("accounts:profile"))
    assert f'href="{reverse("accounts:password_change")}"' in page.text
    assert f'href="{reverse("accounts:two_factor")}"' in page.text
    assert client.get(reverse("accounts:two_factor"))["Location"] == SETUP
