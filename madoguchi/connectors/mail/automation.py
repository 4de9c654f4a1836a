"""Recognise mail written by machines: auto-replies, list mail and bounces (DSNs and Japanese ones).

Detection is the union of what peers check (reference/security.md §2.1, japan-ec.md §2.4), with
`Auto-Submitted: no` honoured as human, as RFC 3834 says.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import Message

from madoguchi.connectors.mail.charsets import clean_line, decode_header_value, raw_header_text

Headers = Mapping[str, Sequence[str]]

_PRECEDENCE_AUTOMATED = frozenset({"bulk", "list", "junk", "auto_reply", "auto-reply"})
_SUPPRESS_AUTOMATED = frozenset({"all", "oof", "autoreply", "dr", "ndr"})
_DAEMON_LOCAL_PARTS = re.compile(
    r"^(?:mailer-daemon|mailer_daemon|mail-daemon|maildaemon|postmaster|mail\.daemon)$",
    re.IGNORECASE,
)
# Subjects of bounces from MTAs that do not send RFC 3464 reports (many Japanese ones).
_BOUNCE_SUBJECTS = re.compile(
    r"undeliver(?:ed|able)|returned mail|delivery (?:status notification \(failure|failure|"
    r"has failed|failed)|mail delivery (?:failed|failure|subsystem)|failure notice|"
    r"non[- ]?delivery|could not be delivered|delivery notification: delivery has failed|"
    r"送信できませんでした|配信不能|配送不能|配信できません|配送できません|配信エラー|"
    r"不達|宛先不明|エラーメール|届きませんでした|送信エラー|配信に失敗|配送に失敗",
    re.IGNORECASE,
)


def header_values(headers: Headers, name: str) -> list[str]:
    """Return the decoded single-line values of header `name` (lower-case key)."""
    return [decode_header_value(value).text for value in headers.get(name, ())]


def first_header(headers: Headers, name: str) -> str:
    values = header_values(headers, name)
    return values[0] if values else ""


def automation_reasons(headers: Headers) -> list[str]:
    """Return why the mail looks machine-written (empty for mail from a person)."""
    reasons: list[str] = []
    for value in header_values(headers, "auto-submitted"):
        # "auto-replied; owner-email=..." or "no (comment)": the keyword is the first token.
        match = re.match(r"\s*([A-Za-z0-9-]+)", value)
        keyword = match.group(1).lower() if match else value.strip()[:40].lower()
        if keyword and keyword != "no":
            reasons.append(f"Auto-Submitted: {keyword[:40]}")
    for name in ("precedence", "x-precedence"):
        for value in header_values(headers, name):
            if value.strip().lower() in _PRECEDENCE_AUTOMATED:
                reasons.append(f"{name}: {value.strip().lower()}")
    for value in header_values(headers, "x-auto-response-suppress"):
        tokens = {token.strip().lower() for token in re.split(r"[,;\s]+", value) if token}
        if tokens & _SUPPRESS_AUTOMATED:
            reasons.append(f"X-Auto-Response-Suppress: {value[:40]}")
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder", "x-loop", "list-id",
                 "list-unsubscribe"):  # fmt: skip
        if headers.get(name):
            reasons.append(name)
    for value in header_values(headers, "return-path"):
        if re.fullmatch(r"<\s*>|", value.strip()):
            reasons.append("null Return-Path")
    return reasons


def is_auto_submitted(headers: Headers) -> bool:
    """Return True for auto-replies, list and bulk mail: no acknowledgement may answer them."""
    return bool(automation_reasons(headers))


@dataclass(frozen=True)
class BounceRecipient:
    """One per-recipient block of a delivery report."""

    recipient: str
    action: str
    status: str
    diagnostic: str

    @property
    def is_permanent(self) -> bool:
        """Return True for a permanent failure (5.x.x, or a failed action without status)."""
        if self.status:
            return self.status.startswith("5")
        return self.action == "failed"


@dataclass(frozen=True)
class BounceReport:
    """What a bounce says: who could not be reached and which of our messages it answers."""

    recipients: tuple[BounceRecipient, ...]
    original_message_id: str | None
    is_standard: bool

    @property
    def is_permanent(self) -> bool:
        return any(recipient.is_permanent for recipient in self.recipients)


def _is_delivery_report(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type", "")).lower() == "delivery-status"
    )


def _from_is_daemon(headers: Headers) -> bool:
    value = raw_header_text(headers.get("from", [""])[0] if headers.get("from") else "").text
    match = re.search(r"([^\s<>\"(),:;]+)@", value)
    return bool(match and _DAEMON_LOCAL_PARTS.match(match.group(1)))


def looks_like_bounce(message: Message, headers: Headers, subject: str) -> bool:
    """Return True for an RFC 3464 report or a non-standard bounce from a mail system."""
    if _is_delivery_report(message):
        return True
    if _from_is_daemon(headers):
        return True
    if _BOUNCE_SUBJECTS.search(subject):
        # A customer may write 「送信できませんでした」 in a subject: require a machine sign too.
        return is_auto_submitted(headers) or message.get_content_type() == "multipart/report"
    return False


_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_RECIPIENT_IN_TEXT = re.compile(r"<?([^\s<>\"()@,;:]+@[A-Za-z0-9.\-]+[A-Za-z0-9])>?")


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return clean_line(str(value)) if value is not None else ""


def _strip_address_type(value: str) -> str:
    """Return the address of "rfc822; user@example.org"."""
    _kind, separator, address = value.partition(";")
    return (address if separator else value).strip().strip("<>").strip()


def _original_message_id(message: Message) -> str | None:
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                message_id = inner.get("message-id")
                if message_id:
                    return str(message_id).strip().strip("<>").strip() or None
        elif content_type == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                match = re.search(rb"(?im)^message-id:\s*<([^>\r\n]+)>", text)
                if match:
                    return match.group(1).decode("ascii", "replace")
    return None


def _report_recipients(message: Message) -> list[BounceRecipient]:
    recipients: list[BounceRecipient] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks:
            if not isinstance(block, Message):
                continue
            final = _field(block, "final-recipient") or _field(block, "original-recipient")
            if not final:
                continue
            status_match = _STATUS.search(_field(block, "status"))
            recipients.append(
                BounceRecipient(
                    recipient=_strip_address_type(final).lower(),
                    action=_field(block, "action").lower(),
                    status=status_match.group(0) if status_match else "",
                    diagnostic=_field(block, "diagnostic-code")[:500],
                )
            )
    return recipients


def bounce_report(message: Message, body_text: str) -> BounceReport:
    """Return the recipients and original Message-ID a bounce reports.

    RFC 3464 reports are read field by field; for non-standard bounces the recipients and
    status codes are taken from the human-readable text, as bounce classifiers do.
    """
    recipients = _report_recipients(message)
    is_standard = bool(recipients)
    if not recipients:
        status_match = _STATUS.search(body_text)
        seen: set[str] = set()
        for match in _RECIPIENT_IN_TEXT.finditer(body_text[:20_000]):
            address = match.group(1).lower()
            local = address.split("@", 1)[0]
            if address in seen or _DAEMON_LOCAL_PARTS.match(local):
                continue
            seen.add(address)
            recipients.append(
                BounceRecipient(
                    recipient=address,
                    action="failed",
                    status=status_match.group(0) if status_match else "",
                    diagnostic="",
                )
            )
            break
    return BounceReport(
        recipients=tuple(recipients),
        original_message_id=_original_message_id(message),
        is_standard=is_standard,
    )
