"""Load the demo data (idempotent) and print the demo logins."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from madoguchi.demo import content
from madoguchi.demo.seed import seed_demo


class Command(BaseCommand):
    help = "Create the demo agency, shops, people and tickets; running it again changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=content.DEMO_PASSWORD,
            help="Password of the demo users when they are created.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_demo(password=options["password"])
        self.stdout.write(f"Demo data ready ({result.tickets_created} tickets created).")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password: {options['password']})"))
        for login in result.logins:
            self.stdout.write(f"  {login.email:<40} {login.display_name}  - {login.description}")
        self.stdout.write("")
        self.stdout.write(
            "Admins sign in with two steps: at the admin's first sign-in, scan the QR code (or"
            " type the key shown under it) into any authenticator app, or compute the codes"
            " with `oathtool --totp -b <key>`; keep the recovery codes shown next."
        )
        self.stdout.write("")
