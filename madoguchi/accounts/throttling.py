"""Sign-in and password-reset throttling, counted in the database so every process agrees.

- An account (the email address typed, known or not) is locked for LOCK after ACCOUNT_LIMIT
  failed sign-ins within WINDOW; a wrong second-factor code counts as a failed sign-in (it is
  held before its check like a password).
- A client address is blocked the same way after ADDRESS_LIMIT failures within WINDOW.
- A client address may ask for RESET_LIMIT password-reset mails per RESET_WINDOW.

Attempts refused while locked are not counted, so a lock ends LOCK after the failure that
started it. The client address is `core.client_address`'s: X-Forwarded-For counts only from a
configured trusted proxy.

Counting comes before checking, so that a parallel burst cannot pass the limit (security case
66): a sign-in first stores its attempt rows (`sign_in_hold`, committed at once), then looks
for a lock among the other rows, its parallel neighbours' included. Of any set of attempts let
through, the one stored last saw all the others, so at most the limit pass. A refused attempt
deletes its rows; a successful one releases them (`Hold.release`); a failed one keeps them as
its failure. A burst may refuse an attempt that a slower sequence would have let through,
never the other way round. Password-reset requests are counted the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
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
    """Why a sign-in is refused before its password or code is checked."""

    ACCOUNT = "account"
    ADDRESS = "address"


def _account_key(email: str) -> str:
    return email.strip().lower()[:254]


def _locked_until(
    scope: str, key: str, limit: int, *, besides: int | None = None
) -> dt.datetime | None:
    """The end of the newest lock: LOCK after a failure that made `limit` within WINDOW.

    `besides` is the caller's own attempt row, which is not one of the failures before it.
    """
    now = timezone.now()
    rows = Attempt.objects.filter(scope=scope, key=key, occurred_at__gt=now - WINDOW - LOCK)
    if besides is not None:
        rows = rows.exclude(pk=besides)
    times = list(rows.order_by("-occurred_at").values_list("occurred_at", flat=True)[: limit * 4])
    for newest, oldest in zip(times, times[limit - 1 :], strict=False):
        if newest - oldest < WINDOW:
            until = newest + LOCK
            return until if until > now else None
    return None


@dataclass(frozen=True)
class Hold:
    """The attempt rows a sign-in stored before its password or code was checked."""

    attempt_ids: tuple[int, ...]

    def release(self) -> None:
        """The sign-in succeeded: its attempt is not a failure."""
        Attempt.objects.filter(pk__in=self.attempt_ids).delete()


def sign_in_hold(*, email: str, address: str | None) -> Hold | Block:
    """Count a sign-in attempt for the account and the address, then check the limits.

    Return why it is refused (its rows deleted again), or the Hold: the rows stay as the
    failure unless the caller releases them once the sign-in succeeded. Call it outside a
    transaction: the rows must be visible to parallel attempts before the check.
    """
    now = timezone.now()
    _prune(now)
    limits = [(Scope.SIGN_IN_ACCOUNT, _account_key(email), ACCOUNT_LIMIT, Block.ACCOUNT)]
    if address:
        limits.append((Scope.SIGN_IN_ADDRESS, address, ADDRESS_LIMIT, Block.ADDRESS))
    rows = [
        Attempt.objects.create(scope=scope, key=key, occurred_at=now) for scope, key, *_ in limits
    ]
    hold = Hold(attempt_ids=tuple(row.pk for row in rows))
    for row, (scope, key, limit, block) in zip(rows, limits, strict=True):
        if _locked_until(scope, key, limit, besides=row.pk) is not None:
            hold.release()
            return block
    return hold


def _prune(now: dt.datetime) -> None:
    old = Attempt.objects.filter(occurred_at__lt=now - MAX_AGE)
    if old.exists():  # a read first: on SQLite every write statement waits for the write lock
        old.delete()


def password_reset_allowed(*, address: str | None) -> bool:
    """Count a password-reset request from `address`; False once over the limit."""
    if not address:
        return True
    now = timezone.now()
    _prune(now)
    row = Attempt.objects.create(scope=Scope.PASSWORD_RESET_ADDRESS, key=address, occurred_at=now)
    recent = Attempt.objects.filter(
        scope=Scope.PASSWORD_RESET_ADDRESS, key=address, occurred_at__gt=now - RESET_WINDOW
    ).count()  # this request's row and every parallel one's included
    if recent > RESET_LIMIT:
        row.delete()
        return False
    return True
