"""Counting requests per key and time window in the shared cache (web form, chat).

The default cache is shared by every process and survives restarts (the database table in the
embedded default, Redis when configured; `config.settings.base.CACHES`), so a limit holds
however many processes serve and however often they restart.

Windows are fixed: a count belongs to the window `now // window` it falls in, so it ends at the
window's end whichever cache keeps it. (The database cache's `incr` stores the new value with the
cache's default timeout, five minutes; the key's expiry is set again after each count.) Two
requests counted at the same moment may both read the same value, so a burst can pass a limit by
the number of requests in flight; at these limits that does not matter.
"""

from __future__ import annotations

import time

from django.core.cache import cache


def hit(key: str, *, window: int) -> int:
    """Count one request under `key` in the current window of `window` seconds; return the count."""
    bucket = f"rate:{key}:{int(time.time()) // window}"
    if cache.add(bucket, 1, timeout=window):
        return 1
    try:
        count = int(cache.incr(bucket))
    except ValueError:  # expired between add and incr
        cache.set(bucket, 1, timeout=window)
        return 1
    cache.touch(bucket, timeout=window)
    return count
