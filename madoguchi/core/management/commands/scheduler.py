"""`madoguchi scheduler`: the scheduler alone (periodic jobs and dead workers' work), ADR 0016.

Any number may run, next to the schedulers inside workers: each job is enqueued once per
interval whoever ticks. SIGTERM or SIGINT ends it within one tick.
"""

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from madoguchi.core.scheduler import scheduler_tick, tick_seconds
from madoguchi.core.workers import new_worker_id

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the scheduler: enqueue periodic jobs and hand back the work of dead workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tick", type=float, default=None, help="Seconds between ticks (default: setting)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tick = options["tick"] if options["tick"] is not None else tick_seconds()
        holder = new_worker_id("scheduler")
        stopped = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopped.set()

        previous = {
            number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)
        }
        self.stdout.write(f"Scheduler {holder} started (tick {tick:g} s).")
        self.stdout.flush()
        while not stopped.is_set():
            close_old_connections()
            try:
                enqueued = scheduler_tick(holder=holder)
            except Exception:
                logger.exception("Scheduler tick failed")  # the database may come back
                enqueued = []
            if enqueued:
                self.stdout.write(f"Enqueued: {', '.join(enqueued)}")
                self.stdout.flush()
            stopped.wait(tick)
        close_old_connections()
        for number, handler in previous.items():
            signal.signal(number, handler)
        self.stdout.write("Scheduler stopped.")
