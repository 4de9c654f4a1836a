"""One import point for Django's tasks API, ready for `django.tasks` in Django 6."""

from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction

# Django 6 ships this API as `django.tasks`; switching is a change of this one import.
from django_tasks import task

__all__ = ["enqueue_on_commit", "task"]


def enqueue_on_commit(task_obj: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue `task_obj` with these arguments once the current transaction commits."""
    enqueue: Callable[[], Any] = partial(task_obj.enqueue, *args, **kwargs)
    transaction.on_commit(enqueue)


@task()
def prune_task_results() -> int:
    """Delete finished task results older than a week; return how many went."""
    import datetime as dt

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - dt.timedelta(days=7)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted


@task()
def refresh_planner_statistics() -> str:
    """Let SQLite refresh its planner statistics (core.db); return the engine's name."""
    from madoguchi.core.db import planner_statistics_refresh

    return planner_statistics_refresh()
