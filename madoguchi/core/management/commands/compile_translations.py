"""Compile the committed `.po` catalogs to `.mo` without GNU gettext (which may be missing)."""

from pathlib import Path
from typing import Any

import polib
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Compile every locale/*/LC_MESSAGES/*.po of the project and its apps to .mo."

    def handle(self, *args: Any, **options: Any) -> None:
        compiled = 0
        # The project catalog, then each app's own (Django reads both).
        app_dirs = [Path(config.path) / "locale" for config in apps.get_app_configs()]
        for locale_dir in [*settings.LOCALE_PATHS, *(d for d in app_dirs if d.is_dir())]:
            for po_path in sorted(Path(locale_dir).glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                try:
                    catalog = polib.pofile(str(po_path))
                except (OSError, ValueError) as error:
                    raise CommandError(f"{po_path}: {error}") from error
                # Write to a temporary name first: parallel test workers may compile together.
                partial = mo_path.with_name(f".{mo_path.name}.{id(catalog)}.partial")
                catalog.save_as_mofile(str(partial))
                partial.replace(mo_path)
                compiled += 1
                if options["verbosity"] > 1:
                    self.stdout.write(f"Compiled {mo_path}")
        self.stdout.write(f"Compiled {compiled} translation catalog(s).")
