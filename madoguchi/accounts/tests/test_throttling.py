"""Sign-in throttling: an account locks after 5 failures in 15 minutes, a client address after
20; the lock lasts 15 minutes, holds against the right password and reads the same for every
address typed."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from madoguchi.accounts import services, throttling
from madoguchi.accounts.models import Attempt
from madoguchi.audit.models import AuditEntry

from .conftest import enable_two_factor, post_password

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


def test_attempts_in_flight_count_before_their_password_is_checked(db):
    """The interleaving of a burst, one step at a time: each attempt is counted as it starts."""
    holds = [
        throttling.sign_in_hold(email="burst@example.jp", address=f"192.0.2.{number}")
        for number in range(8)
    ]
    assert holds[throttling.ACCOUNT_LIMIT :] == [throttling.Block.ACCOUNT] * 3
    granted = [hold for hold in holds if isinstance(hold, throttling.Hold)]
    assert len(granted) == throttling.ACCOUNT_LIMIT
    # A success releases its count: the next attempt may start.
    granted[0].release()
    assert isinstance(
        throttling.sign_in_hold(email="burst@example.jp", address=None), throttling.Hold
    )


PARALLEL = 50
PARALLEL_CODES = 20
CODE_STEP = reverse("accounts:sign_in_code")


@pytest.mark.postgresql  # SQLite's in-memory test database has table locks, no busy wait
@pytest.mark.django_db(transaction=True)
def test_fifty_parallel_wrong_passwords_get_at_most_the_limit_checked(world):
    """Security case 66: a burst cannot pass the lock by checking before either is counted."""
    user = world.operator_tea
    barrier = threading.Barrier(PARALLEL)
    answers: list[str] = []
    errors_seen: list[BaseException] = []

    def attempt(number: int) -> None:
        try:
            client = Client(REMOTE_ADDR=f"203.0.113.{number + 1}")  # one address each
            barrier.wait(timeout=30)
            answers.append(post_password(client, user.email, "wrong-password").text)
        except BaseException as error:  # reported by the test thread below
            errors_seen.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(number,)) for number in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors_seen == []
    assert len(answers) == PARALLEL
    checked = [text for text in answers if LOCKED not in text]
    # Attempts in flight count against each other, so a burst may be refused whole; never more
    # than the limit are checked.
    assert len(checked) <= throttling.ACCOUNT_LIMIT
    # What was checked is counted; what was refused is not.
    assert Attempt.objects.filter(scope=Attempt.Scope.SIGN_IN_ACCOUNT).count() == len(checked)
    # A burst may refuse more than needed, never fewer: the failures still missing lock it.
    fail(Client(), user.email, throttling.ACCOUNT_LIMIT - len(checked))
    assert LOCKED in post_password(Client(), user.email).text  # the right password waits too


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_parallel_password_reset_requests_get_at_most_the_limit_mailed(world):
    barrier = threading.Barrier(PARALLEL)
    allowed: list[bool] = []
    errors_seen: list[BaseException] = []

    def ask() -> None:
        try:
            barrier.wait(timeout=30)
            allowed.append(throttling.password_reset_allowed(address="198.51.100.9"))
        except BaseException as error:  # reported by the test thread below
            errors_seen.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors_seen == []
    # Attempts in flight count against each other, so a burst may be refused whole; never more
    # than the limit are mailed.
    assert allowed.count(True) <= throttling.RESET_LIMIT
    assert Attempt.objects.filter(key="198.51.100.9").count() == allowed.count(True)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_codes_in_one_session_get_at_most_the_limit_checked(world, monkeypatch):
    """Security case 66, second step: a burst of codes in the session that passed the password
    step is counted before each code is checked, so at most the limit of codes are tried."""
    user = world.operator_tea
    enable_two_factor(user)
    signed_in = Client()
    assert post_password(signed_in, user.email).status_code == 302
    session_id = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    checked: list[str] = []
    match = services.second_factor_match

    def counted_match(*, user, code):  # type: ignore[no-untyped-def]
        checked.append(code)
        return match(user=user, code=code)

    monkeypatch.setattr(services, "second_factor_match", counted_match)
    barrier = threading.Barrier(PARALLEL_CODES)
    statuses: list[int] = []
    errors_seen: list[BaseException] = []

    def attempt(number: int) -> None:
        try:
            client = Client(REMOTE_ADDR=f"203.0.113.{number + 1}")
            client.cookies[settings.SESSION_COOKIE_NAME] = session_id  # the same session
            barrier.wait(timeout=30)
            statuses.append(client.post(CODE_STEP, {"code": "not-a-code"}).status_code)
        except BaseException as error:  # reported by the test thread below
            errors_seen.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(PARALLEL_CODES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors_seen == []
    assert len(statuses) == PARALLEL_CODES
    # Attempts in flight count against each other, so a burst may be refused whole; never more
    # than the limit are checked.
    assert len(checked) <= throttling.ACCOUNT_LIMIT
    wrong = AuditEntry.objects.filter(actor=user, action="user.login_failed", changes__step="code")
    assert wrong.count() == len(checked)
    # Every code checked is counted as a failure; what was refused is not.
    assert Attempt.objects.filter(scope=Attempt.Scope.SIGN_IN_ACCOUNT).count() == len(checked)
    fail(Client(), user.email, throttling.ACCOUNT_LIMIT - len(checked))
    assert LOCKED in post_password(Client(), user.email).text
