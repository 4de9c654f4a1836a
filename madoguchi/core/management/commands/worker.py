"""`madoguchi worker`: django_tasks_db's worker with heartbeats and, by default, a scheduler.

Every option of `db_worker` works here too (`db_worker` is this command as well: core comes
before django_tasks_db in INSTALLED_APPS). `--no-scheduler` leaves the periodic jobs to other
processes. See ADR 0016.

With `TASK_BACKEND=rq` the same command runs an RQ worker instead (core.rq_worker, ADR 0019):
`--queue-name` (`*` = every configured queue), `--worker-id`, `--batch` (RQ's burst mode),
`--max-tasks` and `--no-scheduler` mean the same; `--interval`, `--exclude-queues`,
`--startup-delay` and `--reload` do not apply (RQ blocks on Redis and needs the main thread).
"""

import logging
import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand
from django_tasks_db.management.commands.db_worker import valid_backend_name

from madoguchi.core.rq_settings import uses_rq
from madoguchi.core.scheduler import SchedulerThread
from madoguchi.core.workers import HeartbeatThread, HeartbeatWorker, heartbeat_stop, new_worker_id

logger = logging.getLogger("django_tasks_db")


def _backend_name(value: str) -> str:
    """Accept an RQ backend as well as (with django_tasks_db's own check) a database one."""
    return value if uses_rq(value) else valid_backend_name(value)


class Command(DatabaseWorkerCommand):
    help = "Run a background worker with heartbeats and (unless --no-scheduler) the scheduler."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(worker_id=None)
        for action in parser._actions:
            if action.dest == "backend_name":
                action.type = _backend_name  # an RQ backend too, not only the database's
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="Do not run the scheduler in this worker (run `madoguchi scheduler` elsewhere).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        if uses_rq(options["backend_name"]):
            self.handle_rq(options)
            return
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        batch = options["batch"]
        worker = HeartbeatWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=batch,
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"] or new_worker_id(),
            excluded_queue_names=excluded,
        )
        with_scheduler = not options["no_scheduler"]
        if options["reload"] and not batch:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(lambda: self.run_worker(worker, with_scheduler=with_scheduler))
        else:
            worker.configure_signals()
            self.run_worker(worker, with_scheduler=with_scheduler)

    def run_worker(self, worker: HeartbeatWorker, *, with_scheduler: bool) -> None:
        heartbeat = HeartbeatThread(worker=worker)
        heartbeat.beat()  # registered before the first claim
        heartbeat.start()
        scheduler = SchedulerThread(holder=worker.worker_id, worker=worker)
        if with_scheduler:
            scheduler.start()
        try:
            worker.run()
        finally:
            scheduler.stop()
            heartbeat.stop()
            # Stopped cleanly: nothing of ours is left RUNNING. Stopped mid-task (a second
            # Ctrl+C), the row is not marked, so the silence declares us dead and it is re-queued.
            if not worker.running_task:
                heartbeat_stop(worker_id=worker.worker_id)

    def handle_rq(self, options: dict[str, Any]) -> None:
        """Run an RQ worker on the configured (or `--queue-name`) queues (ADR 0019)."""
        from madoguchi.core.rq_worker import (
            logging_level_for,
            rq_queue_names,
            rq_worker_build,
            rq_worker_run,
        )

        configured = rq_queue_names(options["backend_name"])
        wanted = options["queue_name"].split(",")
        queue_names = configured if "*" in wanted else wanted
        unknown = sorted(set(queue_names) - set(configured))
        if unknown:
            raise CommandError(f"Unknown queue(s) {', '.join(unknown)}: add them to TASK_QUEUES.")
        worker = rq_worker_build(
            queue_names=queue_names, worker_id=options["worker_id"] or new_worker_id()
        )
        self.stdout.write(f"RQ worker {worker.worker_id} on {', '.join(queue_names)}.")
        self.stdout.flush()
        rq_worker_run(
            worker,
            with_scheduler=not options["no_scheduler"],
            burst=options["batch"],
            max_jobs=options["max_tasks"],
            logging_level=logging_level_for(options["verbosity"]),
        )
