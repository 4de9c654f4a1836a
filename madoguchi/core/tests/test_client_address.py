"""The client's address (one rule for every caller) and rate limits every process shares."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends import locmem
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from madoguchi.accounts.models import Attempt
from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.chat.models import ChatConversation, ChatWidget
from madoguchi.connectors.mail.models import MailAddress
from madoguchi.connectors.webform.models import Submission, WebForm
from madoguchi.connectors.webform.services import rate_limited
from madoguchi.core.client_address import address_from, scope_client_address
from madoguchi.tenancy.scoping import unscoped

ORIGIN = "https://yamada-en.example.jp"


def proxies(*entries: str):
    return override_settings(MADOGUCHI={**settings.MADOGUCHI, "TRUSTED_PROXIES": list(entries)})


def _forget_process_memory() -> None:
    """What a restart or another process starts with: nothing of this process's memory."""
    locmem._caches.clear()
    locmem._expire_info.clear()
    locmem._locks.clear()


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    cache.clear()
    yield
    cache.clear()


# --- the rule -----------------------------------------------------------------------------------


def test_without_trusted_proxies_the_peer_is_the_client():
    assert settings.MADOGUCHI["TRUSTED_PROXIES"] == []
    assert address_from(peer="127.0.0.1", forwarded_for="1.2.3.4") == "127.0.0.1"
    assert address_from(peer="::1", forwarded_for="1.2.3.4") == "::1"
    assert address_from(peer="198.51.100.7", forwarded_for="") == "198.51.100.7"
    assert address_from(peer=None, forwarded_for="1.2.3.4") is None
    assert address_from(peer="", forwarded_for="") is None


def test_forwarded_for_counts_only_from_a_trusted_proxy():
    with proxies("127.0.0.1", "10.0.0.0/8"):
        # The proxy appended the address it saw; what the client wrote to its left is ignored.
        assert address_from(peer="127.0.0.1", forwarded_for="6.6.6.6, 203.0.113.9") == (
            "203.0.113.9"
        )
        # Through two trusted hops.
        chain = "6.6.6.6, 203.0.113.9, 10.1.2.3"
        assert address_from(peer="127.0.0.1", forwarded_for=chain) == "203.0.113.9"
        # An untrusted peer's header is ignored.
        assert address_from(peer="198.51.100.7", forwarded_for="203.0.113.9") == "198.51.100.7"
        # Garbage in the header: the last hop a trusted proxy vouches for.
        assert address_from(peer="127.0.0.1", forwarded_for="<script>") == "127.0.0.1"
        assert address_from(peer="127.0.0.1", forwarded_for="1.2.3.4, <x>, 10.0.0.5") == (
            "10.0.0.5"
        )
        # Ports, brackets and IPv4-mapped IPv6 addresses are normalised.
        assert address_from(peer="127.0.0.1", forwarded_for="203.0.113.9:4711") == "203.0.113.9"
        assert address_from(peer="127.0.0.1", forwarded_for="[2001:db8::1]:443") == "2001:db8::1"
        assert address_from(peer="::ffff:127.0.0.1", forwarded_for="192.0.2.4") == "192.0.2.4"
        # No header from the proxy: the proxy itself.
        assert address_from(peer="10.9.9.9", forwarded_for="") == "10.9.9.9"


def test_a_websocket_scope_follows_the_same_rule():
    scope = {
        "client": ("127.0.0.1", 50000),
        "headers": [(b"host", b"x"), (b"x-forwarded-for", b"6.6.6.6, 203.0.113.9")],
    }
    assert scope_client_address(scope) == "127.0.0.1"
    with proxies("127.0.0.1"):
        assert scope_client_address(scope) == "203.0.113.9"
    assert scope_client_address({"headers": []}) is None


