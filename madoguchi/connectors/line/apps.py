from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor


def _is_staff(actor: Actor, shop_id: int) -> bool:
    return actor.is_staff_for(shop_id)


class LineConfig(AppConfig):
    name = "madoguchi.connectors.line"
    label = "line"
    verbose_name = "LINE"

    def ready(self) -> None:
        from madoguchi.connectors.line.channel_status import line_state
        from madoguchi.connectors.line.sending import reply_queue
        from madoguchi.connectors.line.tasks import sweep_line_task
        from madoguchi.conversations.models import Channel
        from madoguchi.conversations.outbound import register_sender
        from madoguchi.core import navigation
        from madoguchi.core.channel_status import ChannelKind, register_channel
        from madoguchi.core.scheduler import register_periodic

        register_sender(Channel.LINE, reply_queue)
        register_periodic("line_sweep", dt.timedelta(minutes=1), sweep_line_task.enqueue)
        from madoguchi.connectors.line.recovery import line_outbound_recover
        from madoguchi.core.workers import register_recovery

        register_recovery("line_outbound", line_outbound_recover)
        register_channel(
            ChannelKind(
                key="line",
                label=_("LINE"),
                settings_url_name="line:channels",
                status=line_state,
                order=40,
            )
        )
        navigation.register_menu_entry(
            navigation.MenuEntry(
                section=navigation.CHANNELS,
                label=_("LINE"),
                url_name="line:channels",
                visible=_is_staff,
                order=40,
            )
        )
        navigation.register_menu_entry(
            navigation.MenuEntry(
                section=navigation.CHANNELS,
                label=_("LINE replies"),
                url_name="line:deliveries",
                visible=_is_staff,
                order=41,
            )
        )
