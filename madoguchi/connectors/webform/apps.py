from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from madoguchi.tenancy.access import Actor


def _is_staff(actor: Actor, shop_id: int) -> bool:
    return actor.is_staff_for(shop_id)


class WebformConfig(AppConfig):
    name = "madoguchi.connectors.webform"
    label = "webform"
    verbose_name = "Web form"

    def ready(self) -> None:
        from madoguchi.connectors.webform.channel_status import webform_state
        from madoguchi.connectors.webform.sending import reply_queue
        from madoguchi.connectors.webform.tasks import sweep_submissions_task
        from madoguchi.conversations.models import Channel
        from madoguchi.conversations.outbound import register_sender
        from madoguchi.core import navigation
        from madoguchi.core.channel_status import ChannelKind, register_channel
        from madoguchi.core.scheduler import register_periodic

        register_sender(Channel.WEB_FORM, reply_queue)
        register_periodic("webform_sweep", dt.timedelta(minutes=1), sweep_submissions_task.enqueue)
        register_channel(
            ChannelKind(
                key="web_form",
                label=_("Web form"),
                settings_url_name="webform:settings",
                status=webform_state,
                order=20,
            )
        )
        navigation.register_menu_entry(
            navigation.MenuEntry(
                section=navigation.CHANNELS,
                label=_("Web form"),
                url_name="webform:settings",
                visible=_is_staff,
                order=20,
            )
        )
