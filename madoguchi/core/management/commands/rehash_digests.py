"""Recompute every keyed digest (contacts' lookup keys) after MADOGUCHI_HASH_KEY changed."""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from madoguchi.core import secrets
from madoguchi.tenancy.scoping import unscoped

BATCH = 1000


class Command(BaseCommand):
    help = "Recompute the digests customers' contacts are found by, with MADOGUCHI_HASH_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        with unscoped("re-hash the contacts of every shop"), transaction.atomic():
            for model, field in secrets.digest_fields():
                # The values it is computed from are decrypted on reading.
                names = ["pk", field.name, *field.of]
                changed = []
                for row in model._base_manager.only(*names[1:]).iterator(chunk_size=BATCH):
                    digest = field.digest_of(row)
                    if digest != getattr(row, field.attname):
                        setattr(row, field.attname, digest)
                        changed.append(row)
                for start in range(0, len(changed), BATCH):
                    # `update` writes the value as it is (`pre_save` is not called).
                    for row in changed[start : start + BATCH]:
                        model._base_manager.filter(pk=row.pk).update(
                            **{field.attname: getattr(row, field.attname)}
                        )
                total += len(changed)
        self.stdout.write(f"{total} digests recomputed.")
