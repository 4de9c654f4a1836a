"""`madoguchi worker`: django_tasks_db's worker with heartbeats and, by default, a scheduler.

Every option of `db_worker` works here too (`db_worker` is this command as well: core comes
before django_tasks_db in INSTALLED_APPS). `--no-scheduler` leaves the periodic jobs to other
processes. See ADR 0016.
"""

import logging
import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from madoguchi.core.scheduler import SchedulerThread
from madoguchi.core.workers import HeartbeatThread, HeartbeatWorker, heartbeat_stop, new_worker_id

logger = logging.getLogger("django_tasks_db")


class Command(DatabaseWorkerCommand):
    help = "Run a background worker with heartbeats and (unless --no-scheduler) the scheduler."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(worker_id=None)
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="Do not run the scheduler in this worker (run `madoguchi scheduler` elsewhere).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
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
