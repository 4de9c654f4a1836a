import datetime as dt
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate
from django_tasks import TaskResultStatus


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
        from django.core import checks

        from madoguchi.core.redis_policy import check_redis_eviction_policy

        checks.register(check_redis_eviction_policy, "redis")  # security checklist case 78
        from madoguchi.core.clamd import check_malware_scanner

        checks.register(check_malware_scanner, "security", deploy=True)  # checklist case 58
        from madoguchi.core.site import check_site_url

        checks.register(check_site_url, "security", deploy=True)
        from madoguchi.core.rq_settings import uses_rq

        if uses_rq():
            from madoguchi.core.rq_worker import rq_jobs_recover
            from madoguchi.core.workers import register_recovery

            register_recovery("rq_jobs", rq_jobs_recover)  # ADR 0019
        _record_periodic_runs()


def _record_periodic_runs() -> None:
    """Record each periodic job's runs (start, end, outcome) for its health (core.job_health)."""
    from django_tasks.signals import task_finished, task_started

    from madoguchi.core.scheduler import record_run_finished, record_run_started

    def started(sender: object, task_result: Any, **kwargs: object) -> None:
        record_run_started(task_path=task_result.task.module_path)

    def finished(sender: object, task_result: Any, **kwargs: object) -> None:
        record_run_finished(
            task_path=task_result.task.module_path,
            is_ok=task_result.status == TaskResultStatus.SUCCESSFUL,
        )

    task_started.connect(started, weak=False, dispatch_uid="madoguchi-periodic-started")
    task_finished.connect(finished, weak=False, dispatch_uid="madoguchi-periodic-finished")


def _create_cache_table(using: str = "default", **kwargs: object) -> None:
    """After `migrate`: create the database cache's table (rate-limit counters) if it is used."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
