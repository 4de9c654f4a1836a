"""Send replies and acknowledgements by SMTP, through the outbox.

A reply is composed once, with our Message-ID, when `message_reply` stores it; the bytes wait in
an `OutboundMail` row and a task sends them. Transient SMTP errors retry with backoff in the row;
permanent ones (5xx), and anything else the backend raises for one mail, fail it at once.

A mail goes out through the SMTP server its sender address names (`MailAddress.outbound_server`,
when active); without one, through the system's EMAIL_* settings.

At most once, never twice: a row is claimed by a conditional UPDATE (queued -> sending). If the
worker dies after the SMTP server accepted the mail but before the row says "sent", the row stays
in "sending"; the sweeper does not resend it blindly (the customer would get the mail twice) but
marks it failed as "delivery unknown", which the operator sees on the message and may send again
(with the same Message-ID, so the customer's client can recognise a repeat).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import smtplib
import ssl
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.connectors.mail.models import (
    ConnectionSecurity,
    MailAddress,
    OutboundMail,
    RawMail,
    SmtpServer,
)
from madoguchi.connectors.mail.thread_matching import strip_reply_prefixes
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.outbound import delivery_status_set
from madoguchi.core.tasks import enqueue_on_commit
from madoguchi.core.workers import current_worker_id
from madoguchi.customers.models import ContactIdentity
from madoguchi.customers.normalize import identity_digest, normalize_email
from madoguchi.tenancy.models import Shop

logger = logging.getLogger(__name__)

RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
SENDING_TIMEOUT = dt.timedelta(minutes=15)
MAX_HEADER_CHARS = 900
DELIVERY_UNKNOWN = gettext_noop(
    "Delivery unknown: the worker stopped while sending, so the mail may have gone out. "
    "Check before sending it again."
)
# Why a reply failed, as the ticket shows it (the server's own words stay on the outbox row).
REFUSED_BY_SERVER = gettext_noop("The mail server refused the mail.")
GAVE_UP = gettext_noop("The mail server could not be reached after several attempts.")
NOT_SENDABLE = gettext_noop("The mail could not be sent to this address.")
SENDER_NOT_VERIFIED = gettext_noop(
    "The sender address is no longer a verified address of the shop."
)

_ADDRESS = re.compile(r"^[^@\s<>,;:\"()\[\]\\]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$|^[^@\s]+@localhost$")
_MESSAGE_ID_CHARS = re.compile(r"[^\x21-\x7e]|[<>]")


def clean_header(value: str) -> str:
    """Collapse CR, LF and every other control or separator character into single spaces.

    Whatever reaches a header (a customer's subject, a display name) can then never start a new
    header line (CVE-2024-6923 style injection).
    """
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in value)
    return " ".join(text.split())[:MAX_HEADER_CHARS]


def clean_message_id(value: str) -> str:
    """Return a Message-ID without angle brackets, spaces or control characters."""
    return _MESSAGE_ID_CHARS.sub("", value)[:250]


def is_plain_address(address: str) -> bool:
    return bool(_ADDRESS.match(address))


def message_id_domain() -> str:
    domain: str = settings.MADOGUCHI["MAIL_MESSAGE_ID_DOMAIN"]
    return domain


def make_message_id() -> str:
    """Return a new Message-ID of ours (without angle brackets)."""
    return f"{uuid.uuid4().hex}@{message_id_domain()}"


def is_our_message_id(message_id: str) -> bool:
    return message_id.lower().endswith("@" + message_id_domain().lower())


def sender_address(shop: Shop) -> MailAddress | None:
    """Return the shop's verified address replies go out from (the default one first)."""
    return (
        MailAddress.objects.filter(shop=shop, is_verified=True)
        .order_by("-is_default_sender", "id")
        .first()
    )


def last_inbound_mail(ticket: Ticket) -> RawMail | None:
    """Return the customer's latest mail on the ticket: replies answer it."""
    return (
        RawMail.objects.filter(shop_id=ticket.shop_id, ticket=ticket)
        .filter(outcome__in=[RawMail.Outcome.CREATED, RawMail.Outcome.APPENDED])
        .order_by("-received_at", "-id")
        .first()
    )


def reply_subject(ticket: Ticket) -> str:
    """Return `Re: <subject> [#TEA-12]` for a reply on the ticket."""
    base = strip_reply_prefixes(ticket.subject) or ticket.subject
    return clean_header(f"Re: {base} [{ticket.reference}]")


def compose(
    *,
    sender: MailAddress,
    to_address: str,
    subject: str,
    body_text: str,
    message_id: str,
    in_reply_to: str = "",
    references: Sequence[str] = (),
    is_automatic: bool = False,
) -> bytes:
    """Return the bytes of a UTF-8 text mail; every header value is cleaned first."""
    mail = EmailMessage(policy=SMTP_POLICY)
    mail["From"] = formataddr((clean_header(sender.display_name), sender.address))
    mail["To"] = to_address
    mail["Subject"] = clean_header(subject)
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = f"<{clean_message_id(message_id)}>"
    parent = clean_message_id(in_reply_to)
    if parent:
        mail["In-Reply-To"] = f"<{parent}>"
    chain = [clean_message_id(reference) for reference in references]
    chain = [reference for reference in chain if reference][-20:]
    if chain:
        mail["References"] = " ".join(f"<{reference}>" for reference in chain)
    if is_automatic:
        # RFC 3834: mark our automatic mail, and ask Exchange-style responders not to answer.
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(body_text, charset="utf-8")
    return mail.as_bytes()


def _fail_without_row(message: Message, error: str) -> OutboundMail:
    outbound = OutboundMail.objects.create(
        shop_id=message.shop_id,
        ticket_id=message.ticket_id,
        message=message,
        kind=OutboundMail.Kind.REPLY,
        internet_message_id=make_message_id(),
        from_address="",
        to_address="",
        subject="",
        raw=b"",
        status=OutboundMail.Status.FAILED,
        last_error=error,
        created_at=timezone.now(),
    )
    delivery_status_set(message_id=message.id, status=Message.DeliveryStatus.FAILED, error=error)
    return outbound


def recipient_for(ticket: Ticket, last: RawMail | None) -> str:
    """Return where a reply goes: the Reply-To or sender of the last mail, else the customer."""
    if last is not None:
        candidate = last.reply_to_address or last.from_address
        if candidate:
            return candidate
    identity = (
        ContactIdentity.objects.filter(
            shop_id=ticket.shop_id, customer_id=ticket.customer_id, kind=ContactIdentity.Kind.EMAIL
        )
        .order_by("id")
        .first()
    )
    return identity.value if identity else ""


def _is_undeliverable(shop_id: int, address: str) -> bool:
    return ContactIdentity.objects.filter(
        shop_id=shop_id,
        kind=ContactIdentity.Kind.EMAIL,
        value_digest=identity_digest(ContactIdentity.Kind.EMAIL, normalize_email(address)),
        is_undeliverable=True,
    ).exists()


def reply_queue(message: Message) -> OutboundMail | None:
    """Queue an operator's reply (called by `message_reply` inside its transaction).

    A shop with no mail address at all has not set up the email channel: the reply stays
    "stored", as on channels without a connector. With addresses but none verified it fails.
    """
    ticket = Ticket.objects.select_related("shop").get(pk=message.ticket_id)
    shop = ticket.shop
    if not MailAddress.objects.filter(shop=shop).exists():
        return None
    sender = sender_address(shop)
    if sender is None:
        return _fail_without_row(message, gettext_noop("The shop has no verified sender address."))
    last = last_inbound_mail(ticket)
    to_address = recipient_for(ticket, last)
    if not to_address or not is_plain_address(to_address):
        return _fail_without_row(message, gettext_noop("The customer has no usable email address."))
    if _is_undeliverable(shop.id, to_address):
        return _fail_without_row(
            message, gettext_noop("Earlier mail to this address bounced permanently.")
        )
    references = last.references.split() if last is not None else []
    parent = last.internet_message_id if last is not None else ""
    if parent:
        references = [*references, parent]
    message_id = make_message_id()
    subject = reply_subject(ticket)
    raw = compose(
        sender=sender,
        to_address=to_address,
        subject=subject,
        body_text=message.body_text,
        message_id=message_id,
        in_reply_to=parent,
        references=references,
    )
    now = timezone.now()
    outbound = OutboundMail.objects.create(
        shop=shop,
        ticket=ticket,
        message=message,
        kind=OutboundMail.Kind.REPLY,
        internet_message_id=message_id,
        from_address=sender.address,
        to_address=to_address,
        subject=subject,
        raw=raw,
        status=OutboundMail.Status.QUEUED,
        next_attempt_at=now,
        created_at=now,
    )
    delivery_status_set(message_id=message.id, status=Message.DeliveryStatus.QUEUED)
    outbound_enqueue(outbound)
    return outbound


def outbound_enqueue(outbound: OutboundMail) -> None:
    from madoguchi.connectors.mail.tasks import send_outbound_mail_task

    enqueue_on_commit(send_outbound_mail_task, outbound.shop_id, outbound.id)


@dataclass(frozen=True)
class SmtpConnection:
    """Where and how to hand a mail over: a shop's server or the system's EMAIL_* settings."""

    host: str
    port: int
    security: str
    username: str
    password: str
    timeout: float


def connection_for(server: SmtpServer | None) -> SmtpConnection:
    """Return the connection settings of `server`, or the system's when there is none."""
    if server is not None:
        return SmtpConnection(
            host=server.host,
            port=server.port,
            security=server.security,
            username=server.username,
            password=server.password,
            timeout=settings.EMAIL_TIMEOUT,
        )
    security = ConnectionSecurity.NONE
    if settings.EMAIL_USE_SSL:
        security = ConnectionSecurity.SSL
    elif settings.EMAIL_USE_TLS:
        security = ConnectionSecurity.STARTTLS
    return SmtpConnection(
        host=settings.EMAIL_HOST,
        port=settings.EMAIL_PORT,
        security=security,
        username=settings.EMAIL_HOST_USER,
        password=settings.EMAIL_HOST_PASSWORD,
        timeout=settings.EMAIL_TIMEOUT,
    )


def _is_verified_sender(*, shop_id: int, from_address: str) -> bool:
    """Whether the address is one of the shop's verified senders (the only From we send)."""
    return MailAddress.objects.filter(
        shop_id=shop_id, address=from_address, is_verified=True
    ).exists()


def server_for_sender(*, shop_id: int, from_address: str) -> SmtpServer | None:
    """Return the active SMTP server the sender address names (None: the system's settings)."""
    address = (
        MailAddress.objects.filter(shop_id=shop_id, address=from_address)
        .select_related("outbound_server")
        .first()
    )
    server = address.outbound_server if address is not None else None
    return server if server is not None and server.is_active else None


def smtp_send(
    *, from_address: str, to_address: str, raw: bytes, server: SmtpServer | None = None
) -> str:
    """Hand the bytes to the SMTP server (the shop's, else the system's); return its response."""
    connection = connection_for(server)
    host, port, timeout = connection.host, connection.port, connection.timeout
    client: smtplib.SMTP
    if connection.security == ConnectionSecurity.SSL:
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    try:
        client.ehlo_or_helo_if_needed()
        if connection.security == ConnectionSecurity.STARTTLS:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if connection.username:
            client.login(connection.username, connection.password)
        code, response = client.mail(from_address)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, response, from_address)
        code, response = client.rcpt(to_address)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({to_address: (code, response)})
        code, response = client.data(raw)
        if code != 250:
            raise smtplib.SMTPDataError(code, response)
        return f"{code} {response.decode('utf-8', 'replace')}"
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def error_text(error: BaseException) -> str:
    """Return how an error is stored in `last_error`: its type and message."""
    return f"{type(error).__name__}: {error}"[:2000]


