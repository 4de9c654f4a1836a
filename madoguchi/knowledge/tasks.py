"""Background work of the knowledge app: refreshing every shop's FAQ candidates."""

from __future__ import annotations

from madoguchi.core.tasks import task
from madoguchi.tenancy.scoping import in_shop, unscoped


@task()
def faq_candidates_refresh_task() -> int:
    """Refresh the FAQ candidates of every active shop; return how many candidates are open."""
    from madoguchi.knowledge.candidates import faq_candidates_refresh
    from madoguchi.tenancy.models import Shop

    with unscoped("the periodic FAQ-candidate refresh lists the shops, then enters each"):
        shop_ids = list(Shop.objects.filter(archived_at__isnull=True).values_list("id", flat=True))
    total = 0
    for shop_id in shop_ids:
        with in_shop(shop_id):
            total += len(faq_candidates_refresh(shop_id=shop_id))
    return total
