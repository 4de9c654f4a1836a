import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.search.services import search_rebuild
from madoguchi.tenancy.models import Shop


class Command(BaseCommand):
    help = "Rebuild the search index of one shop (--shop SLUG) or of every shop."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shop", metavar="SLUG", help="Rebuild only this shop.")

    def handle(self, *args: Any, **options: Any) -> None:
        shop_id = None
        if options["shop"]:
            shop = Shop.objects.filter(slug=options["shop"]).first()
            if shop is None:
                raise CommandError(f"No shop with slug {options['shop']!r}")
            shop_id = shop.id
        counts = search_rebuild(shop_id)
        self.stdout.write(json.dumps(counts))
