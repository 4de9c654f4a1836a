"""The RQ queues of `TASK_BACKEND=rq` (ADR 0019), built by settings/base.py from the environment.

Kept out of the settings module so its rules (a Redis URL is required; how long a job may run
and its result is kept) have one documented place and a test.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

RQ_BACKEND = "django_tasks_rq.RQBackend"

# A task killed by RQ's own time limit fails for good, so the limit is far above any of our
# tasks (an IMAP poll of many mailboxes, a batch of 100 mails); a hung task is still ended.
JOB_TIMEOUT_SECONDS = 60 * 60
# As long as the database backend keeps finished results (core.tasks.prune_task_results).
RESULT_TTL_SECONDS = 7 * 24 * 60 * 60


def rq_queues(redis_url: str, queue_names: list[str]) -> dict[str, dict[str, object]]:
    """Return django-rq's RQ_QUEUES: "default" (every task of ours) and `queue_names`, each on
    the task Redis at `redis_url`."""
    if not redis_url:
        raise ImproperlyConfigured(
            "TASK_BACKEND=rq needs a Redis: set TASK_REDIS_URL (or REDIS_URL), "
            "e.g. redis://127.0.0.1:6379/1"
        )
    names = dict.fromkeys(["default", *(name.strip() for name in queue_names if name.strip())])
    return {
        name: {
            "URL": redis_url,
            "DEFAULT_TIMEOUT": JOB_TIMEOUT_SECONDS,
            "DEFAULT_RESULT_TTL": RESULT_TTL_SECONDS,
        }
        for name in names
    }


def uses_rq(backend_name: str = "default") -> bool:
    """Return whether task backend `backend_name` is RQ (TASK_BACKEND=rq).

    Without importing RQ when it is not: every process asks this at start (core.apps).
    """
    configured = str(settings.TASKS.get(backend_name, {}).get("BACKEND", ""))
    if configured == RQ_BACKEND:
        return True
    if "." not in configured:
        return False
    backend_class = import_string(configured)
    return any(
        f"{base.__module__}.{base.__qualname__}" == "django_tasks_rq.backend.RQBackend"
        for base in getattr(backend_class, "__mro__", ())
    )
