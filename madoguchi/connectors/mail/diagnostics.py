"""Try a shop's mail servers and say what went wrong in words a shop owner understands.

`mailbox_check` signs in to an IMAP mailbox (with the connection code the poller uses) and
counts its folders; `smtp_server_try` hands a test mail to an SMTP server. Both return a
`ConnectionCheck` instead of raising, since telling the error is their job. `explain_error`
and `explain_stored_error` turn an exception, or the `last_error` text stored from one, into
a translated sentence plus the server's own reply.
"""

from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import dataclass

from django.utils.translation import gettext, gettext_noop

from madoguchi.connectors.mail.imap import mailbox_connect
from madoguchi.connectors.mail.models import MailAddress, Mailbox, SmtpServer
from madoguchi.connectors.mail.sending import (
    DELIVERY_UNKNOWN,
    compose,
    error_text,
    make_message_id,
    smtp_send,
)

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 15.0  # seconds: a person waits for the answer

# By exception class name (the MRO is searched, so subclasses find their parent's words).
_WORDS = {
    "ConnectionRefusedError": gettext_noop(
        "The connection was refused: no mail server listens at this host and port. "
        "Check the host name and the port."
    ),
    "gaierror": gettext_noop("The host name was not found (DNS). Check the host name."),
    "TimeoutError": gettext_noop(
        "The server did not answer in time. Check the host name, the port and any firewall."
    ),
    "timeout": gettext_noop(
        "The server did not answer in time. Check the host name, the port and any firewall."
    ),
    "SSLCertVerificationError": gettext_noop(
        "The server's certificate could not be verified: check that the host name is the one "
        "its certificate names."
    ),
    "SSLError": gettext_noop(
        "The encrypted (TLS) connection failed. Check that the port and the encryption "
        "(SSL/TLS or STARTTLS) belong together."
    ),
    "SMTPAuthenticationError": gettext_noop(
        "The user name or the password was not accepted. Some providers need an app password."
    ),
    "LoginError": gettext_noop(
        "The user name or the password was not accepted. Some providers need an app password."
    ),
    "SMTPNotSupportedError": gettext_noop(
        "The server does not offer what the settings ask for (STARTTLS or a login). Check the "
        "encryption and the user name."
    ),
    "SMTPServerDisconnected": gettext_noop(
        "The server closed the connection. Check the port and the encryption."
    ),
    "SMTPConnectError": gettext_noop("The server refused to talk to us."),
    "SMTPHeloError": gettext_noop("The server refused to talk to us."),
    "SMTPSenderRefused": gettext_noop(
        "The server refused the sender address: check that this server may send as it."
    ),
    "SMTPRecipientsRefused": gettext_noop("The server refused the recipient address."),
    "SMTPDataError": gettext_noop("The server refused the mail itself."),
    "SMTPResponseException": gettext_noop("The server answered with an error."),
    "IMAPClientAbortError": gettext_noop("The server closed the connection."),
    "abort": gettext_noop("The server closed the connection."),
    "IMAPClientError": gettext_noop("The IMAP server answered with an error."),
    "error": gettext_noop("The IMAP server answered with an error."),
    "ConnectionResetError": gettext_noop("The server closed the connection."),
    "OSError": gettext_noop("The server could not be reached."),
}
_FALLBACK = gettext_noop("The mail server could not be used.")

# Sentences the outbox stores as they are (sending.py), translated when shown.
_STORED_SENTENCES = frozenset(
    {
        gettext_noop("The shop has no verified sender address."),
        gettext_noop("The customer has no usable email address."),
        gettext_noop("Earlier mail to this address bounced permanently."),
        DELIVERY_UNKNOWN,  # translated in the app catalog too
    }
)
_STORED = re.compile(r"^(?P<kind>[A-Za-z_][A-Za-z0-9_]*): (?P<detail>.*)$", re.DOTALL)
_REPLY = re.compile(r"\((?P<code>\d{3}), b?(?P<quote>['\"])(?P<text>.*?)(?P=quote)\)")


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of trying a server: translated words and the server's own reply."""

    is_ok: bool
    summary: str
    detail: str = ""
    error: str = ""  # "<ExceptionName>: <message>", as `last_error` columns store it


