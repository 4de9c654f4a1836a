"""The web process's garbage collector, tuned for thousands of open sockets (ADR 0026).

CPython's cyclic collector stops every thread while it walks a generation. With 5,000 open chat
sockets the web process holds about 700,000 tracked objects (each socket's coroutines, futures,
headers and buffers in uvicorn, websockets and channels), and a full collection of them took
0.6-1 s: every message in flight waited that long (issue 19). With the default thresholds
(700, 10, 10) a full collection ran about once a minute at that size, because each request's
short-lived objects, caught alive by the frequent young collections, count as new long-lived
objects.

`tune_for_serving` moves what start-up built (modules, classes, URL patterns: about 180,000
objects that live as long as the process) out of the collector's sight with `gc.freeze()`,
and raises the young generation's threshold so that a request's temporary objects are mostly
freed by reference counting before a collection sees them. Measured on the chat bench at 5,000
sockets: no full collection while the sockets were open, young collections of 5-130 ms.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence


def tune_for_serving(thresholds: Sequence[int]) -> None:
    """Freeze the start-up heap and set the collector's thresholds (gen0, gen1, gen2)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
