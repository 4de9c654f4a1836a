"""Recognise mail written by machines, from one table of rules (`RULES`).

Delivery reports (RFC 3464 DSNs from any MTA, plain-text bounces, Amazon SES notifications,
Japanese carriers' error notices), feedback reports (ARF complaints, DMARC forensic reports),
mailing-list managers' rejects and loop alerts, and RFC 3834 auto-replies. Every rule names the
published sample or specification it follows; `tests/test_machine_mail.py` has a test per rule.

Why a table of our own (docs/adr/0012-machine-mail-rules.md): of the Python libraries,
flufl.bounce (GNU Mailman, kept) only pulls failed addresses out of bounces it already knows to
be bounces, and recognises neither ARF, SES, the Japanese carriers nor auto-replies; flanker
(Mailgun) is unmaintained since 2019; the rest are one-provider webhook clients.

`recognise()` is cheap: headers and the MIME tree the parser built, and the body only for the
few rules that need it (SES JSON), read at most once. `bounce_report()` then reads what a report
says: who could not be reached, with which status, and the Message-ID of our mail it answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from enum import StrEnum
from functools import cached_property
from typing import Any

from madoguchi.connectors.mail.charsets import clean_line, decode_bytes, decode_header_value

Headers = Mapping[str, Sequence[str]]


class Kind(StrEnum):
    """What a machine mail is; every kind but `AUTO_REPLY` is a report about a mail we sent."""

    DELIVERY_FAILURE = "delivery_failure"
    COMPLAINT = "complaint"
    AUTH_FAILURE = "auth_failure"
    LIST_NOTICE = "list_notice"
    AUTO_REPLY = "auto_reply"


# Reports about a mail we sent: they never open a ticket (the pipeline's bounce path).
REPORT_KINDS = frozenset(
    {Kind.DELIVERY_FAILURE, Kind.COMPLAINT, Kind.AUTH_FAILURE, Kind.LIST_NOTICE}
)

_DAEMON_LOCAL_PARTS = re.compile(
    r"^(?:mailer-daemon|mailer_daemon|mail-daemon|maildaemon|mail\.daemon|postmaster)$",
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
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[- _]?(?:reply|response)|autoreply|out of (?:the )?office|"
    r"自動応答|自動返信|自动回复|不在通知)\s*[:：]",
    re.IGNORECASE,
)
_PRECEDENCE_AUTOMATED = frozenset({"bulk", "list", "junk", "auto_reply", "auto-reply"})
_SUPPRESS_AUTOMATED = frozenset({"all", "oof", "autoreply", "dr", "ndr"})
_KDDI_DOMAINS = re.compile(
    r"(?:^|\.)(?:ezweb\.ne\.jp|au\.com|kddi\.com|dion\.ne\.jp|auone-net\.jp)$"
)
_KDDI_SUBJECTS = re.compile(r"Mail System Error - Returned Mail|メールエラー通知", re.IGNORECASE)
_DOCOMO_DOMAINS = re.compile(r"(?:^|\.)(?:docomo\.ne\.jp|mopera\.net|spmode\.ne\.jp)$")
_SOFTBANK_DOMAINS = re.compile(
    r"(?:^|\.)(?:softbank\.ne\.jp|i\.softbank\.jp|vodafone\.ne\.jp|disney\.ne\.jp)$"
)
_CARRIER_NOTICE_LOCAL_PARTS = re.compile(
    r"^(?:mailer-daemon|postmaster|no-?reply|error|mail-?error|mailadmin)$", re.IGNORECASE
)
# fml (Japanese list manager) notice titles, as Sisimai's Lhost::FML lists them.
_FML_SUBJECTS = re.compile(
    r"Ignored submission|NOT MEMBER article from|reject(?:ed)? mail|"
    r"Spam mail from a spammer is rejected|fml system error message|Loop Alert|"
    r"Loop Back Warning|UNIX FROM Loop|Security Alert",
    re.IGNORECASE,
)
_JSON_LIMIT = 1_000_000


_ADDRESS = re.compile(r"([^\s<>\"(),:;@]+)@([A-Za-z0-9.\-]+)")


def _decoded(value: str) -> str:
    # Most header values are plain ASCII without encoded words: only clean them.
    if value.isascii() and "=?" not in value:
        return clean_line(value)
    return decode_header_value(value).text


class Mail:
    """The parts of one parsed mail that rules look at, each computed once."""

    def __init__(self, message: Message, headers: Headers, subject: str) -> None:
        self.message = message
        self.headers = headers
        self.subject = subject
        self._values: dict[str, list[str]] = {}

    def values(self, name: str) -> list[str]:
        """Return the decoded single-line values of header `name` (lower-case)."""
        found = self._values.get(name)
        if found is None:
            raw = self.headers.get(name, ())
            found = [_decoded(value) for value in raw] if raw else []
            self._values[name] = found
        return found

    def first(self, name: str) -> str:
        values = self.values(name)
        return values[0].strip() if values else ""

    @cached_property
    def from_local_part(self) -> str:
        return self._from_parts[0]

    @cached_property
    def from_domain(self) -> str:
        return self._from_parts[1]

    @cached_property
    def _from_parts(self) -> tuple[str, str]:
        # The address is ASCII even when the name is encoded: read it from the raw value.
        raw = self.headers.get("from", ())
        match = _ADDRESS.search(raw[0]) if raw else None
        if match:
            return match.group(1).lower(), match.group(2).lower().rstrip(".")
        value = self.first("from")
        # A bare "MAILER-DAEMON" or "MAILER-DAEMON (Mail Delivery System)", without a domain.
        bare = re.sub(r"\([^)]*\)|\"[^\"]*\"", " ", value).strip().strip("<>").strip()
        return (bare.lower(), "") if re.fullmatch(r"[A-Za-z0-9._-]+", bare) else ("", "")

    @cached_property
    def report_type(self) -> str:
        if self.message.get_content_type() != "multipart/report":
            return ""
        return str(self.message.get_param("report-type", "")).strip().lower()

    @cached_property
    def feedback_type(self) -> str:
        for part in self.message.walk():
            if part.get_content_type() == "message/feedback-report":
                return _block_field(part, "feedback-type").lower()
        return ""

    @cached_property
    def json_body(self) -> dict[str, Any] | None:
        """Return the body as a JSON object when it is one (SNS delivers SES events so)."""
        part = self.message
        if part.is_multipart():
            return None
        if part.get_content_type() not in ("text/plain", "application/json"):
            return None
        # SNS writes ASCII JSON: most mail stops at its first character, before any decoding.
        encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
        if encoding in ("", "7bit", "8bit", "binary"):
            raw = part.get_payload()
            if not isinstance(raw, str) or raw.lstrip()[:1] != "{":
                return None
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or len(payload) > _JSON_LIMIT:
            return None
        if payload.lstrip()[:1] != b"{":
            return None
        text = decode_bytes(payload, part.get_content_charset()).text.strip()
        if not text.startswith("{"):
            return None
        try:
            found = json.loads(text)
        except ValueError:
            return None
        return found if isinstance(found, dict) else None

    @cached_property
    def ses_notification(self) -> dict[str, Any] | None:
        """Return an Amazon SES notification: the body, or the `Message` an SNS envelope holds."""
        found = self.json_body
        if found is not None and isinstance(found.get("Message"), str):
            try:
                found = json.loads(found["Message"])
            except ValueError:
                return None
        if not isinstance(found, dict):
            return None
        if not isinstance(found.get("mail"), dict):
            return None
        return found

    @cached_property
    def ses_type(self) -> str:
        # SNS mails its notifications from amazonaws.com; only those (or a JSON part) are read.
        sender = self.from_domain
        if not (
            sender == "amazonaws.com"
            or sender.endswith(".amazonaws.com")
            or self.message.get_content_type() == "application/json"
        ):
            return ""
        notification = self.ses_notification or {}
        return str(notification.get("notificationType") or notification.get("eventType") or "")


def _block_field(part: Message, name: str) -> str:
    """Return field `name` of a message/feedback-report or similar one-block part."""
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    for block in blocks:
        if isinstance(block, Message) and block.get(name) is not None:
            return clean_line(str(block.get(name)))
    if isinstance(payload, str):
        match = re.search(rf"(?im)^{re.escape(name)}:[ \t]*(.+)$", payload)
        if match:
            return clean_line(match.group(1))
    return ""


def _auto_submitted(mail: Mail) -> bool:
    for value in mail.values("auto-submitted"):
        # "auto-replied; owner-email=..." or "no (comment)": the keyword is the first token.
        match = re.match(r"\s*([A-Za-z0-9-]+)", value)
        keyword = match.group(1).lower() if match else value.strip()[:40].lower()
        if keyword and keyword != "no":
            return True
    return False


def _precedence(mail: Mail) -> bool:
    return any(
        value.strip().lower() in _PRECEDENCE_AUTOMATED
        for name in ("precedence", "x-precedence")
        for value in mail.values(name)
    )


def _auto_response_suppress(mail: Mail) -> bool:
    for value in mail.values("x-auto-response-suppress"):
        tokens = {token.strip().lower() for token in re.split(r"[,;\s]+", value) if token}
        if tokens & _SUPPRESS_AUTOMATED:
            return True
    return False


def _has(*names: str) -> Callable[[Mail], bool]:
    return lambda mail: any(mail.headers.get(name) for name in names)


def _header_is(name: str, pattern: str) -> Callable[[Mail], bool]:
    compiled = re.compile(pattern, re.IGNORECASE)
    return lambda mail: any(compiled.search(value) for value in mail.values(name))


def _any_of(*checks: Callable[[Mail], bool]) -> Callable[[Mail], bool]:
    return lambda mail: any(check(mail) for check in checks)


def _null_return_path(mail: Mail) -> bool:
    return any(re.fullmatch(r"<\s*>|", value.strip()) for value in mail.values("return-path"))


def _is_daemon_sender(mail: Mail) -> bool:
    return bool(_DAEMON_LOCAL_PARTS.match(mail.from_local_part))


def _carrier_notice(
    domains: re.Pattern[str], subjects: re.Pattern[str] | None = None
) -> Callable[[Mail], bool]:
    def matches(mail: Mail) -> bool:
        if not domains.search(mail.from_domain):
            return False
        if subjects is not None and subjects.search(mail.subject):
            return True
        return bool(
            _CARRIER_NOTICE_LOCAL_PARTS.match(mail.from_local_part)
            and (_BOUNCE_SUBJECTS.search(mail.subject) or _machine_sign(mail))
        )

    return matches


def _machine_sign(mail: Mail) -> bool:
    """Return True when headers say a machine sent the mail (RFC 3834 or a null Return-Path)."""
    return (
        _auto_submitted(mail)
        or _null_return_path(mail)
        or _precedence(mail)
        or mail.message.get_content_type() == "multipart/report"
    )


def _bounce_subject_with_machine_sign(mail: Mail) -> bool:
    # A customer may write 「送信できませんでした」 in a subject: require a machine sign too.
    return bool(_BOUNCE_SUBJECTS.search(mail.subject)) and _machine_sign(mail)


def _fml_notice(mail: Mail) -> bool:
    has_fml = bool(mail.headers.get("x-mlserver") or mail.headers.get("x-ml-server"))
    return has_fml and bool(_FML_SUBJECTS.search(mail.subject))


@dataclass(frozen=True)
class Rule:
    """One way to recognise machine mail; `source` names the sample or text it follows."""

    name: str
    kind: Kind
    source: str
    matches: Callable[[Mail], bool] = field(repr=False)


RULES: tuple[Rule, ...] = (
    # --- reports about a mail we sent ---------------------------------------------------------
    Rule(
        "rfc3464-delivery-status",
        Kind.DELIVERY_FAILURE,
        "RFC 3464 appendix examples; jpmobile bounced-jp.eml (Postfix)",
        lambda mail: mail.report_type == "delivery-status",
    ),
    Rule(
        "dmarc-forensic-report",
        Kind.AUTH_FAILURE,
        "RFC 6591 appendix B (authentication failure report); RFC 7489 section 7.3",
        lambda mail: mail.report_type == "feedback-report" and mail.feedback_type == "auth-failure",
    ),
    Rule(
        "arf-feedback-report",
        Kind.COMPLAINT,
        "RFC 5965 appendix B (abuse report)",
        lambda mail: mail.report_type == "feedback-report",
    ),
    Rule(
        "ses-bounce",
        Kind.DELIVERY_FAILURE,
        "Amazon SES developer guide, 'Amazon SNS notification examples' (bounce)",
        lambda mail: mail.ses_type == "Bounce",
    ),
    Rule(
        "ses-complaint",
        Kind.COMPLAINT,
        "Amazon SES developer guide, 'Amazon SNS notification examples' (complaint)",
        lambda mail: mail.ses_type == "Complaint",
    ),
    Rule(
        "carrier-kddi",
        Kind.DELIVERY_FAILURE,
        "au by KDDI error notice (Sisimai Lhost::KDDI and Lhost::EZweb, BSD-2-Clause)",
        _carrier_notice(_KDDI_DOMAINS, _KDDI_SUBJECTS),
    ),
    Rule(
        "carrier-docomo",
        Kind.DELIVERY_FAILURE,
        "NTT docomo error notice (Sisimai Rhost::NTTDOCOMO samples, BSD-2-Clause)",
        _carrier_notice(_DOCOMO_DOMAINS),
    ),
    Rule(
        "carrier-softbank",
        Kind.DELIVERY_FAILURE,
        "SoftBank error notice (Sisimai set-of-emails, BSD-2-Clause)",
        _carrier_notice(_SOFTBANK_DOMAINS),
    ),
    Rule(
        "fml-notice",
        Kind.LIST_NOTICE,
        "fml reject and loop alert titles (Sisimai Lhost::FML, BSD-2-Clause)",
        _fml_notice,
    ),
    Rule(
        "mailman-administrivia",
        Kind.LIST_NOTICE,
        "GNU Mailman rejects and holds carry X-List-Administrivia: yes (Mailman 2.1 and 3)",
        _header_is("x-list-administrivia", r"^\s*yes\b"),
    ),
    Rule(
        "daemon-sender",
        Kind.DELIVERY_FAILURE,
        "Exim 'Mail delivery failed' and Sendmail bounces from MAILER-DAEMON, with or without "
        "a domain (RFC 5321 section 4.5.5 null sender; Exim spec, chapter 'Bounce messages')",
        _is_daemon_sender,
    ),
    Rule(
        "bounce-subject-with-machine-sign",
        Kind.DELIVERY_FAILURE,
        "Japanese ISP bounces without a report part (jpmobile; Sisimai lhost samples)",
        _bounce_subject_with_machine_sign,
    ),
    # --- RFC 3834 auto-replies, list and bulk mail --------------------------------------------
    Rule("auto-submitted", Kind.AUTO_REPLY, "RFC 3834 section 5", _auto_submitted),
    Rule(
        "precedence",
        Kind.AUTO_REPLY,
        "RFC 3834 section 3.1.8; RFC 2076 (Precedence bulk/junk/list)",
        _precedence,
    ),
    Rule(
        "x-auto-response-suppress",
        Kind.AUTO_REPLY,
        "Microsoft [MS-OXCMAIL] 2.2.3.2.14 (X-Auto-Response-Suppress)",
        _auto_response_suppress,
    ),
    Rule(
        "x-autoreply",
        Kind.AUTO_REPLY,
        "vendor auto-responder headers (Zammad auto_response_check, Request Tracker)",
        _has(
            "x-autoreply",
            "x-autorespond",
            "x-autoresponder",
            "x-autoreply-from",
            "x-mail-autoreply",
        ),
    ),
    Rule(
        "x-ms-exchange-auto-reply",
        Kind.AUTO_REPLY,
        "Exchange inbox-rule and OOF replies (X-MS-Exchange-Inbox-Rules-Loop, "
        "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent)",
        lambda mail: (
            bool(mail.headers.get("x-ms-exchange-inbox-rules-loop"))
            or any(
                "rules agent" in value.lower()
                for value in mail.values("x-ms-exchange-generated-message-source")
            )
        ),
    ),
    Rule(
        "x-autogenerated",
        Kind.AUTO_REPLY,
        "X-Autogenerated: Reply / X-POST-MessageClass: Autoresponder / Delivered-To: "
        "Autoresponder (Zammad auto_response_check)",
        _any_of(
            _header_is("x-autogenerated", r"reply"),
            _header_is("x-post-messageclass", r"autoresponder"),
            _header_is("delivered-to", r"^\s*autoresponder\s*$"),
        ),
    ),
    Rule("x-loop", Kind.AUTO_REPLY, "X-Loop (procmail, Request Tracker, fml)", _has("x-loop")),
    Rule(
        "list-headers",
        Kind.AUTO_REPLY,
        "RFC 2369 and RFC 2919 list headers (List-Id, List-Unsubscribe)",
        _has("list-id", "list-unsubscribe"),
    ),
    Rule(
        "null-return-path",
        Kind.AUTO_REPLY,
        "RFC 3834 section 3.1.1 (null sender)",
        _null_return_path,
    ),
    Rule(
        "auto-reply-subject",
        Kind.AUTO_REPLY,
        "'Auto reply:' / 'Automatic reply:' / 自動返信: subjects of auto-responders that set no "
        "header (Exchange OOF, QQ Mail, Japanese hosting auto-responders)",
        lambda mail: bool(_AUTO_REPLY_SUBJECT.search(mail.subject)),
    ),
)


@dataclass(frozen=True)
class Recognition:
    """The rules one mail matched, in table order."""

    rules: tuple[Rule, ...]

    @property
    def report_rule(self) -> Rule | None:
        return next((rule for rule in self.rules if rule.kind in REPORT_KINDS), None)

    @property
    def kind(self) -> Kind | None:
        """Return the kind of the first matching report rule, else AUTO_REPLY, else None."""
        report = self.report_rule
        if report is not None:
            return report.kind
        return Kind.AUTO_REPLY if self.rules else None

    @property
    def is_report(self) -> bool:
        return self.report_rule is not None

    @property
    def reasons(self) -> list[str]:
        return [rule.name for rule in self.rules]


def recognise(message: Message, headers: Headers, subject: str) -> Recognition:
    """Return every rule of `RULES` that the mail matches (none for a person's mail)."""
    mail = Mail(message, headers, subject)
    return Recognition(tuple(rule for rule in RULES if rule.matches(mail)))


# --- What a report says ----------------------------------------------------------------------


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
    """What a report says: who could not be reached and which of our messages it answers."""

    recipients: tuple[BounceRecipient, ...]
    original_message_id: str | None
    is_standard: bool
    kind: Kind = Kind.DELIVERY_FAILURE
    rule: str = ""

    @property
    def is_permanent(self) -> bool:
        return self.kind == Kind.DELIVERY_FAILURE and any(
            recipient.is_permanent for recipient in self.recipients
        )


_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_RECIPIENT_IN_TEXT = re.compile(r"<?([^\s<>\"()@,;:]+@[A-Za-z0-9.\-]+[A-Za-z0-9])>?")
_MESSAGE_ID_LINE = re.compile(r"(?im)^[ \t>]*message-id:[ \t]*<([^<>\s]+)>")
_DELAYED_TEXT = re.compile(
    r"delay|will (?:retry|be retried|continue)|temporar|not yet been delivered|遅延|再送",
    re.IGNORECASE,
)


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return clean_line(str(value)) if value is not None else ""


def _strip_address_type(value: str) -> str:
    """Return the address of "rfc822; user@example.org"."""
    _kind, separator, address = value.partition(";")
    return (address if separator else value).strip().strip("<>").strip()


def _clean_id(value: str) -> str:
    return "".join(value.split()).strip("<>") if value else ""


def _original_message_id(message: Message) -> str | None:
    """Return the Message-ID of the mail a report answers: the returned message or its headers
    (message/rfc822, text/rfc822-headers), else an Original-Message-ID field."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message) and inner.get("message-id"):
                found = _clean_id(str(inner.get("message-id")))
                if found:
                    return found
        elif content_type in ("text/rfc822-headers", "message/rfc822-headers"):
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                match = re.search(rb"(?im)^message-id:\s*<([^>\r\n]+)>", text)
                if match:
                    return match.group(1).decode("ascii", "replace")
    for part in message.walk():
        if part.get_content_type() in ("message/delivery-status", "message/feedback-report"):
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            for block in blocks:
                if isinstance(block, Message) and block.get("original-message-id"):
                    return _clean_id(str(block.get("original-message-id"))) or None
    if message.get("original-message-id"):
        return _clean_id(str(message.get("original-message-id"))) or None
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


def _feedback_recipients(message: Message) -> list[BounceRecipient]:
    """Return who complained: Original-Rcpt-To of the feedback report (RFC 5965 section 3.2)."""
    recipients: list[BounceRecipient] = []
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        for name in ("original-rcpt-to", "removal-recipient"):
            value = _block_field(part, name)
            if value:
                recipients.append(
                    BounceRecipient(
                        recipient=_strip_address_type(value).lower(),
                        action="complained",
                        status="",
                        diagnostic=_block_field(part, "feedback-type")[:500],
                    )
                )
                return recipients
    return recipients


def _ses_report(notification: Mapping[str, Any]) -> tuple[list[BounceRecipient], str | None]:
    """Return the recipients and our Message-ID of an SES bounce or complaint notification."""
    recipients: list[BounceRecipient] = []
    bounce = notification.get("bounce")
    complaint = notification.get("complaint")
    if isinstance(bounce, dict):
        is_permanent = str(bounce.get("bounceType", "")) == "Permanent"
        for entry in bounce.get("bouncedRecipients") or []:
            if not isinstance(entry, dict) or not entry.get("emailAddress"):
                continue
            status_match = _STATUS.search(str(entry.get("status") or ""))
            status = status_match.group(0) if status_match else ("5.0.0" if is_permanent else "")
            recipients.append(
                BounceRecipient(
                    recipient=_strip_address_type(str(entry["emailAddress"])).lower(),
                    action=str(entry.get("action") or ("failed" if is_permanent else "delayed")),
                    status=status,
                    diagnostic=clean_line(str(entry.get("diagnosticCode") or ""))[:500],
                )
            )
    elif isinstance(complaint, dict):
        for entry in complaint.get("complainedRecipients") or []:
            if isinstance(entry, dict) and entry.get("emailAddress"):
                recipients.append(
                    BounceRecipient(
                        recipient=_strip_address_type(str(entry["emailAddress"])).lower(),
                        action="complained",
                        status="",
                        diagnostic=clean_line(str(complaint.get("complaintFeedbackType") or "")),
                    )
                )
    mail = notification.get("mail")
    message_id = None
    if isinstance(mail, dict):
        common = mail.get("commonHeaders")
        if isinstance(common, dict) and common.get("messageId"):
            message_id = _clean_id(str(common["messageId"]))
        for header in mail.get("headers") or []:
            if (
                message_id is None
                and isinstance(header, dict)
                and str(header.get("name", "")).lower() == "message-id"
            ):
                message_id = _clean_id(str(header.get("value", "")))
    return recipients, message_id or None


def _text_recipients(body_text: str) -> list[BounceRecipient]:
    """Return the first failed address a plain-text bounce names, as bounce classifiers do."""
    status_match = _STATUS.search(body_text)
    action = "delayed" if _DELAYED_TEXT.search(body_text[:5000]) else "failed"
    for match in _RECIPIENT_IN_TEXT.finditer(body_text[:20_000]):
        address = match.group(1).lower()
        if _DAEMON_LOCAL_PARTS.match(address.split("@", 1)[0]):
            continue
        return [
            BounceRecipient(
                recipient=address,
                action=action,
                status=status_match.group(0) if status_match else "",
                diagnostic="",
            )
        ]
    return []


def bounce_report(
    message: Message, body_text: str, recognition: Recognition | None = None
) -> BounceReport:
    """Return the recipients and original Message-ID a report says.

    RFC 3464 and ARF reports are read field by field, SES notifications from their JSON; for
    non-standard bounces the first address and status code are taken from the text, and the
    original Message-ID from the returned headers quoted in it.
    """
    rule = recognition.report_rule if recognition is not None else None
    kind = rule.kind if rule is not None else Kind.DELIVERY_FAILURE
    original = _original_message_id(message)
    recipients = _report_recipients(message)
    is_standard = bool(recipients)
    if not recipients and kind in (Kind.COMPLAINT, Kind.AUTH_FAILURE):
        recipients = _feedback_recipients(message)
        is_standard = message.get_content_type() == "multipart/report"
    if not recipients and rule is not None and rule.name.startswith("ses-"):
        notification = Mail(message, {}, "").ses_notification or {}
        recipients, ses_original = _ses_report(notification)
        original = original or ses_original
        is_standard = True
    if not recipients and kind == Kind.DELIVERY_FAILURE:
        recipients = _text_recipients(body_text)
    if original is None and not is_standard:
        match = _MESSAGE_ID_LINE.search(body_text[:100_000])
        original = match.group(1) if match else None
    return BounceReport(
        recipients=tuple(recipients),
        original_message_id=original,
        is_standard=is_standard,
        kind=kind,
        rule=rule.name if rule is not None else "",
    )
