"""Settings for `make bench`: production-like request handling against a seeded database.

DEBUG stays off so that query logging and debug pages do not count in the timings; the
in-process test client's host is allowed; rate limits are raised so that hundreds of requests
per second from one user measure the server, not the throttle.
"""

import json
import os
import warnings

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, MADOGUCHI

DEBUG = False
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
MADOGUCHI = {**MADOGUCHI, "RATE_LIMIT_MULTIPLIER": 1000}
# The chat benchmark opens thousands of sockets from one loopback address (benchmarks/bench_chat).
CHAT_OPENS_PER_HOUR = 1_000_000
CHAT_SOCKETS_PER_ADDRESS = 1_000_000
# `bench_chat` compares layers: a JSON CHANNEL_LAYERS here wins over the default (ADR 0017).
if os.environ.get("BENCH_CHANNEL_LAYERS"):
    CHANNEL_LAYERS = json.loads(os.environ["BENCH_CHANNEL_LAYERS"])
# ...and serves with the demo's task backend (the embedded worker thread of `madoguchi serve`).
if os.environ.get("BENCH_TASK_BACKEND"):
    TASKS = {"default": {"BACKEND": os.environ["BENCH_TASK_BACKEND"]}}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"handlers": [], "level": "WARNING"},
}

# Static files are not collected for benchmarks; WhiteNoise would warn on every start.
warnings.filterwarnings("ignore", message="No directory at: ")
