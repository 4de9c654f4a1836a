"""Sign-in and password-reset throttling, counted in the database so every process agrees.

- An account (the email address typed, known or not) is locked for LOCK after ACCOUNT_LIMIT
  failed sign-ins within WINDOW; a wrong second-factor code counts as a failed sign-in.
- A client address is blocked the same way after ADDRESS_LIMIT failures within WINDOW.
- A client address may ask for RESET_LIMIT password-reset mails per RESET_WINDOW.

Attempts refused while locked are not counted, so a lock ends LOCK after the failure that
started it. The client address is `core.client_address`'s: X-Forwarded-For counts only from a
configured trusted proxy.
Concurrent requests may each pass the check before either is counted; a burst can exceed a
limit by the number of requests in flight, which does not matter at these numbers.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from django.utils import timezone

from madoguchi.accounts.models import Attempt

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW = dt.timedelta(minutes=15)
LOCK = dt.timedelta(minutes=15)
RESET_LIMIT = 5
RESET_WINDOW = dt.timedelta(hours=1)
MAX_AGE = max(WINDOW + LOCK, RESET_WINDOW)  # older rows decide nothing and are pruned

Scope = Attempt.Scope


class Block(StrEnum):
    """Why a sign-in is refused before the password is checked."""

    ACCOUNT = "account"
    ADDRESS = "address"


def _account_key(email: str) -> str:
    return email.strip().lower()[:254]


def _locked_until(scope: str, key: str, limit: int) -> dt.datetime | None:
    """The end of the newest lock: LOCK after a failure that made `limit` within WINDOW."""
    now = timezone.now()
    times = list(
        Attempt.objects.filter(scope=scope, key=key, occurred_at__gt=now - WINDOW - LOCK)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)[: limit * 4]
    )
    for newest, oldest in zip(times, times[limit - 1 :], strict=False):
        if newest - oldest < WINDOW:
            until = newest + LOCK
            return until if until > now else None
    return None


def sign_in_block(*, email: str, address: str | None) -> Block | None:
    """Return why a sign-in for `email` from `address` is refused now, or None."""
    if _locked_until(Scope.SIGN_IN_ACCOUNT, _account_key(email), ACCOUNT_LIMIT) is not None:
        return Block.ACCOUNT
    if address and _locked_until(Scope.SIGN_IN_ADDRESS, address, ADDRESS_LIMIT) is not None:
        return Block.ADDRESS
    return None


def _prune(now: dt.datetime) -> None:
    old = Attempt.objects.filter(occurred_at__lt=now - MAX_AGE)
    if old.exists():  # a read first: on SQLite every write statement waits for the write lock
        old.delete()


def sign_in_failed(*, email: str, address: str | None) -> None:
    """Count a failed sign-in (wrong password or wrong code) for the account and the address."""
    now = timezone.now()
    _prune(now)
    rows = [Attempt(scope=Scope.SIGN_IN_ACCOUNT, key=_account_key(email), occurred_at=now)]
    if address:
        rows.append(Attempt(scope=Scope.SIGN_IN_ADDRESS, key=address, occurred_at=now))
    Attempt.objects.bulk_create(rows)


def password_reset_allowed(*, address: str | None) -> bool:
    """Count a password-reset request from `address`; False once over the limit."""
    if not address:
        return True
    now = timezone.now()
    recent = Attempt.objects.filter(
        scope=Scope.PASSWORD_RESET_ADDRESS, key=address, occurred_at__gt=now - RESET_WINDOW
    ).count()
    if recent >= RESET_LIMIT:
        return False
    _prune(now)
    Attempt.objects.create(scope=Scope.PASSWORD_RESET_ADDRESS, key=address, occurred_at=now)
    return True
