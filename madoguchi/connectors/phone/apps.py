from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor


def _is_staff(actor: Actor, shop_id: int) -> bool:
    return actor.is_staff_for(shop_id)


class PhoneConfig(AppConfig):
    name = "madoguchi.connectors.phone"
    label = "phone"
    verbose_name = "Phone"

    def ready(self) -> None:
        from madoguchi.connectors.phone.channel_status import phone_state
        from madoguchi.core import navigation
        from madoguchi.core.channel_status import ChannelKind, register_channel

        register_channel(
            ChannelKind(
                key="phone",
                label=_("Phone"),
                settings_url_name="phone:numbers",
                status=phone_state,
                order=50,
            )
        )
        for entry in (
            navigation.MenuEntry(
                section=navigation.WORK,
                label=_("Log a phone call"),
                url_name="phone:call_new",
                visible=_is_staff,
                order=40,
            ),
            navigation.MenuEntry(
                section=navigation.WORK,
                label=_("Callback queue"),
                url_name="phone:callbacks",
                visible=_is_staff,
                order=41,
            ),
            navigation.MenuEntry(
                section=navigation.CHANNELS,
                label=_("Phone numbers"),
                url_name="phone:numbers",
                visible=_is_staff,
                order=50,
            ),
        ):
            navigation.register_menu_entry(entry)
