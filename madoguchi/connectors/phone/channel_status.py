"""The phone channel on the channels overview: the shop's numbers and its last inbound call."""

from __future__ import annotations

from django.utils.translation import gettext

from madoguchi.connectors.phone.models import CallLog, PhoneNumber
from madoguchi.core.channel_status import ChannelState
from madoguchi.tenancy.models import Shop


def phone_state(shop: Shop) -> ChannelState:
    """Connected once the shop has a number in use; last received is the last inbound call."""
    numbers = [str(number) for number in PhoneNumber.objects.filter(shop=shop, is_active=True)]
    last_call_at = (
        CallLog.objects.filter(shop=shop, direction=CallLog.Direction.INBOUND)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return ChannelState(
        is_connected=bool(numbers),
        summary=", ".join(numbers) if numbers else gettext("No phone number yet."),
        last_received_at=last_call_at,
    )
