"""Security case 78: a Redis flushed, restarted or out of reach mid-ingest loses no mail (the
database is the source of truth and the sweeper re-drives lost jobs, once each), and the
`noeviction` policy is checked at startup.

Isolation: the shared Redis on 127.0.0.1:6379 is used on database 7 only (this module's; only
that database is ever flushed). A restart is done on a private `redis-server` this module
starts on a free port (the shared server is never restarted); an outage is a closed port.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core import checks
from django.core.management import call_command
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_scopes import scopes_disabled

from madoguchi.connectors.mail.models import RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw, raw_mail_sweep
from madoguchi.connectors.mail.tests.mail_builders import mail_setup, make_mail
from madoguchi.conversations.models import Message, Ticket
from madoguchi.core.redis_policy import (
    check_redis_eviction_policy,
    configured_redis_urls,
    eviction_policy,
    eviction_warnings,
    without_password,
)
from madoguchi.core.rq_settings import RQ_BACKEND, rq_queues
from madoguchi.core.rq_worker import rq_worker_build
from madoguchi.core.testing.mailservers import free_port

SHARED_URL = "redis://127.0.0.1:6379/7"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.skipif(not _redis_up(), reason="Redis is not reachable on 127.0.0.1:6379"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("secb-redis-db7"),
]


@pytest.fixture(autouse=True)
def database_7_alone() -> Iterator[None]:
    """One test of this module at a time on database 7, whatever xdist's distribution mode."""
    with Path("/tmp/madoguchi-test-redis-db7.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class PrivateRedis:
    """A `redis-server` of this test on a free port, without persistence: a restart empties it."""

    def __init__(self, *, policy: str = "noeviction") -> None:
        self.port = free_port()
        self.policy = policy
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory-policy",
                self.policy,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise AssertionError("the private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as a crash would: nothing is saved
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _use_rq(settings: Any, url: str) -> str:
    """Send every task to RQ on `url` ("default" and a queue of this test)."""
    queue_name = f"secb-{get_random_string(8).lower()}"
    settings.RQ_QUEUES = rq_queues(url, [queue_name])
    settings.TASKS = {"default": {"BACKEND": RQ_BACKEND, "QUEUES": list(settings.RQ_QUEUES)}}
    return queue_name


@pytest.fixture
def shared_db7(settings: Any) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(SHARED_URL)
    connection.flushdb()  # database 7 is this module's alone
    _use_rq(settings, SHARED_URL)
    try:
        yield connection
    finally:
        connection.flushdb()
        connection.close()


@pytest.fixture
def mail_world(world: Any, settings: Any) -> Any:
    settings.EMAIL_PORT = 9  # nothing listens: no acknowledgement leaves
    mail_setup(world)
    return world


SUBJECTS = ["届いた茶葉が違います", "請求書を再発行してください", "配送先を変更したい"]


def _ingest(world: Any, subjects: list[str] = SUBJECTS) -> list[int]:
    ids = []
    for subject in subjects:
        stored = ingest_raw(
            shop_ids=[world.tea.id],
            raw=make_mail(subject=subject, message_id=f"{abs(hash(subject))}@mail.example.com"),
            source="smtp",
        )
        ids.append(stored[0].raw_mail_id)
    return ids


def _statuses(ids: list[int]) -> list[str]:
    with scopes_disabled():
        found = dict(RawMail.objects.filter(pk__in=ids).values_list("id", "status"))
    return [found[pk] for pk in ids]


def _run_workers(worker_id: str) -> None:
    worker = rq_worker_build(queue_names=["default"], worker_id=worker_id)
    worker.work(burst=True)


def _tickets_with(subjects: list[str]) -> list[int]:
    with scopes_disabled():
        return [
            Message.objects.filter(ticket__subject=subject, direction="inbound").count()
            for subject in subjects
        ]


def _sweep_later() -> dict[str, int]:
    return raw_mail_sweep(now=timezone.now() + dt.timedelta(hours=1))


def test_a_flush_mid_ingest_loses_no_mail_and_the_sweep_redrives_each_once(
    shared_db7: redis.Redis, mail_world: Any
) -> None:
    ids = _ingest(mail_world)
    assert shared_db7.llen("rq:queue:default") == len(SUBJECTS)  # queued, not run yet
    shared_db7.flushdb()  # Redis loses every queued job
    _run_workers("secb-after-flush")
    assert _statuses(ids) == ["received"] * 3  # nothing ran, nothing is lost
    assert _sweep_later()["requeued"] == 3
    _run_workers("secb-after-sweep")
    assert _statuses(ids) == ["processed"] * 3
    assert _tickets_with(SUBJECTS) == [1, 1, 1]
    # Re-driven once: a second sweep finds nothing, a second worker run makes nothing twice.
    assert _sweep_later()["requeued"] == 0
    _run_workers("secb-again")
    assert _tickets_with(SUBJECTS) == [1, 1, 1]


def test_a_redis_restart_mid_ingest_loses_no_mail(
    private_redis: PrivateRedis, settings: Any, mail_world: Any
) -> None:
    _use_rq(settings, private_redis.url)
    first = _ingest(mail_world, SUBJECTS[:2])
    private_redis.stop()  # killed with the jobs in it
    private_redis.start()  # back, empty
    _run_workers("secb-after-restart")
    assert _statuses(first) == ["received", "received"]
    assert _sweep_later()["requeued"] == 2  # the pool reconnects by itself
    _run_workers("secb-after-restart-sweep")
    assert _statuses(first) == ["processed", "processed"]
    later = _ingest(mail_world, SUBJECTS[2:])  # ingest goes on as before
    _run_workers("secb-after-restart-new")
    assert _statuses(later) == ["processed"]
    assert _tickets_with(SUBJECTS) == [1, 1, 1]
    assert _sweep_later()["requeued"] == 0


def test_redis_out_of_reach_at_ingest_keeps_the_mail_and_a_retry_is_a_duplicate(
    settings: Any, mail_world: Any
) -> None:
    _use_rq(settings, f"redis://127.0.0.1:{free_port()}/0")
    raw = make_mail(subject="至急: 返品の件", message_id="outage@mail.example.com")
    # The mail is committed before the enqueue fails; the error reaches the receiver, which
    # answers a temporary failure, and the sender's retry is recognised as a duplicate.
    with pytest.raises(redis.ConnectionError):
        ingest_raw(shop_ids=[mail_world.tea.id], raw=raw, source="smtp")
    with scopes_disabled():
        row = RawMail.objects.get(idempotency_key="outage@mail.example.com")
    assert row.status == "received"
    retried = ingest_raw(shop_ids=[mail_world.tea.id], raw=raw, source="smtp")
    assert [item.is_duplicate for item in retried] == [True]
    # Redis is back: the sweeper re-drives the stored mail.
    connection = redis.Redis.from_url(SHARED_URL)
    connection.flushdb()
    try:
        _use_rq(settings, SHARED_URL)
        assert _sweep_later()["requeued"] == 1
        _run_workers("secb-after-outage")
        assert _statuses([row.id]) == ["processed"]
        assert _tickets_with(["至急: 返品の件"]) == [1]
        with scopes_disabled():
            assert Ticket.objects.filter(subject="至急: 返品の件").count() == 1
    finally:
        connection.flushdb()
        connection.close()


# --- the noeviction check ---------------------------------------------------------------


def test_the_shared_redis_policy_is_read_and_noeviction_passes() -> None:
    assert eviction_policy(SHARED_URL) == "noeviction"
    assert eviction_warnings([SHARED_URL]) == []


def test_an_evicting_redis_is_warned_about_at_startup(settings: Any) -> None:
    evicting = PrivateRedis(policy="allkeys-lru")
    evicting.start()
    closed = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    try:
        settings.RQ_QUEUES = rq_queues(evicting.url, ["mail"])
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": closed,
            }
        }
        assert configured_redis_urls() == [evicting.url, closed]
        found = check_redis_eviction_policy()
        assert [(message.level, message.id) for message in found] == [
            (checks.WARNING, "madoguchi.W078"),
            (checks.WARNING, "madoguchi.W078"),
        ]
        assert "allkeys-lru" in found[0].msg
        assert "could not be checked" in found[1].msg
        assert "s3cret" not in found[1].msg and without_password(closed) in found[1].msg
        # Registered: the checks every command runs at start (serve, worker, check) include it.
        registered = checks.run_checks(tags=["redis"])
        assert [message.id for message in registered] == ["madoguchi.W078"] * 2
        call_command("check", "--tag", "redis")  # warnings only: the command does not fail
    finally:
        evicting.stop()


def test_without_redis_there_is_nothing_to_check(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    if hasattr(settings, "RQ_QUEUES"):
        del settings.RQ_QUEUES
    assert configured_redis_urls() == []
    assert check_redis_eviction_policy() == []
