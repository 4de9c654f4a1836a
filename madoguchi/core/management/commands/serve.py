"""Run Madoguchi: the ASGI server with the embedded task worker and scheduler threads.

`--no-worker` leaves the queue to `madoguchi worker` processes; the scheduler stays unless
`--no-scheduler` (any number of schedulers may run, ADR 0016).
"""

import threading
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from madoguchi.core.garbage import tune_for_serving
from madoguchi.core.keepalive import KeepaliveWebSocketProtocol
from madoguchi.core.scheduler import SchedulerThread
from madoguchi.core.workers import (
    HeartbeatThread,
    HeartbeatWorker,
    heartbeat_stop,
    new_worker_id,
    run_shutdown_hooks,
)

DATABASE_BACKEND = "django_tasks_db.DatabaseBackend"


class WorkerThread(threading.Thread):
    """The django-tasks database worker, run in a thread of the web process (embedded default)."""

    def __init__(self, *, interval: float) -> None:
        super().__init__(name="madoguchi-worker", daemon=True)
        self.worker = HeartbeatWorker(
            queue_names=["*"],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=new_worker_id("embedded"),
            excluded_queue_names=[],
        )
        self.heartbeat = HeartbeatThread(worker=self.worker)

    def run(self) -> None:
        try:
            self.heartbeat.beat()  # registered before the first claim
            self.heartbeat.start()
            self.worker.run()
        finally:
            if not self.worker.running_task:
                heartbeat_stop(worker_id=self.worker.worker_id)  # stopped with nothing claimed
            close_old_connections()

    def stop(self) -> None:
        self.worker.running = False
        self.heartbeat.stop()


class Command(BaseCommand):
    help = "Serve Madoguchi over ASGI with the embedded background worker and scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not run the embedded worker (run `madoguchi worker`); the scheduler stays.",
        )
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="Do not run the scheduler (workers or `madoguchi scheduler` run it).",
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
        worker = None
        if embedded and not options["no_worker"]:
            worker = WorkerThread(interval=options["worker_interval"])
            threads.append(worker)
            self.stdout.write("Embedded worker started.")
        if not options["no_scheduler"]:
            holder = worker.worker.worker_id if worker else new_worker_id("web")
            threads.append(SchedulerThread(holder=holder, worker=worker.worker if worker else None))
            self.stdout.write("Scheduler started.")
        for thread in threads:
            thread.start()
        tune_for_serving(settings.SERVE_GC_THRESHOLDS)
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
                # SIGTERM: stop accepting, close the sockets, give their disconnect handlers
                # this long, then cancel what is left, so a restart never hangs (ADR 0017).
                timeout_graceful_shutdown=8,
                # Chat frames are a few hundred bytes: compressing them saves next to nothing,
                # and each socket's compressor held about 64 KiB (issue 19: 5,000 sockets).
                ws_per_message_deflate=False,
                # uvicorn's own keepalive (a ping every 20 s, closed without a pong in 20 s),
                # timed by one timer per process instead of one per socket (core.keepalive).
                ws=KeepaliveWebSocketProtocol,
            )
        finally:
            # E.g. the rows of the chat sockets closed last, not yet deleted by their batch.
            run_shutdown_hooks()
            for thread in threads:
                thread.stop()
            if sink is not None:
                sink.stop()
