import datetime as dt

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "madoguchi.core"
    label = "core"

    def ready(self) -> None:
        from madoguchi.core.scheduler import register_periodic
        from madoguchi.core.tasks import prune_task_results, refresh_planner_statistics

        if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
            register_periodic(
                "prune_task_results", dt.timedelta(days=1), prune_task_results.enqueue
            )
        register_periodic(
            "refresh_planner_statistics", dt.timedelta(hours=6), refresh_planner_statistics.enqueue
        )
        post_migrate.connect(_create_cache_table, sender=self)


def _create_cache_table(using: str = "default", **kwargs: object) -> None:
    """After `migrate`: create the database cache's table (rate-limit counters) if it is used."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
