"""The `madoguchi` console script: Django management with the project's settings."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command, defaulting to the local settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.config.settings.local")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["madoguchi", *(sys.argv[1:] if argv is None else argv)])
