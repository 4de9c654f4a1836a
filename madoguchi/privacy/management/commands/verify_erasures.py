"""Re-check that nothing of an erased customer remains: `verify_erasures [--record ID]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.privacy.erasure import erasure_verify
from madoguchi.privacy.models import ErasureRecord
from madoguchi.tenancy.scoping import in_shop, unscoped


class Command(BaseCommand):
    help = "Verify erasure records: report anything of an erased customer still stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--record", type=int, help="Only this erasure record.")

    def handle(self, *args: Any, **options: Any) -> None:
        with unscoped("verification reads the records of every shop, then enters each shop"):
            records = ErasureRecord.objects.order_by("id")
            if options["record"]:
                records = records.filter(id=options["record"])
            pairs = list(records.values_list("id", "shop_id"))
        failed = 0
        for record_id, shop_id in pairs:
            with in_shop(shop_id):
                erasure = erasure_verify(erasure=ErasureRecord.objects.get(id=record_id))
            if erasure.is_verified:
                self.stdout.write(f"record {record_id}: nothing remains")
            else:
                failed += 1
                places = ", ".join(f"{item['place']} {item['ref']}" for item in erasure.findings)
                self.stdout.write(f"record {record_id}: found in {places}")
        if failed:
            raise CommandError(f"{failed} erasure record(s) found data that should be gone")
