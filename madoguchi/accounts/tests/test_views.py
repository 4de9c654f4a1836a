"""Sign in, sign out and the language switch."""

from django.conf import settings
from django.urls import reverse

from madoguchi.audit.models import AuditEntry


def test_login_page_renders(english, world):
    response = english.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert 'data-testid="login-form"' in response.text
    assert 'name="username"' in response.text
    assert 'type="password"' in response.text
    assert "Sign out" not in response.text
    assert "{#" not in response.text  # a template comment never leaks into the page
    assert '"allowEval":false' in response.text  # htmx configured for a strict CSP


def test_sign_in_with_email_and_password_lands_in_the_inbox(english, world):
    response = english.post(
        reverse("accounts:login"),
        {"username": world.operator_tea.email, "password": "pass-1234"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("conversations:inbox")
    inbox = english.get(reverse("conversations:inbox"))
    assert inbox.status_code == 200
    assert "お茶が届きません" in inbox.text
    assert "器が割れていました" not in inbox.text  # the other shop stays invisible


def test_sign_in_follows_next(english, world):
    ticket_url = reverse(
        "conversations:ticket", kwargs={"shop_slug": "tea", "number": world.tea_ticket.number}
    )
    response = english.post(
        reverse("accounts:login") + f"?next={ticket_url}",
        {"username": world.operator_tea.email, "password": "pass-1234", "next": ticket_url},
    )
    assert response.status_code == 302
    assert response["Location"] == ticket_url


def test_wrong_password_shows_an_error(english, world):
    response = english.post(
        reverse("accounts:login"), {"username": world.operator_tea.email, "password": "nope"}
    )
    assert response.status_code == 200
    assert 'data-testid="form-errors"' in response.text
    assert "Please enter a correct email address and password." in response.text
    assert "_auth_user_id" not in english.session


def test_anonymous_inbox_redirects_to_login(english, world):
    response = english.get(reverse("conversations:inbox"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login") + "?next=/"


def test_sign_out_is_a_post_and_is_audited(english, world):
    english.force_login(world.operator_tea)
    assert english.get(reverse("accounts:logout")).status_code == 405
    response = english.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in english.session
    assert (
        AuditEntry.objects.filter(actor=world.operator_tea, action="user.logged_out").count() == 1
    )


def test_the_header_switches_the_language(client, world):
    client.force_login(world.operator_tea)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = client.get(reverse("conversations:inbox"))
    assert '<html lang="en">' in page.text
    assert ">Sign out<" in page.text
    client.post(reverse("set_language"), {"language": "ja", "next": "/"})
    page = client.get(reverse("conversations:inbox"))
    assert '<html lang="ja">' in page.text
    # Japanese is the default; the compiled catalogue (make translations) gives the words.
    assert ">ログアウト<" in page.text
    assert "受信箱" in page.text
