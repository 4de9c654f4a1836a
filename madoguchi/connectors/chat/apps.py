from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor


def _is_staff(actor: Actor, shop_id: int) -> bool:
    return actor.is_staff_for(shop_id)


class ChatConfig(AppConfig):
    name = "madoguchi.connectors.chat"
    label = "chat"
    verbose_name = "Live chat"

    def ready(self) -> None:
        from madoguchi.connectors.chat import sockets
        from madoguchi.connectors.chat.channel_status import chat_state
        from madoguchi.connectors.chat.sending import reply_push
        from madoguchi.connectors.chat.services import operators_online
        from madoguchi.conversations.models import Channel
        from madoguchi.conversations.outbound import register_sender
        from madoguchi.core import navigation
        from madoguchi.core.channel_status import ChannelKind, register_channel
        from madoguchi.core.workers import register_shutdown
        from madoguchi.operations.routing import register_presence_source

        register_sender(Channel.CHAT, reply_push)
        register_shutdown(sockets.closer.flush)
        register_presence_source(Channel.CHAT, operators_online)
        register_channel(
            ChannelKind(
                key="chat",
                label=_("Live chat"),
                settings_url_name="chat:settings",
                status=chat_state,
                order=30,
            )
        )
        navigation.register_menu_entry(
            navigation.MenuEntry(
                section=navigation.CHANNELS,
                label=_("Live chat"),
                url_name="chat:settings",
                visible=_is_staff,
                order=30,
            )
        )
