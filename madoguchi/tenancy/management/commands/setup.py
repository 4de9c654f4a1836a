"""`madoguchi setup`: the first workspace and its admin on an empty database.

Non-interactive (scripts): `--workspace-name --kind agency|merchant --admin-email
--admin-password-file` (`-` reads the password from standard input), optionally `--admin-name`,
`--shop-name` and `--shop-prefix` (a shop company's first shop). Without those flags it asks,
re-asking after a bad answer. It refuses once any workspace or user exists, and prints the
sign-in URL (`--site-url`, else MADOGUCHI_SITE_URL, else http://127.0.0.1:8000).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandError, CommandParser, no_translations
from django.urls import reverse

from madoguchi.core.errors import ApplicationError
from madoguchi.core.site import DEFAULT_SITE_URL, site_url
from madoguchi.tenancy.models import Workspace
from madoguchi.tenancy.services import (
    ALREADY_SET_UP,
    check_password,
    clean_email,
    clean_name,
    clean_ticket_prefix,
    is_set_up,
    suggest_ticket_prefix,
    workspace_setup,
)

REQUIRED_FLAGS = {
    "workspace_name": "--workspace-name",
    "kind": "--kind",
    "admin_email": "--admin-email",
    "admin_password_file": "--admin-password-file",
}
KINDS = {
    "agency": Workspace.Kind.AGENCY,
    "a": Workspace.Kind.AGENCY,
    "merchant": Workspace.Kind.MERCHANT,
    "m": Workspace.Kind.MERCHANT,
    "shop": Workspace.Kind.MERCHANT,
}

T = TypeVar("T")


def sign_in_url(address: str | None) -> str:
    base = address.rstrip("/") if address else site_url()
    return base + reverse("accounts:login")


class Command(BaseCommand):
    help = (
        "Create the first workspace (a support agency or a shop company) and its admin on an"
        " empty database, then print the sign-in URL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace-name", help="Name of the company.")
        parser.add_argument(
            "--kind",
            choices=["agency", "merchant"],
            help="agency: a support agency (CS代行); merchant: a shop company.",
        )
        parser.add_argument("--admin-email", help="Email address the admin signs in with.")
        parser.add_argument(
            "--admin-password-file",
            help="File whose first line is the admin's password ('-': standard input).",
        )
        parser.add_argument("--admin-name", default="", help="The admin's display name.")
        parser.add_argument(
            "--shop-name", default="", help="A shop company's first shop (default: its name)."
        )
        parser.add_argument(
            "--shop-prefix",
            default="",
            help="Ticket prefix of that shop, 2-10 of A-Z and 0-9 (default: from the name).",
        )
        parser.add_argument(
            "--site-url",
            default=None,
            help=f"Address of the site (default: MADOGUCHI_SITE_URL or {DEFAULT_SITE_URL}).",
        )
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Never ask: fail when a required flag is missing.",
        )

    @no_translations
    def handle(self, *args: Any, **options: Any) -> None:
        if is_set_up():
            raise CommandError(
                f"{ALREADY_SET_UP} Setup runs once, on an empty database; add workspaces,"
                " shops and people in the browser."
            )
        flags_given = any(options[name] for name in REQUIRED_FLAGS)
        if flags_given or not options["interactive"]:
            values = self._from_flags(options)
        else:
            values = self._ask()
        try:
            result = workspace_setup(**values)
        except ApplicationError as error:
            raise CommandError(error.message) from error

        is_agency = result.workspace.kind == Workspace.Kind.AGENCY
        kind = "support agency" if is_agency else "shop company"
        self.stdout.write(
            self.style.SUCCESS(f"Created the {kind} {result.workspace.name}")
            + f" with its admin {result.admin.email}."
        )
        if result.shop is not None:
            prefix = result.shop.ticket_prefix
            self.stdout.write(f"Created the shop {result.shop.name} (tickets #{prefix}-1, ...).")
        elif is_agency:
            self.stdout.write("Add client shops in the browser: Workspace > Workspace & shops.")
        self.stdout.write(f"Sign in at {sign_in_url(options['site_url'])}")

    # Flags ---------------------------------------------------------------------------------------

    def _from_flags(self, options: dict[str, Any]) -> dict[str, Any]:
        missing = [flag for name, flag in REQUIRED_FLAGS.items() if not options[name]]
        if missing:
            raise CommandError(f"Missing for a setup without questions: {', '.join(missing)}")
        return {
            "workspace_name": options["workspace_name"],
            "kind": options["kind"],
            "admin_email": options["admin_email"],
            "admin_password": self._read_password(options["admin_password_file"]),
            "admin_name": options["admin_name"],
            "shop_name": options["shop_name"],
            "shop_prefix": options["shop_prefix"],
        }

    def _read_password(self, source: str) -> str:
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot read the password file: {error}") from error
        lines = text.splitlines()
        if not lines or not lines[0]:
            raise CommandError("The password file is empty.")
        return lines[0]

    # Questions -----------------------------------------------------------------------------------

    def _ask(self) -> dict[str, Any]:
        self.stdout.write("Set up Madoguchi: the first workspace and its admin.")
        try:
            workspace_name = self._ask_until("Company name: ", clean_name)
            kind = self._ask_until(
                "Kind, agency (support agency, CS代行) or merchant (shop company): ",
                self._parse_kind,
            )
            email = self._ask_until("Admin email: ", clean_email)
            admin_name = input("Admin display name (optional): ").strip()
            password = self._ask_password(email=email, display_name=admin_name or email)
            shop_name = shop_prefix = ""
            if kind == Workspace.Kind.MERCHANT:
                shop_name = self._ask_until(
                    f"Name of your first shop [{workspace_name}]: ",
                    lambda raw: clean_name(raw or workspace_name),
                )
                suggestion = suggest_ticket_prefix(shop_name)
                shop_prefix = self._ask_until(
                    f"Ticket prefix, 2-10 of A-Z and 0-9 [{suggestion}]: ",
                    lambda raw: clean_ticket_prefix(raw or suggestion),
                )
        except (EOFError, KeyboardInterrupt) as error:
            raise CommandError("Setup cancelled; nothing was created.") from error
        return {
            "workspace_name": workspace_name,
            "kind": kind,
            "admin_email": email,
            "admin_password": password,
            "admin_name": admin_name,
            "shop_name": shop_name,
            "shop_prefix": shop_prefix,
        }

    def _ask_until(self, prompt: str, parse: Callable[[str], T]) -> T:
        while True:
            raw = input(prompt).strip()
            try:
                return parse(raw)
            except ApplicationError as error:
                self.stderr.write(error.message)

    @staticmethod
    def _parse_kind(raw: str) -> str:
        kind = KINDS.get(raw.lower())
        if kind is None:
            raise ApplicationError("Answer agency or merchant.")
        return str(kind)

    def _ask_password(self, *, email: str, display_name: str) -> str:
        while True:
            password = getpass.getpass("Admin password: ")
            if getpass.getpass("The same password again: ") != password:
                self.stderr.write("The passwords differ; try again.")
                continue
            try:
                check_password(password, email=email, display_name=display_name)
            except ApplicationError as error:
                self.stderr.write(error.message)
                continue
            return password
