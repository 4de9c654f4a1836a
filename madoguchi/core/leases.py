"""Leases: a conditional UPDATE that works the same on SQLite and PostgreSQL."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from madoguchi.core.models import Lease


def lease_acquire(*, name: str, holder: str, ttl: dt.timedelta, renew: bool = True) -> bool:
    """Take or renew the lease `name` for `holder` if it is free, expired or already theirs.

    With `renew=False` a lease still held, even by `holder` itself, is not taken again: the
    caller acts at most once per time-to-live (the scheduler's once-per-interval rule).
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            Lease.objects.get_or_create(name=name, defaults={"holder": "", "expires_at": now})
    except IntegrityError:
        pass  # created concurrently; the UPDATE below decides
    free = Q(expires_at__lte=now) | Q(holder=holder) if renew else Q(expires_at__lte=now)
    taken = Lease.objects.filter(free, name=name).update(holder=holder, expires_at=now + ttl)
    return taken == 1


def lease_release(*, name: str, holder: str) -> None:
    """Give the lease back early if `holder` still holds it."""
    Lease.objects.filter(name=name, holder=holder).update(expires_at=timezone.now())
