from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "madoguchi.commerce"
    label = "commerce"
    verbose_name = _("Commerce")

    def ready(self) -> None:
        from madoguchi.commerce.search_index import ORDER_SOURCE
        from madoguchi.commerce.services import link_orders_mentioned_batch
        from madoguchi.conversations.hooks import register_inbound_batch_hook
        from madoguchi.search.services import register_source

        register_inbound_batch_hook(link_orders_mentioned_batch)
        register_source(ORDER_SOURCE)
