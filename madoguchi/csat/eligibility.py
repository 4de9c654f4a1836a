"""Whether a solved ticket's customer may get a survey, and if not, why.

Never to customers who opted out; on mail channels never when the ticket's latest mail was an
auto-reply or a bounce, or when every address of the customer bounced permanently; on LINE never
to a customer who blocked the shop's account; phone and other channels have no survey.
"""

from __future__ import annotations

from madoguchi.conversations.models import Channel, Ticket
from madoguchi.csat.models import CsatOptOut, CsatSurvey
from madoguchi.customers.models import ContactIdentity
from madoguchi.events.models import Event

SURVEY_CHANNELS = (Channel.EMAIL, Channel.WEB_FORM, Channel.CHAT, Channel.LINE)
MAIL_CHANNELS = (Channel.EMAIL, Channel.WEB_FORM)

Reason = CsatSurvey.SkipReason


def _all_addresses_bounced(ticket: Ticket) -> bool:
    flags = list(
        ContactIdentity.objects.filter(
            shop_id=ticket.shop_id, customer_id=ticket.customer_id, kind=ContactIdentity.Kind.EMAIL
        ).values_list("is_undeliverable", flat=True)
    )
    return bool(flags) and all(flags)


def _blocked_on_line(ticket: Ticket) -> bool:
    latest = (
        Event.objects.filter(
            shop_id=ticket.shop_id,
            type__in=("line.followed", "line.unfollowed"),
            actor_customer_id=ticket.customer_id,
        )
        .order_by("-id")
        .values_list("type", flat=True)
        .first()
    )
    return latest == "line.unfollowed"


def skip_reason(ticket: Ticket) -> str:
    """Return why the ticket gets no survey (a `CsatSurvey.SkipReason`), or "" to send one."""
    if ticket.channel not in SURVEY_CHANNELS:
        return Reason.CHANNEL
    if CsatOptOut.objects.filter(shop_id=ticket.shop_id, customer_id=ticket.customer_id).exists():
        return Reason.OPTED_OUT
    if ticket.channel in MAIL_CHANNELS:
        from madoguchi.connectors.mail.selectors import machine_mail_ticket_ids

        if ticket.id in machine_mail_ticket_ids(ticket_ids=[ticket.id]):
            return Reason.MACHINE_MAIL
        if _all_addresses_bounced(ticket):
            return Reason.UNDELIVERABLE
    if ticket.channel == Channel.LINE and _blocked_on_line(ticket):
        return Reason.BLOCKED
    return ""
