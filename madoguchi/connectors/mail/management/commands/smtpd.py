"""`madoguchi smtpd --host 127.0.0.1 --port 2525`: receive mail forwarded to the shops."""

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from madoguchi.connectors.mail.smtpd import DEFAULT_HOST, DEFAULT_PORT, make_controller


class Command(BaseCommand):
    help = "Receive mail by SMTP for the shops' addresses (for forwarding setups)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on")

    def handle(self, *args: Any, **options: Any) -> None:
        controller = make_controller(host=options["host"], port=options["port"])
        stopped = threading.Event()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signal_number, lambda *_: stopped.set())
        controller.start()
        self.stdout.write(f"Receiving mail on {options['host']}:{options['port']}")
        try:
            stopped.wait()
        finally:
            controller.stop()
