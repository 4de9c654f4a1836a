"""Cases of the security checklist (docs/security-checklist.md) for invitations: a link's token
that is empty, padded, changed in case, cut short or used once already opens nothing (68)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from madoguchi.accounts.models import User
from madoguchi.tenancy.models import Membership

from .test_people_invitations import invite, link_of, new_person_form, path_of

pytestmark = pytest.mark.django_db


def _forgeries(path: str, token: str) -> list[str]:
    base = path.removesuffix(f"{token}/")
    return [
        f"{base}{token.swapcase()}/",
        f"{base}{token.upper()}/",
        f"{base}{token.lower()}/",
        f"{base}{token}%20/",
        f"{base}%20{token}/",
        f"{base}{token[:-1]}/",
        f"{base}{token}x/",
        f"{base}%20/",
        base,
    ]


def test_a_changed_token_opens_no_invitation(
    english: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    invite(english, django_capture_on_commit_callbacks, world, "new@example.jp")
    link, token = link_of(mail.outbox[0])
    path = path_of(link)
    assert Client().get(path).status_code == 200  # the genuine link opens the accept page
    for forged in _forgeries(path, token):
        if forged == path:
            continue
        visitor = Client()
        assert visitor.get(forged).status_code == 404, forged
        assert visitor.post(forged, new_person_form()).status_code == 404, forged
    assert not User.objects.filter(email="new@example.jp").exists()


def test_an_accepted_invitation_link_works_once(
    english: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    invite(english, django_capture_on_commit_callbacks, world, "new@example.jp")
    link, _token = link_of(mail.outbox[0])
    assert Client().post(path_of(link), new_person_form()).status_code == 302
    user = User.objects.get(email="new@example.jp")
    assert Membership.objects.filter(user=user).count() == 1
    # The same link again, by someone else: nothing more is created.
    again = Client()
    response = again.post(path_of(link), new_person_form(name="別人", password="another-pass-42"))
    assert response.status_code in (404, 410)
    assert User.objects.filter(email="new@example.jp").count() == 1
    assert Membership.objects.filter(user=user).count() == 1
    assert "_auth_user_id" not in again.session
