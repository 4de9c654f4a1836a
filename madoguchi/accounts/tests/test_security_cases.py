"""Cases of the security checklist (docs/security-checklist.md) about signing in: open redirects
(45), reset-link tokens (68), a sign-in name that tries to forge an audit line (74)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from madoguchi.audit.models import AuditEntry

from .conftest import enable_two_factor, post_password

pytestmark = pytest.mark.django_db

EVIL_NEXT = [
    "https://evil.example/",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "https:evil.example",
    "http://testserver.evil.example/",
    " //evil.example",
    "/\t/evil.example",
]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_sign_in_never_follows_next_off_the_site(world: Any, target: str) -> None:
    response = post_password(Client(), world.operator_tea.email, next=target)
    assert response.status_code == 302
    assert response["Location"] == reverse("conversations:inbox")


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_the_code_step_never_follows_next_off_the_site(world: Any, target: str) -> None:
    from .conftest import code_for

    user = world.operator_tea
    device, _codes = enable_two_factor(user)
    client = Client()
    assert post_password(client, user.email).status_code == 302
    response = client.post(
        reverse("accounts:sign_in_code"), {"code": code_for(device, steps_ahead=1), "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("conversations:inbox")


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_switching_the_language_never_follows_next_off_the_site(world: Any, target: str) -> None:
    response = Client().post(reverse("set_language"), {"language": "en", "next": target})
    assert response.status_code in (200, 302, 204)
    location = response.get("Location", "/")
    assert "evil.example" not in location
    assert not location.startswith(("//", "javascript:", "https:", "/\\"))


def test_a_page_on_the_site_is_still_followed(world: Any) -> None:
    target = reverse("customers:detail", args=["tea", world.tea_ticket.customer_id])
    response = post_password(Client(), world.operator_tea.email, next=target)
    assert response["Location"] == target


# --- 68: tokens of reset links ------------------------------------------------------------------

LINK = re.compile(r"http://testserver(/accounts/password-reset/([^/\s]+)/([^/\s]+)/)")


def _reset_link(world: Any) -> tuple[str, str, str]:
    Client().post(reverse("accounts:password_reset"), {"email": world.operator_tea.email})
    match = LINK.search(mail.outbox[-1].body)
    assert match is not None
    return match.group(1), match.group(2), match.group(3)


def _opens_the_form(path: str) -> bool:
    page = Client().get(path, follow=True)
    return 'data-testid="set-password-form"' in page.text


def test_a_reset_token_changed_in_case_or_padded_is_refused(world: Any) -> None:
    link, uid, token = _reset_link(world)
    assert _opens_the_form(link)  # the genuine link works: the refusals below are the token's
    base = reverse("accounts:password_reset_confirm", args=[uid, "x"]).removesuffix("x/")
    for forged in (token.upper(), token.swapcase(), f"{token}%20", f"%20{token}", token[:-1]):
        if forged == token:
            continue
        assert not _opens_the_form(f"{base}{forged}/"), forged


def test_a_reset_token_for_another_user_is_refused(world: Any) -> None:
    link, _uid, token = _reset_link(world)
    assert _opens_the_form(link)
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(world.operator_ceramics.pk))
    other_uid = reverse("accounts:password_reset_confirm", args=[uid, token])
    assert not _opens_the_form(other_uid)


# --- 74: a forged audit line in the sign-in name -------------------------------------------------


def test_a_sign_in_name_with_a_line_break_stays_one_field_of_one_entry(world: Any) -> None:
    from django.contrib.auth.signals import user_login_failed
    from django.test import RequestFactory

    forged = "nobody@example.jp\n2025-01-01 00:00:00 INFO admin login ok"
    # The sign-in form refuses the name before any account is looked up: nothing is written.
    response = post_password(Client(), forged, "wrong")
    assert response.status_code == 200
    assert not AuditEntry.objects.filter(action__startswith="user.").exists()
    # Whatever name a failed sign-in reports is kept as data in its own field of one entry.
    request = RequestFactory().post(reverse("accounts:login"), REMOTE_ADDR="203.0.113.9")
    user_login_failed.send(sender=__name__, credentials={"username": forged}, request=request)
    entries = AuditEntry.objects.filter(action__startswith="user.")
    assert list(entries.values_list("action", "actor_id", "actor_label", "ip_address")) == [
        ("user.login_failed", None, forged, "203.0.113.9")
    ]
