"""Record a report about a mail we sent: a bounce, a complaint, a DMARC forensic report or a
list manager's notice (as `machine_mail` recognises them).

A report never opens a ticket. It joins the ticket of the mail it answers when it names that
mail's Message-ID; otherwise it stays on the shop's failed-delivery list (`selectors.
unmatched_reports`). A permanent delivery failure marks the recipient's address undeliverable
(replies to it then fail at once, `sending.reply_queue`) and marks our reply failed on its ticket
through `conversations.outbound.delivery_status_set`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_noop

from madoguchi.connectors.mail.machine_mail import BounceReport, Kind
from madoguchi.connectors.mail.models import MailAddress, OutboundMail, RawMail
from madoguchi.connectors.mail.parsing import parse_bounce
from madoguchi.conversations.models import Channel, Message, Ticket
from madoguchi.conversations.outbound import delivery_status_set
from madoguchi.customers.models import ContactIdentity
from madoguchi.customers.normalize import identity_digest, normalize_email
from madoguchi.events.models import ActorKind
from madoguchi.events.services import event_append

BOUNCED = gettext_noop(
    "The mail bounced: the recipient's mail server reported it as undeliverable."
)


def _report_of(raw_mail: RawMail) -> BounceReport:
    report = parse_bounce(bytes(raw_mail.raw))
    return report or BounceReport(recipients=(), original_message_id=None, is_standard=False)


def _clean_id(value: str) -> str:
    return "".join(value.split()).strip("<>")


@transaction.atomic
def bounce_record(*, raw_mail: RawMail, report: BounceReport | None = None) -> Ticket | None:
    """Record the report `raw_mail` carries; return the ticket of the mail it answers, if known.

    Writes one `mail.bounced` event per reported recipient (payload: raw_mail_id, kind, status,
    recipient, is_permanent). Only a permanent delivery failure (5.x.x) marks the address
    undeliverable and our reply failed: a delay, a complaint or an authentication report does
    not.
    """
    shop = raw_mail.shop
    assert shop is not None
    report = report or _report_of(raw_mail)
    original = _clean_id(report.original_message_id or "")
    outbound = (
        OutboundMail.objects.filter(shop=shop, internet_message_id=original).first()
        if original
        else None
    )
    ticket_id = outbound.ticket_id if outbound is not None else None
    if ticket_id is None and original:
        ticket_id = (
            Message.objects.filter(shop=shop, channel=Channel.EMAIL, external_id=original)
            .values_list("ticket_id", flat=True)
            .first()
        )
    ticket = Ticket.objects.filter(shop=shop, pk=ticket_id).first() if ticket_id else None
    our_addresses = set(MailAddress.objects.filter(shop=shop).values_list("address", flat=True))
    recipients = [
        recipient
        for recipient in report.recipients
        if normalize_email(recipient.recipient) not in our_addresses
    ]
    is_failure = report.kind == Kind.DELIVERY_FAILURE
    failed_addresses: list[str] = []
    for recipient in recipients:
        address = normalize_email(recipient.recipient)
        is_permanent = is_failure and recipient.is_permanent
        if is_permanent and address:
            failed_addresses.append(address)
        event_append(
            shop=shop,
            ticket=ticket,
            type="mail.bounced",
            actor_kind=ActorKind.SYSTEM,
            payload={
                "raw_mail_id": raw_mail.id,
                "kind": str(report.kind),
                "status": recipient.status,
                "recipient": address,
                "is_permanent": is_permanent,
            },
        )
    if not recipients:
        event_append(
            shop=shop,
            ticket=ticket,
            type="mail.bounced",
            actor_kind=ActorKind.SYSTEM,
            payload={
                "raw_mail_id": raw_mail.id,
                "kind": str(report.kind),
                "status": "",
                "recipient": "",
                "is_permanent": False,
            },
        )
    if failed_addresses:
        ContactIdentity.objects.filter(
            shop=shop,
            kind=ContactIdentity.Kind.EMAIL,
            value_digest__in=[
                identity_digest(ContactIdentity.Kind.EMAIL, address) for address in failed_addresses
            ],
        ).update(is_undeliverable=True)
        if outbound is not None and outbound.message_id is not None:
            delivery_status_set(
                message_id=outbound.message_id,
                status=Message.DeliveryStatus.FAILED,
                error=BOUNCED,
            )
    return ticket
