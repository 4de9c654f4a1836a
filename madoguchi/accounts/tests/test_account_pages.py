"""The signed-in user's own pages: profile (name, UI language) and password change."""

from __future__ import annotations

from django.conf import settings
from django.test import Client
from django.urls import reverse

from madoguchi.accounts.models import UserSession
from madoguchi.audit.models import AuditEntry

from .conftest import PASSWORD, post_password

NEW_PASSWORD = "sencha-gyokuro-matcha"


def test_the_name_in_the_top_bar_opens_the_profile(client, world):
    client.force_login(world.operator_tea)
    inbox = client.get(reverse("conversations:inbox"))
    assert f'<a class="topbar__user" href="{reverse("accounts:profile")}"' in inbox.text
    page = client.get(reverse("accounts:profile"))
    assert page.status_code == 200
    assert world.operator_tea.email in page.text
    assert "プロフィール" in page.text


def test_saving_the_profile_sets_the_language_for_the_session_and_the_account(client, world):
    user = world.operator_tea
    client.force_login(user)
    response = client.post(
        reverse("accounts:profile"), {"display_name": "佐藤 あおい", "language": "en"}
    )
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    user.refresh_from_db()
    assert (user.display_name, user.language) == ("佐藤 あおい", "en")
    page = client.get(reverse("accounts:profile"))
    assert '<html lang="en">' in page.text
    assert "Your profile was saved." in page.text
    entry = AuditEntry.objects.get(action="user.profile_changed")
    assert entry.actor == user
    assert entry.changes == {
        "display_name": [entry.changes["display_name"][0], "佐藤 あおい"],
        "language": ["ja", "en"],
    }


def test_signing_in_uses_the_saved_language(world):
    user = world.operator_tea
    user.language = "en"
    user.save(update_fields=["language"])
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    response = post_password(client, user.email)
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert '<html lang="en">' in client.get(response["Location"]).text


def test_an_invalid_profile_re_renders_in_japanese_keeping_the_input(client, world):
    client.force_login(world.operator_tea)
    page = client.post(reverse("accounts:profile"), {"display_name": "", "language": "fr"})
    assert page.status_code == 200
    assert "このフィールドは必須です。" in page.text
    assert "正しく選択してください。" in page.text
    assert '<html lang="ja">' in page.text
    long_name = "長" * 101
    page = client.post(reverse("accounts:profile"), {"display_name": long_name, "language": "ja"})
    assert f'value="{long_name}"' in page.text
    assert not AuditEntry.objects.filter(action="user.profile_changed").exists()


def test_changing_the_password_keeps_this_session_and_ends_the_others(world):
    user = world.operator_tea
    this, other = Client(), Client()
    post_password(this, user.email)
    post_password(other, user.email)
    assert UserSession.objects.filter(user=user).count() == 2
    response = this.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == reverse("accounts:profile")
    assert "ほかのセッションはログアウトしました" in this.get(response["Location"]).text
    assert this.get(reverse("conversations:inbox")).status_code == 200
    gone = other.get(reverse("conversations:inbox"))
    assert gone["Location"].startswith(reverse("accounts:login"))
    assert list(UserSession.objects.filter(user=user).values_list("session_key", flat=True)) == [
        this.session.session_key
    ]
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(actor=user, action="user.password_changed").count() == 1


def test_the_password_change_needs_the_current_password(client, world):
    client.force_login(world.operator_tea)
    page = client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert page.status_code == 200
    assert "元のパスワードが間違っています。もう一度入力してください。" in page.text
    world.operator_tea.refresh_from_db()
    assert world.operator_tea.check_password(PASSWORD)


def test_account_pages_need_a_sign_in(client, world):
    for name in ("profile", "password_change", "two_factor", "two_factor_setup"):
        response = client.get(reverse(f"accounts:{name}"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login") + "?next=")
