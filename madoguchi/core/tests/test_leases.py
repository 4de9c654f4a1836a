"""Leases: one holder at a time until expiry, renewable by the holder."""

import datetime as dt

import pytest
from django.utils import timezone

from madoguchi.core.leases import lease_acquire, lease_release
from madoguchi.core.models import Lease

pytestmark = pytest.mark.django_db
TTL = dt.timedelta(minutes=5)


def _expire(name: str) -> None:
    """Move the lease's expiry into the past, as if its time-to-live had passed."""
    Lease.objects.filter(name=name).update(expires_at=timezone.now() - dt.timedelta(seconds=1))


def test_only_one_holder_gets_the_lease_until_it_expires():
    assert lease_acquire(name="imap", holder="a", ttl=TTL) is True
    assert lease_acquire(name="imap", holder="b", ttl=TTL) is False
    assert lease_acquire(name="imap", holder="b", ttl=TTL) is False
    lease = Lease.objects.get(name="imap")
    assert lease.holder == "a"
    assert lease.expires_at > timezone.now() + dt.timedelta(minutes=4)

    _expire("imap")
    assert lease_acquire(name="imap", holder="b", ttl=TTL) is True
    assert lease_acquire(name="imap", holder="a", ttl=TTL) is False
    assert Lease.objects.get(name="imap").holder == "b"
    assert Lease.objects.count() == 1


def test_holder_renews_its_own_lease():
    assert lease_acquire(name="imap", holder="a", ttl=dt.timedelta(seconds=10)) is True
    first_expiry = Lease.objects.get(name="imap").expires_at
    assert lease_acquire(name="imap", holder="a", ttl=TTL) is True
    assert Lease.objects.get(name="imap").expires_at > first_expiry


def test_renew_false_does_not_extend_a_held_lease():
    assert lease_acquire(name="job", holder="a", ttl=TTL, renew=False) is True
    assert lease_acquire(name="job", holder="a", ttl=TTL, renew=False) is False
    _expire("job")
    assert lease_acquire(name="job", holder="a", ttl=TTL, renew=False) is True


def test_release_frees_the_lease_only_for_its_holder():
    assert lease_acquire(name="imap", holder="a", ttl=TTL) is True
    lease_release(name="imap", holder="b")
    assert lease_acquire(name="imap", holder="b", ttl=TTL) is False
    lease_release(name="imap", holder="a")
    assert lease_acquire(name="imap", holder="b", ttl=TTL) is True
    assert Lease.objects.get(name="imap").holder == "b"


def test_leases_are_independent_by_name():
    assert lease_acquire(name="one", holder="a", ttl=TTL) is True
    assert lease_acquire(name="two", holder="b", ttl=TTL) is True
    assert sorted(Lease.objects.values_list("name", "holder")) == [("one", "a"), ("two", "b")]
