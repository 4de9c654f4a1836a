"""`madoguchi analytics_rebuild [--shop SLUG ...]`: recompute the analytics facts from the log."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.analytics.services import analytics_rebuild
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import unscoped


class Command(BaseCommand):
    help = "Recompute the analytics facts from the event log (all shops, or the named ones)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shop", action="append", default=[], help="shop slug (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        slugs: list[str] = options["shop"]
        shop_ids = None
        if slugs:
            with unscoped("the rebuild command names shops by slug"):
                found = dict(Shop.objects.filter(slug__in=slugs).values_list("slug", "id"))
            missing = sorted(set(slugs) - set(found))
            if missing:
                raise CommandError(f"Unknown shop: {', '.join(missing)}")
            shop_ids = [found[slug] for slug in slugs]
        result = analytics_rebuild(shop_ids=shop_ids)
        self.stdout.write(json.dumps({"shops": len(result), "tickets": sum(result.values())}))