@pytest.mark.parametrize("trusted", [False, True])
def test_only_a_trusted_proxy_may_say_the_request_came_over_https(client, trusted):
    """A client that reaches the app past the proxy cannot claim HTTPS (or another host)."""
    https = override_settings(
        SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")
    )
    with https, proxies(*(["127.0.0.1"] if trusted else ["10.0.0.1"])):
        response = client.get(
            reverse("accounts:login"),
            HTTP_X_FORWARDED_PROTO="https",
            HTTP_X_FORWARDED_HOST="evil.example",
        )
    if trusted:
        assert response.status_code == 200
    else:
        # Plain HTTP as it really is: sent to HTTPS on the host it asked for, not the forged one.
        assert response.status_code == 301
        assert response["Location"] == "https://testserver" + reverse("accounts:login")


def test_serve_keeps_the_connecting_peer(monkeypatch):
    """uvicorn's own proxy headers would take X-Forwarded-For from any loopback peer."""
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    call_command("serve", "--no-worker", "--no-scheduler")
    assert seen["proxy_headers"] is False


# --- the callers --------------------------------------------------------------------------------


@pytest.fixture
def web_form(world) -> WebForm:
    with unscoped("test setup"):
        MailAddress.objects.create(
            shop=world.tea,
            address="support@yamada-en.example.jp",
            is_verified=True,
            is_default_sender=True,
        )
        return WebForm.objects.create(shop=world.tea, public_key="tea-form-key")


def _submit(client, index: int, **headers):
    data = {
        "name": "佐藤 一郎",
        "email": f"sato{index}@example.jp",
        "message": "届きません",
        "privacy_consent": "on",
        "website": "",
    }
    return client.post(reverse("webform:public", args=["tea-form-key"]), data, **headers)


