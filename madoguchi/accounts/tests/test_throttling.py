"""Sign-in throttling: an account locks after 5 failures in 15 minutes, a client address after
20; the lock lasts 15 minutes, holds against the right password and reads the same for every
address typed."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from madoguchi.accounts import throttling
from madoguchi.accounts.models import Attempt
from madoguchi.audit.models import AuditEntry

from .conftest import post_password

LOCKED = "ログインの失敗が続いたため、一時的にログインできません。"


def fail(client: Client, email: str, times: int) -> None:
    for _ in range(times):
        response = post_password(client, email, "wrong-password")
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session


def age_attempts(minutes: int) -> None:
    """Move every counted attempt `minutes` into the past."""
    for attempt in Attempt.objects.all():
        attempt.occurred_at -= dt.timedelta(minutes=minutes)
        attempt.save(update_fields=["occurred_at"])


def test_five_failures_lock_the_account_even_for_the_right_password(client, world):
    user = world.operator_tea
    fail(client, user.email, 4)
    assert post_password(Client(), user.email)["Location"] == reverse("conversations:inbox")
    fail(client, user.email, 1)  # the fifth within 15 minutes
    refused = post_password(Client(), user.email)
    assert refused.status_code == 200
    assert LOCKED in refused.text
    assert f'value="{user.email}"' in refused.text  # the address typed stays in the form
    assert (
        AuditEntry.objects.filter(action="user.login_failed", actor_label=user.email).count() == 5
    )
    locked = AuditEntry.objects.get(action="user.login_locked")
    assert (locked.actor_label, locked.changes) == (user.email, {"blocked": "account"})
    # Other accounts from the same address still sign in.
    assert post_password(Client(), world.supervisor.email).status_code == 302


def errors(response) -> str:  # type: ignore[no-untyped-def]
    """The form's error box."""
    start = response.text.index('data-testid="form-errors"')
    return str(response.text[start : response.text.index("</div>", start)])


def test_an_unknown_address_reads_the_same_as_a_known_one(client, world):
    fail(client, "nobody@example.jp", 5)
    fail(client, world.operator_tea.email, 5)
    unknown = post_password(Client(), "nobody@example.jp", "anything")
    known = post_password(Client(), world.operator_tea.email)
    assert LOCKED in errors(known)
    assert errors(unknown) == errors(known)


def test_the_lock_ends_after_fifteen_minutes(client, world):
    user = world.operator_tea
    fail(client, user.email, 5)
    age_attempts(14)
    assert LOCKED in post_password(Client(), user.email).text
    age_attempts(2)  # the fifth failure is 16 minutes old
    assert post_password(Client(), user.email)["Location"] == reverse("conversations:inbox")


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(client, world):
    user = world.operator_tea
    fail(client, user.email, 3)
    age_attempts(16)
    fail(client, user.email, 2)
    assert post_password(Client(), user.email).status_code == 302


def test_attempts_while_locked_do_not_extend_the_lock(client, world):
    user = world.operator_tea
    fail(client, user.email, 5)
    age_attempts(10)
    fail(client, user.email, 3)  # refused, not counted
    assert Attempt.objects.filter(scope=Attempt.Scope.SIGN_IN_ACCOUNT).count() == 5
    age_attempts(6)
    assert post_password(Client(), user.email).status_code == 302


def test_twenty_failures_from_one_address_block_it(world):
    attacker = Client(REMOTE_ADDR="198.51.100.7")
    for number in range(throttling.ADDRESS_LIMIT):
        fail(attacker, f"guess{number}@example.jp", 1)
    refused = post_password(attacker, world.operator_tea.email)
    assert refused.status_code == 200
    assert LOCKED in refused.text
    assert AuditEntry.objects.get(action="user.login_locked").changes == {"blocked": "address"}
    # The account itself is not locked: from another address it signs in.
    elsewhere = Client(REMOTE_ADDR="192.0.2.20")
    assert post_password(elsewhere, world.operator_tea.email).status_code == 302


def test_old_attempts_are_pruned(client, world):
    Attempt.objects.create(
        scope=Attempt.Scope.SIGN_IN_ACCOUNT,
        key="old@example.jp",
        occurred_at=timezone.now() - dt.timedelta(hours=2),
    )
    fail(client, "new@example.jp", 1)
    assert list(Attempt.objects.values_list("key", flat=True).order_by("key")) == [
        "127.0.0.1",
        "new@example.jp",
    ]