def _smtp_code(error: Exception) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return codes[0] if codes else None
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code
    return None


# What `outbound_send` returns for a mail deleted before its task ran.
GONE = "gone"


def outbound_send(*, outbound_id: int) -> str:
    """Send one queued mail if it is due; return the row's status afterwards (`GONE` if the
    row was deleted meanwhile).

    Safe to call twice: only the caller whose UPDATE claims the queued row sends.
    """
    now = timezone.now()
    claimed = (
        OutboundMail.objects.filter(pk=outbound_id, status=OutboundMail.Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=OutboundMail.Status.SENDING,
            sending_started_at=now,
            claimed_by=current_worker_id(),
            attempts=F("attempts") + 1,
        )
    )
    outbound = OutboundMail.objects.filter(pk=outbound_id).first()
    if outbound is None:
        # Deleted while its task waited (the ticket erased, the shop deleted): nothing to send.
        logger.info("Outbound mail %s not sent: it no longer exists", outbound_id)
        return GONE
    if not claimed:
        return outbound.status
    if not _is_verified_sender(shop_id=outbound.shop_id, from_address=outbound.from_address):
        # Re-checked at the last moment (checklist 19): the address may have lost its
        # verification (or been removed) since the mail was queued. Never retried.
        logger.warning("Outbound mail %s not sent: its sender is not verified", outbound.id)
        OutboundMail.objects.filter(pk=outbound.id).update(
            status=OutboundMail.Status.FAILED,
            next_attempt_at=None,
            last_error=SENDER_NOT_VERIFIED,
            sending_started_at=None,
        )
        _message_status(outbound, Message.DeliveryStatus.FAILED, error=SENDER_NOT_VERIFIED)
        return OutboundMail.Status.FAILED
    server = server_for_sender(shop_id=outbound.shop_id, from_address=outbound.from_address)
    try:
        response = smtp_send(
            from_address=outbound.from_address,
            to_address=outbound.to_address,
            raw=bytes(outbound.raw),
            server=server,
        )
    except Exception as error:
        # SMTP and network errors retry unless permanent (5xx); anything else the backend raises
        # for this mail (an address or header it cannot encode, security case 20) fails it at
        # once with its error, so it is never retried forever and the queue goes on.
        code = _smtp_code(error)
        is_smtp = isinstance(error, smtplib.SMTPException | OSError)
        is_permanent = not is_smtp or (code is not None and 500 <= code < 600)
        if is_permanent or outbound.attempts >= MAX_ATTEMPTS:
            status = OutboundMail.Status.FAILED
            next_attempt_at = None
        else:
            status = OutboundMail.Status.QUEUED
            next_attempt_at = timezone.now() + RETRY_DELAYS[outbound.attempts - 1]
        # The type and code only: an error's text can hold the recipient (case 75).
        kind = f"{type(error).__name__} {code}" if code else type(error).__name__
        logger.warning("Sending outbound mail %s failed: %s", outbound.id, kind)
        OutboundMail.objects.filter(pk=outbound.id).update(
            status=status,
            next_attempt_at=next_attempt_at,
            last_error=error_text(error),
            sending_started_at=None,
        )
        _server_used(server, error=error)
        if status == OutboundMail.Status.FAILED:
            reason = GAVE_UP
            if is_permanent:
                reason = REFUSED_BY_SERVER if is_smtp else NOT_SENDABLE
            _message_status(outbound, Message.DeliveryStatus.FAILED, error=reason)
        return status
    OutboundMail.objects.filter(pk=outbound.id).update(
        status=OutboundMail.Status.SENT,
        sent_at=timezone.now(),
        smtp_response=response[:2000],
        last_error="",
        next_attempt_at=None,
    )
    _server_used(server, error=None)
    _message_status(outbound, Message.DeliveryStatus.SENT)
    return OutboundMail.Status.SENT