@dataclass(frozen=True)
class Explanation:
    summary: str
    detail: str


def _server_reply(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = [
            f"{address}: {code} {_text(message)}"
            for address, (code, message) in error.recipients.items()
        ]
        return "; ".join(replies)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def explain_error(error: BaseException) -> Explanation:
    """Return what went wrong, in words, and the server's reply (or the system's message)."""
    for kind in type(error).__mro__:
        words = _WORDS.get(kind.__name__)
        if words is not None:
            return Explanation(gettext(words), _server_reply(error))
    return Explanation(gettext(_FALLBACK), _server_reply(error))


def explain_stored_error(text: str) -> Explanation:
    """Return the words for a `last_error` stored as "<ExceptionName>: <message>" (or a
    sentence of ours); anything else is shown as it is."""
    if not text:
        return Explanation("", "")
    if text in _STORED_SENTENCES:
        return Explanation(gettext(text), "")
    match = _STORED.match(text)
    if match is None or match["kind"] not in _WORDS:
        return Explanation(text, "")
    detail = match["detail"]
    replies = [f"{reply['code']} {reply['text']}" for reply in _REPLY.finditer(detail)]
    return Explanation(gettext(_WORDS[match["kind"]]), "; ".join(replies) or detail)


def _failed(error: BaseException) -> ConnectionCheck:
    explanation = explain_error(error)
    return ConnectionCheck(
        is_ok=False,
        summary=explanation.summary,
        detail=explanation.detail,
        error=error_text(error),
    )


def mailbox_check(mailbox: Mailbox) -> ConnectionCheck:
    """Sign in to the mailbox, count its folders and the mails of the folder we read."""
    try:
        client = mailbox_connect(mailbox, timeout=CHECK_TIMEOUT)
    except Exception as error:  # every failure is the answer here
        return _failed(error)
    try:
        names = [str(name) for _flags, _delimiter, name in client.list_folders()]
        wanted = {mailbox.folder: True, mailbox.processed_folder: bool(mailbox.processed_folder)}
        for folder, is_needed in wanted.items():
            if is_needed and not _has_folder(names, folder):
                return ConnectionCheck(
                    is_ok=False,
                    summary=gettext(
                        "Signed in, but the folder “%(folder)s” does not exist. "
                        "The account has these folders: %(folders)s"
                    )
                    % {"folder": folder, "folders": ", ".join(sorted(names))},
                    error=f"Folder not found: {folder}",
                )
        count = int(client.select_folder(mailbox.folder, readonly=True)[b"EXISTS"])
    except Exception as error:  # the server may drop us at any step
        return _failed(error)
    finally:
        try:
            client.logout()
        except Exception:  # already gone
            logger.debug("IMAP logout after a check failed", exc_info=True)
    return ConnectionCheck(
        is_ok=True,
        summary=gettext(
            "Signed in. The account has %(folders)d folder(s); “%(folder)s” holds %(count)d "
            "mail(s)."
        )
        % {"folders": len(names), "folder": mailbox.folder, "count": count},
    )


def _has_folder(names: list[str], folder: str) -> bool:
    if folder.upper() == "INBOX":  # RFC 3501: INBOX is case-insensitive
        return any(name.upper() == "INBOX" for name in names)
    return folder in names


def smtp_server_try(
    *, server: SmtpServer, sender: MailAddress, to_address: str, subject: str, body_text: str
) -> ConnectionCheck:
    """Hand one test mail to the server; say whether it took it and what it answered."""
    raw = compose(
        sender=sender,
        to_address=to_address,
        subject=subject,
        body_text=body_text,
        message_id=make_message_id(),
    )
    try:
        response = smtp_send(
            from_address=sender.address, to_address=to_address, raw=raw, server=server
        )
    except (smtplib.SMTPException, OSError) as error:
        return _failed(error)
    return ConnectionCheck(
        is_ok=True,
        summary=gettext("The server accepted the test mail for %(address)s.")
        % {"address": to_address},
        detail=response,
    )
