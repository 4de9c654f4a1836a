"""An expired session's sign-out is audited as `user.session_expired` with its reason, instead
of an ordinary sign-out; signing out by hand stays `user.logged_out`."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from madoguchi.accounts.sessions import LAST_SEEN_AT_KEY, SIGNED_IN_AT_KEY
from madoguchi.audit import actions
from madoguchi.audit.models import AuditEntry

from .test_session_expiry import move_back

pytestmark = pytest.mark.django_db

INBOX = "/"


def _sign_outs(user: Any) -> list[tuple[str, dict[str, Any], str | None]]:
    return list(
        AuditEntry.objects.filter(
            actor=user, action__in=[actions.USER_LOGGED_OUT, actions.USER_SESSION_EXPIRED]
        )
        .order_by("id")
        .values_list("action", "changes", "ip_address")
    )


def _signed_in(user: Any) -> Client:
    client = Client(REMOTE_ADDR="192.0.2.44")
    client.force_login(user)
    assert client.get(INBOX).status_code == 200  # starts the session's clocks
    return client


@pytest.mark.parametrize(
    ("clock", "seconds", "reason"),
    [
        (LAST_SEEN_AT_KEY, settings.SESSION_IDLE_SECONDS + 1, "idle"),
        (SIGNED_IN_AT_KEY, settings.SESSION_COOKIE_AGE + 1, "max_age"),
    ],
)
def test_an_expired_session_writes_one_session_expired_entry(
    world: Any, clock: str, seconds: int, reason: str
) -> None:
    client = _signed_in(world.operator_tea)
    move_back(client, clock, seconds)

    assert client.get(INBOX).status_code == 302
    assert client.get(INBOX).status_code == 302  # signed out: nothing more is written

    assert _sign_outs(world.operator_tea) == [
        (actions.USER_SESSION_EXPIRED, {"reason": reason}, "192.0.2.44")
    ]


def test_signing_out_by_hand_is_an_ordinary_sign_out(world: Any) -> None:
    client = _signed_in(world.operator_tea)
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert _sign_outs(world.operator_tea) == [(actions.USER_LOGGED_OUT, {}, "192.0.2.44")]