def _server_used(server: SmtpServer | None, *, error: Exception | None) -> None:
    """Note on the shop's server when it was last used and how that went (for its page)."""
    if server is not None:
        SmtpServer.objects.filter(pk=server.pk).update(
            last_used_at=timezone.now(), last_error=error_text(error) if error else ""
        )


def _message_status(outbound: OutboundMail, status: str, *, error: str = "") -> None:
    if outbound.message_id is not None:
        delivery_status_set(message_id=outbound.message_id, status=status, error=error)


def outbound_requeue(*, outbound: OutboundMail) -> None:
    """Put a failed mail back in the queue (an operator's decision, for example after
    "delivery unknown")."""
    if outbound.status != OutboundMail.Status.FAILED or not outbound.raw:
        return
    OutboundMail.objects.filter(pk=outbound.pk, status=OutboundMail.Status.FAILED).update(
        status=OutboundMail.Status.QUEUED,
        next_attempt_at=timezone.now(),
        attempts=0,
        last_error="",
    )
    _message_status(outbound, Message.DeliveryStatus.QUEUED)
    outbound_enqueue(outbound)


def outbound_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Re-queue due rows and settle rows a dead worker left in "sending" (see module doc)."""
    now = now or timezone.now()
    stale = list(
        OutboundMail.objects.filter(
            status=OutboundMail.Status.SENDING, sending_started_at__lt=now - SENDING_TIMEOUT
        )
    )
    for outbound in stale:
        updated = OutboundMail.objects.filter(
            pk=outbound.pk, status=OutboundMail.Status.SENDING
        ).update(status=OutboundMail.Status.FAILED, last_error=DELIVERY_UNKNOWN)
        if updated:
            _message_status(outbound, Message.DeliveryStatus.FAILED, error=DELIVERY_UNKNOWN)
    due = list(
        OutboundMail.objects.filter(
            status=OutboundMail.Status.QUEUED, next_attempt_at__lte=now
        ).values_list("shop_id", "id")
    )
    from madoguchi.connectors.mail.tasks import send_outbound_mail_task

    for shop_id, outbound_id in due:
        send_outbound_mail_task.enqueue(shop_id, outbound_id)
    return {"stale": len(stale), "requeued": len(due)}
