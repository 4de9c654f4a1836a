"""Redis must never evict: a startup check of `maxmemory-policy` on every Redis we use.

The database is the source of truth (raw mail, LINE deliveries and web-form submissions are
stored before any task is queued, and the sweepers re-drive what a lost job left), so a flushed
or restarted Redis loses no customer message. An evicting Redis still drops queued jobs and
rate-limit counters silently under memory pressure, turning a burst into hours of delay and
lifting limits: the policy must be `noeviction` (security checklist case 78).

The check is a Django system check (`madoguchi serve`, `madoguchi worker`, `check` run it at
start): a warning, never an error, so that a Redis that refuses `CONFIG` (some managed services)
or is briefly down does not stop the application; the warning says which.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core import checks

REQUIRED_POLICY = "noeviction"
CONNECT_TIMEOUT_SECONDS = 1.0


def configured_redis_urls() -> list[str]:
    """The Redis URLs of the task queues (RQ) and the cache, each once, in that order."""
    urls: list[str] = [
        str(queue["URL"])
        for queue in getattr(settings, "RQ_QUEUES", {}).values()
        if isinstance(queue, dict) and queue.get("URL")
    ]
    for cache in settings.CACHES.values():
        if "redis" in str(cache.get("BACKEND", "")).lower():
            location = cache.get("LOCATION", "")
            if isinstance(location, str):
                urls.append(location)
            elif isinstance(location, list | tuple):
                urls.extend(str(item) for item in location)
    return list(dict.fromkeys(url for url in urls if url))


def without_password(url: str) -> str:
    """The URL as a message may show it (no user or password)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def eviction_policy(url: str) -> str:
    """Ask the Redis at `url` for its `maxmemory-policy` (raises `redis.RedisError`)."""
    import redis

    connection: Any = redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=CONNECT_TIMEOUT_SECONDS,
    )
    try:
        answer = connection.config_get("maxmemory-policy")
    finally:
        connection.close()
    value = answer.get("maxmemory-policy", answer.get(b"maxmemory-policy", ""))
    return value.decode() if isinstance(value, bytes) else str(value)


def eviction_warnings(urls: Iterable[str]) -> list[checks.CheckMessage]:
    """One warning per Redis whose policy is not `noeviction` or cannot be read."""
    import redis

    found: list[checks.CheckMessage] = []
    for url in urls:
        shown = without_password(url)
        try:
            policy = eviction_policy(url)
        except redis.RedisError as error:
            found.append(
                checks.Warning(
                    f"The eviction policy of Redis {shown} could not be checked "
                    f"({type(error).__name__}).",
                    hint=f"Make sure its maxmemory-policy is {REQUIRED_POLICY}.",
                    id="madoguchi.W078",
                )
            )
            continue
        if policy != REQUIRED_POLICY:
            found.append(
                checks.Warning(
                    f"Redis {shown} has maxmemory-policy {policy}: under memory pressure it "
                    "drops queued jobs and rate-limit counters.",
                    hint=f"Set maxmemory-policy {REQUIRED_POLICY} (redis.conf or CONFIG SET).",
                    id="madoguchi.W078",
                )
            )
    return found


def check_redis_eviction_policy(
    app_configs: object = None, **kwargs: object
) -> list[checks.CheckMessage]:
    """The system check: every configured Redis must be `noeviction`."""
    return eviction_warnings(configured_redis_urls())
