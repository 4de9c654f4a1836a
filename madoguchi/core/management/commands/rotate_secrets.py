"""Re-encrypt every stored secret with the first key of MADOGUCHI_SECRET_KEYS."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from madoguchi.core import secrets
from madoguchi.tenancy.scoping import unscoped


class Command(BaseCommand):
    help = "Re-encrypt stored secrets with the first key of MADOGUCHI_SECRET_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new-key", action="store_true", help="Print a fresh key and stop.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["new_key"]:
            self.stdout.write(secrets.new_key())
            return
        total = 0
        quote = connection.ops.quote_name
        with unscoped("re-encrypt the secrets of every shop"), transaction.atomic():
            for model, name in secrets.encrypted_fields():
                meta = model._meta
                field = meta.get_field(name)
                assert isinstance(field, secrets.EncryptedTextField)
                column, pk_column = field.column, meta.pk.column if meta.pk else "id"
                with connection.cursor() as cursor:
                    # The raw column: the field would hand back plain text.
                    cursor.execute(
                        f"SELECT {quote(pk_column)}, {quote(column)}"  # noqa: S608
                        f" FROM {quote(meta.db_table)}"
                    )
                    rows = cursor.fetchall()
                for pk, stored in rows:
                    rotated = secrets.rotate(stored or "")
                    if rotated != (stored or ""):
                        model._base_manager.filter(pk=pk).update(**{name: rotated})
                        total += 1
        self.stdout.write(f"{total} secrets re-encrypted.")
