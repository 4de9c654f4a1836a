"""The LINE channel on the channels overview: the shop's channels, last delivery, last error."""

from __future__ import annotations

from django.db.models import Max
from django.utils.translation import gettext

from madoguchi.connectors.line.models import LineChannel, LineOutbound, LineWebhook
from madoguchi.core.channel_status import ChannelState, latest_error
from madoguchi.tenancy.models import Shop


def line_state(shop: Shop) -> ChannelState:
    """Connected with an active channel; the last error is a failed delivery's or reply's."""
    names = list(
        LineChannel.objects.filter(shop=shop, is_active=True).values_list("name", flat=True)
    )
    webhooks = LineWebhook.objects.filter(shop=shop)
    last_received_at = webhooks.aggregate(last=Max("received_at"))["last"]
    webhook_error = (
        webhooks.exclude(last_error="")
        .order_by("-received_at", "-id")
        .values_list("last_error", "received_at")
        .first()
    )
    failed_reply = (
        LineOutbound.objects.filter(shop=shop, status=LineOutbound.Status.FAILED)
        .order_by("-created_at", "-id")
        .only("last_error", "http_status", "created_at")
        .first()
    )
    # A reply's error is said in the UI language (LINE's own answer is on the deliveries page).
    reply_error = (failed_reply.error_sentence, failed_reply.created_at) if failed_reply else None
    error, error_at = latest_error(webhook_error or ("", None), reply_error or ("", None))
    return ChannelState(
        is_connected=bool(names),
        summary=", ".join(names) if names else gettext("No LINE channel yet."),
        last_received_at=last_received_at,
        last_error=error,
        last_error_at=error_at,
    )
