"""Live chat on the channels overview: is the widget on, and the last visitor message."""

from __future__ import annotations

from django.utils.translation import gettext

from madoguchi.connectors.chat.models import ChatWidget
from madoguchi.conversations.models import Channel, Message
from madoguchi.core.channel_status import ChannelState
from madoguchi.tenancy.models import Shop


def chat_state(shop: Shop) -> ChannelState:
    """Connected while the widget is enabled; last received is a visitor's last message."""
    widget = ChatWidget.objects.filter(shop=shop).only("is_enabled").first()
    if widget is None:
        return ChannelState(is_connected=False, summary=gettext("Not set up yet."))
    last_received_at = (
        Message.objects.filter(shop=shop, channel=Channel.CHAT, direction=Message.Direction.INBOUND)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    return ChannelState(
        is_connected=widget.is_enabled,
        summary=gettext("Widget enabled") if widget.is_enabled else gettext("Widget disabled"),
        last_received_at=last_received_at,
    )
