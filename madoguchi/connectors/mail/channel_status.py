"""Email on the channels overview: the shop's addresses and mailboxes, last mail, last error.

Read-only queries of the mail connector's rows; the administration app registers it (the
overview's registry lives in `core.channel_status`).
"""

from __future__ import annotations

from django.utils.translation import gettext, ngettext

from madoguchi.connectors.mail.models import MailAddress, Mailbox, OutboundMail, RawMail
from madoguchi.core.channel_status import ChannelState, latest_error
from madoguchi.tenancy.models import Shop


def mail_state(shop: Shop) -> ChannelState:
    """Connected with an address or an active mailbox; the last error is the newest of a
    mailbox's, a mail that failed processing, or a reply that could not be sent."""
    addresses = list(MailAddress.objects.filter(shop=shop).values_list("address", flat=True))
    mailboxes = list(
        Mailbox.objects.filter(shop=shop, is_active=True).values_list(
            "last_error", "last_polled_at"
        )
    )
    last_received_at = (
        RawMail.objects.filter(shop=shop)
        .order_by("-received_at", "-id")
        .values_list("received_at", flat=True)
        .first()
    )
    failed_mail = (
        RawMail.objects.filter(shop=shop, status=RawMail.Status.FAILED)
        .order_by("-received_at", "-id")
        .values_list("last_error", "received_at")
        .first()
    )
    failed_send = (
        OutboundMail.objects.filter(shop=shop, status=OutboundMail.Status.FAILED)
        .order_by("-created_at", "-id")
        .values_list("last_error", "created_at")
        .first()
    )
    error, error_at = latest_error(*mailboxes, failed_mail or ("", None), failed_send or ("", None))
    parts = list(addresses)
    if mailboxes:
        parts.append(
            ngettext("%(count)d mailbox", "%(count)d mailboxes", len(mailboxes))
            % {"count": len(mailboxes)}
        )
    return ChannelState(
        is_connected=bool(addresses or mailboxes),
        summary=", ".join(parts) if parts else gettext("No mail address yet."),
        last_received_at=last_received_at,
        last_error=error,
        last_error_at=error_at,
    )
