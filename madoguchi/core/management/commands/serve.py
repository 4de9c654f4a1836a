"""Run Madoguchi: the ASGI server with the embedded task worker and scheduler threads."""

import threading
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from django.utils.crypto import get_random_string

from madoguchi.core.scheduler import SchedulerThread

DATABASE_BACKEND = "django_tasks_db.DatabaseBackend"


class WorkerThread(threading.Thread):
    """The django-tasks database worker, run in a thread of the web process (embedded default)."""

    def __init__(self, *, interval: float) -> None:
        super().__init__(name="madoguchi-worker", daemon=True)
        from django_tasks_db.management.commands.db_worker import Worker

        self.worker = Worker(
            queue_names=["*"],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"embedded-{get_random_string(12)}",
            excluded_queue_names=[],
        )

    def run(self) -> None:
        try:
            self.worker.run()
        finally:
            close_old_connections()

    def stop(self) -> None:
        self.worker.running = False


class Command(BaseCommand):
    help = "Serve Madoguchi over ASGI with the embedded background worker and scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not run the embedded worker and scheduler (run `madoguchi db_worker`).",
        )
        parser.add_argument("--worker-interval", type=float, default=0.5)
        parser.add_argument(
            "--mail-sink",
            metavar="HOST:PORT",
            default=None,
            help="Also run a local SMTP sink there that accepts every mail and keeps it as an "
            ".eml file under the data directory's mail-sink/ (demo only; off by default).",
        )

    def _start_mail_sink(self, address: str) -> Any:
        from madoguchi.connectors.mail.sink import make_sink, parse_address, sink_directory

        try:
            host, port = parse_address(address)
        except ValueError as error:
            raise CommandError(f"--mail-sink: {error}") from error
        sink = make_sink(host=host, port=port)
        try:
            sink.start()
        except (OSError, RuntimeError) as error:
            raise CommandError(f"The mail sink could not listen on {address}: {error}") from error
        self.stdout.write(f"Mail sink on {host}:{port}: mail is stored in {sink_directory()}")
        return sink

    def handle(self, *args: Any, **options: Any) -> None:
        threads: list[Any] = []
        # Started first, so the worker's first sends find it listening.
        sink = self._start_mail_sink(options["mail_sink"]) if options["mail_sink"] else None
        embedded = settings.TASKS["default"]["BACKEND"] == DATABASE_BACKEND
        if embedded and not options["no_worker"]:
            worker = WorkerThread(interval=options["worker_interval"])
            scheduler = SchedulerThread(holder=worker.worker.worker_id)
            threads = [worker, scheduler]
            for thread in threads:
                thread.start()
            self.stdout.write("Embedded worker and scheduler started.")
        try:
            uvicorn.run(
                settings.ASGI_APPLICATION.replace(".application", ":application"),
                host=options["host"],
                port=options["port"],
                log_level="info",
                lifespan="off",
                # The peer stays the client address Django sees: uvicorn would otherwise take
                # X-Forwarded-For from any loopback peer. core.client_address reads it, from
                # the proxies MADOGUCHI_TRUSTED_PROXIES names only.
                proxy_headers=False,
            )
        finally:
            for thread in threads:
                thread.stop() if isinstance(thread, WorkerThread) else thread.stopped.set()
            if sink is not None:
                sink.stop()