def test_the_web_form_limit_holds_across_processes_and_forged_headers(client, world, web_form):
    limits = {**settings.MADOGUCHI, "WEBFORM_RATE_PER_IP": 2, "WEBFORM_RATE_PER_ADDRESS": 100}
    with override_settings(MADOGUCHI=limits):
        loopback = {"REMOTE_ADDR": "127.0.0.1"}
        first = _submit(
            client, 1, **loopback, HTTP_X_FORWARDED_FOR="1.1.1.1", HTTP_CF_CONNECTING_IP="<script>"
        )
        assert first.status_code == 200
        _forget_process_memory()
        assert _submit(client, 2, **loopback, HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 200
        _forget_process_memory()
        # A new forwarded address from a loopback peer is no new client.
        assert _submit(client, 3, **loopback, HTTP_X_FORWARDED_FOR="3.3.3.3").status_code == 429
    with unscoped("test assertion"):
        assert list(Submission.objects.values_list("ip_address", flat=True)) == [
            "127.0.0.1",
            "127.0.0.1",
        ]


def test_behind_a_trusted_proxy_each_client_is_counted(client, world, web_form):
    limits = {
        **settings.MADOGUCHI,
        "WEBFORM_RATE_PER_IP": 1,
        "WEBFORM_RATE_PER_ADDRESS": 100,
        "TRUSTED_PROXIES": ["127.0.0.1"],
    }
    with override_settings(MADOGUCHI=limits):
        proxy = {"REMOTE_ADDR": "127.0.0.1"}
        assert _submit(client, 1, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
        assert _submit(client, 2, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200
        # The client cannot pose as another by writing the header itself.
        forged = "9.9.9.9, 203.0.113.1"
        assert _submit(client, 3, **proxy, HTTP_X_FORWARDED_FOR=forged).status_code == 429
    with unscoped("test assertion"):
        assert sorted(Submission.objects.values_list("ip_address", flat=True)) == [
            "203.0.113.1",
            "203.0.113.2",
        ]


@override_settings(CHAT_OPENS_PER_HOUR=1)
def test_opening_chats_is_limited_across_processes(client, world):
    with unscoped("test setup"):
        widget = ChatWidget.objects.create(
            shop=world.tea, public_key="tea-chat-key", allowed_origins=ORIGIN
        )
    url = reverse("chat:conversation_open", args=[widget.public_key])

    def open_one(forwarded: str) -> int:
        return client.post(
            url,
            data="{}",
            content_type="application/json",
            headers={"Origin": ORIGIN, "X-Forwarded-For": forwarded},
            REMOTE_ADDR="127.0.0.1",
        ).status_code

    assert open_one("1.1.1.1") == 201
    _forget_process_memory()
    assert open_one("2.2.2.2") == 429
    with unscoped("test check"):
        assert ChatConversation.objects.count() == 1


def test_sign_in_failures_and_the_audit_log_use_the_same_address(client, world):
    url = reverse("accounts:login")
    with proxies("10.0.0.0/8"):
        client.post(
            url,
            {"username": world.operator_tea.email, "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5",
        )
    client.post(
        url,
        {"username": world.operator_tea.email, "password": "wrong"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.6",
    )
    keys = Attempt.objects.filter(scope=Attempt.Scope.SIGN_IN_ADDRESS).order_by("id")
    assert list(keys.values_list("key", flat=True)) == ["203.0.113.5", "127.0.0.1"]
    failed = AuditEntry.objects.filter(action="user.login_failed").order_by("id")
    assert list(failed.values_list("ip_address", flat=True)) == ["203.0.113.5", "127.0.0.1"]


# --- where the counters live --------------------------------------------------------------------


def test_the_embedded_default_counts_in_the_database():
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend == "django.core.cache.backends.db.DatabaseCache"
    cache.set("probe", 1, timeout=60)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM madoguchi_cache WHERE cache_key LIKE %s", ["%probe"])
        assert cursor.fetchone() == (1,)


def test_a_count_lasts_to_the_end_of_its_window_in_the_database_cache():
    """The database cache's `incr` stores with the default timeout (five minutes)."""
    from madoguchi.core.rate_limits import hit

    assert [hit("probe", window=3600) for _ in range(3)] == [1, 2, 3]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT expires FROM madoguchi_cache WHERE cache_key LIKE %s", ["%probe%"])
        rows = cursor.fetchall()
    assert len(rows) == 1
    expires = rows[0][0]
    if isinstance(expires, str):  # SQLite hands the column back as text
        expires = dt.datetime.fromisoformat(expires)
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    assert expires - timezone.now() > dt.timedelta(minutes=50)


def test_with_redis_url_the_counters_go_to_redis():
    code = (
        "import json; from madoguchi.config.settings import base; "
        "print(json.dumps(base.CACHES['default']))"
    )
    environment = {**os.environ, "REDIS_URL": "redis://127.0.0.1:6379/3"}
    output = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(output.strip().splitlines()[-1]) == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/3",
        "KEY_PREFIX": "madoguchi",
    }


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="Redis is not reachable on 127.0.0.1:6379")
def test_two_processes_share_the_counters_through_redis(world, web_form, monkeypatch):
    """Two cache clients, as two processes hold them, count in the same window."""
    from madoguchi.core import rate_limits

    prefix = f"madoguchi-test-{uuid.uuid4().hex[:8]}"
    first = RedisCache("redis://127.0.0.1:6379/0", {"KEY_PREFIX": prefix})
    second = RedisCache("redis://127.0.0.1:6379/0", {"KEY_PREFIX": prefix})
    limits = {**settings.MADOGUCHI, "WEBFORM_RATE_PER_IP": 2, "WEBFORM_RATE_PER_ADDRESS": 100}
    results = []
    try:
        with override_settings(MADOGUCHI=limits):
            for index, client_cache in enumerate([first, second, first]):
                monkeypatch.setattr(rate_limits, "cache", client_cache)
                results.append(
                    rate_limited(form=web_form, ip_address="203.0.113.7", email=f"{index}@x.jp")
                )
    finally:
        raw = first._cache.get_client()
        for key in raw.scan_iter(f"{prefix}:*"):
            raw.delete(key)
    assert results == ["", "", "ip"]
