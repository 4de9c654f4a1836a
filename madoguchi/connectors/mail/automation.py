"""The parser's verdicts on machine mail: automated (never acknowledged) and bounce (a report
about a mail we sent, never a new ticket).

Both come from the one table of rules in `machine_mail.RULES`; `Auto-Submitted: no` is honoured
as human, as RFC 3834 says.
"""

from email.message import Message

from madoguchi.connectors.mail.machine_mail import (
    BounceRecipient,
    BounceReport,
    Headers,
    recognise,
)
from madoguchi.connectors.mail.machine_mail import bounce_report as _bounce_report

__all__ = [
    "BounceRecipient",
    "BounceReport",
    "automation_reasons",
    "bounce_report",
    "is_auto_submitted",
    "looks_like_bounce",
    "machine_verdict",
]


def automation_reasons(
    headers: Headers, message: Message | None = None, subject: str = ""
) -> list[str]:
    """Return the names of the rules that make the mail look machine-written (empty for a
    person's mail)."""
    return recognise(message if message is not None else Message(), headers, subject).reasons


def is_auto_submitted(headers: Headers, message: Message | None = None, subject: str = "") -> bool:
    """Return True for auto-replies, reports, list and bulk mail: no acknowledgement may answer
    them."""
    return bool(automation_reasons(headers, message, subject))


def machine_verdict(
    message: Message, headers: Headers, subject: str, *, has_tree: bool = True
) -> tuple[list[str], bool]:
    """Return why the mail looks machine-written and whether it is a report (a bounce), from
    one pass over the rules. Without its MIME tree (`has_tree` False) no mail is a report."""
    recognition = recognise(message, headers, subject)
    return recognition.reasons, has_tree and recognition.is_report


def looks_like_bounce(message: Message, headers: Headers, subject: str) -> bool:
    """Return True for a report about a mail we sent (a DSN, ARF, SES, carrier or list notice)."""
    return recognise(message, headers, subject).is_report


def bounce_report(message: Message, body_text: str) -> BounceReport:
    """Return the recipients, kind and original Message-ID that a report says."""
    return _bounce_report(
        message, body_text, recognise(message, _headers_of(message), _subject(message))
    )


def _headers_of(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), []).append(str(value))
    return headers


def _subject(message: Message) -> str:
    from madoguchi.connectors.mail.charsets import decode_header_value

    value = message.get("subject")
    return decode_header_value(str(value)).text if value is not None else ""
