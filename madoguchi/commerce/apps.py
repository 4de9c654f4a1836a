from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor


def _is_staff(actor: Actor, shop_id: int) -> bool:
    return actor.is_staff_for(shop_id)


def _is_lead(actor: Actor, shop_id: int) -> bool:
    return actor.is_lead_for(shop_id)


class CommerceConfig(AppConfig):
    name = "madoguchi.commerce"
    label = "commerce"
    verbose_name = _("Commerce")

    def ready(self) -> None:
        from madoguchi.commerce.connections import commerce_channel_state
        from madoguchi.commerce.customer_panel import CUSTOMER_ORDERS_PANEL
        from madoguchi.commerce.models import CommerceConnection
        from madoguchi.commerce.search_index import ORDER_SOURCE
        from madoguchi.commerce.ticket_orders import orders_beside_new_messages
        from madoguchi.conversations.hooks import register_inbound_batch_hook
        from madoguchi.core import navigation
        from madoguchi.core.channel_status import ChannelKind, register_channel
        from madoguchi.customers.panels import register_customer_panel
        from madoguchi.search.services import register_source

        register_inbound_batch_hook(orders_beside_new_messages)
        register_source(ORDER_SOURCE)
        register_customer_panel(CUSTOMER_ORDERS_PANEL)
        for order, (platform, platform_name) in enumerate(
            CommerceConnection.Platform.choices, start=60
        ):
            register_channel(
                ChannelKind(
                    key=platform,
                    label=platform_name,
                    settings_url_name="commerce:connections",
                    status=partial(commerce_channel_state, platform=platform),
                    order=order,
                    is_lead_only=True,
                )
            )
        pages = (
            ("commerce:order_list", _("Orders"), 10),
            ("commerce:order_new", _("Phone / fax order"), 20),
            ("commerce:order_import", _("Import orders"), 30),
            ("commerce:deposit_import", _("Import deposits"), 40),
            ("commerce:review_queue", _("Payments to review"), 50),
            ("commerce:reminders", _("Overdue transfers"), 60),
        )
        for url_name, label, position in pages:
            navigation.register_menu_entry(
                navigation.MenuEntry(
                    section=navigation.COMMERCE,
                    label=label,
                    url_name=url_name,
                    visible=_is_staff,
                    order=position,
                )
            )
        navigation.register_menu_entry(
            navigation.MenuEntry(
                section=navigation.CHANNELS,
                label=_("Cart connections"),
                url_name="commerce:connections",
                visible=_is_lead,
                order=60,
            )
        )
