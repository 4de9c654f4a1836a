from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "madoguchi.commerce"
    label = "commerce"
    verbose_name = _("Commerce")

    def ready(self) -> None:
        from madoguchi.commerce.services import link_orders_mentioned
        from madoguchi.conversations.hooks import register_inbound_hook

        register_inbound_hook(link_orders_mentioned)
