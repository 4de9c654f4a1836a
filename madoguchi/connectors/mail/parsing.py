"""Parse one raw mail into a `ParsedMail` that never fails: problems become defects.

`parse_mail(raw)` is the single entry point; `ParsedMail.to_json()` is the JSON object that
`madoguchi mail parse` prints (DESIGN.md, "Contracts"). Defect kinds:

- `header_charset`: raw 8-bit or badly encoded header bytes
- `address`: an address that was rejected as ambiguous or invalid; `missing_from`
- `date`, `message_id`: unusable values
- `body_charset`, `transfer_encoding`, `mime_structure`: body and MIME problems
- `too_many_parts`, `nesting_too_deep`, `message_too_large`, `html_too_complex`: limits applied
- `attachment_name`, `attachment_type`, `attachment_too_large`: attachment findings
- `parser_error`: an unexpected error; the best-effort object is still returned
"""

import binascii
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any

from madoguchi.connectors.mail.addresses import Mailbox, parse_address_list
from madoguchi.connectors.mail.attachments import (
    MAX_ATTACHMENT_SIZE,
    Parameters,
    effective_content_type,
    parse_parameters,
    safe_display_name,
)
from madoguchi.connectors.mail.automation import (
    BounceReport,
    bounce_report,
    machine_verdict,
)
from madoguchi.connectors.mail.bodies import (
    html_complexity_problem,
    html_to_text,
    html_to_text_quickly,
)
from madoguchi.connectors.mail.charsets import (
    clean_line,
    decode_base64,
    decode_bytes,
    decode_header_value,
    raw_header_text,
    sniff_decode,
)
from madoguchi.conversations.sanitize import sanitize_html

MAX_MESSAGE_SIZE = 50 * 1024 * 1024
MAX_PARTS = 500
MAX_DEPTH = 30
# More multipart headers than this and the MIME tree is not built at all: CPython's parser
# recurses per level and slows down quadratically with the number of open boundaries.
MAX_MULTIPART_HEADERS = 200
MAX_DEFECTS = 100
MAX_REFERENCES = 100
MAX_BODY_LENGTH = 5_000_000
MAX_HEADER_LENGTH = 2000

# compat32 builds the same MIME tree as policy.default without header objects, which cost more
# than the rest of the parse; every header is read raw (`raw_items()`) and decoded here.
_PARSER = BytesParser(policy=policy.compat32)
_HEADERS_ONLY_PARSER = BytesParser(policy=policy.compat32)
_MULTIPART_HEADER = re.compile(rb"(?im)^content-type:[ \t]*(?:\r?\n[ \t]+)?(?:multipart|message)/")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class Defect:
    """One problem found while parsing: a stable `kind` and a human `detail`."""

    kind: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail}


@dataclass(frozen=True)
class ParsedAttachment:
    """An attachment or inline part; `content` (the decoded bytes) is not part of the JSON."""

    filename: str
    content_type: str
    size: int
    sha256: str
    content_id: str | None
    is_inline: bool
    content: bytes = field(default=b"", repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "content_id": self.content_id,
            "is_inline": self.is_inline,
        }


@dataclass(frozen=True)
class ParsedMail:
    """The contract of `madoguchi mail parse` (DESIGN.md), as a value."""

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    from_address: str | None
    from_name: str | None
    reply_to: tuple[str, ...]
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None
    body_text: str
    body_html: str | None
    attachments: tuple[ParsedAttachment, ...]
    auto_submitted: bool
    is_bounce: bool
    defects: tuple[Defect, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object of the contract (RFC 3339 date, lists, defect objects)."""
        return {
            "message_id": self.message_id,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "from_address": self.from_address,
            "from_name": self.from_name,
            "reply_to": list(self.reply_to),
            "to": list(self.to),
            "cc": list(self.cc),
            "subject": self.subject,
            "date": self.date.isoformat() if self.date else None,
            "body_text": self.body_text,
            "body_html": self.body_html,
            "attachments": [attachment.to_json() for attachment in self.attachments],
            "auto_submitted": self.auto_submitted,
            "is_bounce": self.is_bounce,
            "defects": [defect.to_json() for defect in self.defects],
        }


class _Defects:
    def __init__(self) -> None:
        self.items: list[Defect] = []
        self.seen: set[tuple[str, str]] = set()

    def add(self, kind: str, detail: str) -> None:
        detail = clean_line(detail)[:300]
        if (kind, detail) in self.seen:
            return
        self.seen.add((kind, detail))
        if len(self.items) < MAX_DEFECTS:
            self.items.append(Defect(kind, detail))

    def extend(self, kind: str, details: list[str], *, where: str = "") -> None:
        for detail in details:
            self.add(kind, f"{where}: {detail}" if where else detail)


_EMAIL_DEFECT_KINDS: dict[type[email_errors.MessageDefect], str] = {
    email_errors.InvalidBase64CharactersDefect: "transfer_encoding",
    email_errors.InvalidBase64PaddingDefect: "transfer_encoding",
    email_errors.InvalidBase64LengthDefect: "transfer_encoding",
}


def _headers_of(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), []).append(str(value))
    return headers


def _single(
    headers: dict[str, list[str]], name: str, defects: _Defects, hint: str | None = None
) -> str:
    values = headers.get(name)
    if not values:
        return ""
    decoded = decode_header_value(values[0], hint)
    defects.extend("header_charset", decoded.problems, where=name)
    return decoded.text[:MAX_HEADER_LENGTH]


def _mailboxes(
    headers: dict[str, list[str]], name: str, defects: _Defects, hint: str | None = None
) -> list[Mailbox]:
    mailboxes: list[Mailbox] = []
    for value in headers.get(name, []):
        text = raw_header_text(value, hint)
        defects.extend("header_charset", text.problems, where=name)
        parsed = parse_address_list(text.text)
        defects.extend("address", parsed.problems, where=name)
        mailboxes.extend(parsed.mailboxes)
    return mailboxes


def _addresses(
    headers: dict[str, list[str]], name: str, defects: _Defects, hint: str | None = None
) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for mailbox in _mailboxes(headers, name, defects, hint):
        seen.setdefault(mailbox.address, None)
    return tuple(seen)


def _message_ids(text: str) -> list[str]:
    found = _MESSAGE_ID.findall(text)
    if not found:
        bare = text.strip()
        if bare and " " not in bare and "@" in bare:
            found = [bare]
    return [identifier[:500] for identifier in found]


def _date(headers: dict[str, list[str]], defects: _Defects) -> datetime | None:
    value = _single(headers, "date", defects)
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.add("date", f"unparseable Date {value[:80]!r}")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not 1970 <= parsed.year <= 9999:
        defects.add("date", f"implausible Date {value[:80]!r}")
        return None
    return parsed


def _flowed(text: str, *, delete_space: bool) -> str:
    """Undo RFC 3676 format=flowed soft line breaks."""
    output: list[str] = []
    current: str | None = None
    current_depth = -1
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if current is not None and depth == current_depth:
            current += content
        else:
            if current is not None:
                output.append(">" * current_depth + (" " if current_depth else "") + current)
            current, current_depth = content, depth
        if content.endswith(" ") and content != "-- ":
            if delete_space:
                current = current[:-1]
            continue
        output.append(">" * current_depth + (" " if current_depth else "") + current)
        current, current_depth = None, -1
    if current is not None:
        output.append(">" * current_depth + (" " if current_depth else "") + current)
    return "\n".join(output)


@dataclass
class _Part:
    message: Message
    path: str
    headers: dict[str, str]  # lower-case name -> first raw value
    content_type: Parameters
    disposition: Parameters


@dataclass
class _State:
    defects: _Defects
    hint: str | None = None  # the charset the mail declares for its text, for raw 8-bit names
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    part_count: int = 0
    is_limited: bool = False


def _describe(message: Message, path: str, hint: str | None = None) -> _Part:
    # Raw values only: `message.get()` builds header objects, the slowest part of `email`.
    headers: dict[str, str] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), str(value))
    # The default is text/plain, or message/rfc822 inside a multipart/digest (RFC 2046 5.1.5).
    default_type = message.get_default_type()
    content_type = parse_parameters(headers.get("content-type") or default_type, hint=hint)
    disposition = parse_parameters(
        headers.get("content-disposition", ""),
        hint=content_type.params.get("charset") or hint,
    )
    return _Part(message, path, headers, content_type, disposition)


_UUENCODE = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})


def _payload_bytes(part: _Part, defects: _Defects) -> bytes:
    """Return the transfer-decoded bytes of a leaf part, leniently."""
    # `_payload` is read directly: `get_payload()` without decode re-decodes 8-bit text lossily.
    raw = getattr(part.message, "_payload", None)
    if not isinstance(raw, str | bytes):
        return b""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
    encoding = clean_line(raw_header_text(part.headers.get("content-transfer-encoding", "")).text)
    encoding = encoding.split("(", 1)[0].strip().lower()
    if encoding == "base64":
        decoded, problems = decode_base64(data)
        defects.extend("transfer_encoding", problems, where=part.path)
        return decoded
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    if encoding in _UUENCODE:
        try:
            payload = part.message.get_payload(decode=True)
        except Exception as error:  # uuencode is rare and the stdlib decoder strict
            defects.add("transfer_encoding", f"{part.path}: {type(error).__name__}")
            return data
        return payload if isinstance(payload, bytes) else data
    return data


def _text_of(part: _Part, defects: _Defects, hint: str | None = None) -> str:
    data = _payload_bytes(part, defects)
    charset = part.content_type.params.get("charset")
    if charset:
        decoded = decode_bytes(data[:MAX_BODY_LENGTH], charset)
    else:
        decoded = sniff_decode(data[:MAX_BODY_LENGTH], hint)
    defects.extend("body_charset", decoded.problems, where=part.path)
    text = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
        defects.add("body_charset", f"{part.path}: NUL characters removed")
    if part.content_type.value == "text/plain" and (
        part.content_type.params.get("format", "").lower() == "flowed"
    ):
        text = _flowed(text, delete_space=part.content_type.params.get("delsp", "") == "yes")
    return text


def _attachment_content(part: _Part) -> bytes:
    message = part.message
    if message.is_multipart() or part.content_type.value.startswith("message/"):
        payload = message.get_payload()
        blocks = payload if isinstance(payload, list) else [payload]
        pieces = []
        for block in blocks:
            if isinstance(block, Message):
                try:
                    pieces.append(block.as_bytes(policy=policy.compat32))
                except Exception:  # an unserialisable header: keep what we can
                    pieces.append(b"")
            elif isinstance(block, str):
                pieces.append(block.encode("utf-8", "surrogateescape"))
        return b"\n".join(pieces)
    return b""


_EXTENSIONS = {
    "message/rfc822": ".eml",
    "message/delivery-status": ".txt",
    "text/rfc822-headers": ".txt",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
}


def _add_attachment(part: _Part, state: _State) -> None:
    defects = state.defects
    if part.content_type.value.startswith("message/"):
        content = _attachment_content(part)
    else:
        content = _payload_bytes(part, defects)
    index = len(state.attachments) + 1
    declared = part.content_type.value or "application/octet-stream"
    if "/" not in declared:
        declared = "application/octet-stream"
    content_type, mismatch = effective_content_type(declared, content)
    if mismatch:
        defects.add("attachment_type", f"{part.path}: {mismatch}")
    defects.extend("header_charset", part.disposition.problems, where=part.path)
    defects.extend("header_charset", part.content_type.problems, where=part.path)
    filename = _attachment_name(part, content_type, index, state)
    size = len(content)
    if size > MAX_ATTACHMENT_SIZE:
        defects.add("attachment_too_large", f"{part.path}: {size} bytes > {MAX_ATTACHMENT_SIZE}")
    content_id_values = _message_ids(decode_header_value(part.headers.get("content-id", "")).text)
    content_id = content_id_values[0] if content_id_values else None
    disposition = part.disposition.value
    state.attachments.append(
        ParsedAttachment(
            filename=filename,
            content_type=content_type,
            size=size,
            sha256=hashlib.sha256(content).hexdigest(),
            content_id=content_id,
            is_inline=disposition == "inline" or (not disposition and content_id is not None),
            content=content if size <= MAX_ATTACHMENT_SIZE else b"",
        )
    )


def _attached_message_subject(part: _Part, state: _State) -> str:
    """Return the decoded Subject of a message/rfc822 part ("" when it has none)."""
    payload = part.message.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else payload
    if not isinstance(inner, Message):
        return ""
    values = [str(value) for name, value in inner.raw_items() if name.lower() == "subject"]
    if not values:
        return ""
    decoded = decode_header_value(values[0], state.hint)
    state.defects.extend("header_charset", decoded.problems, where=f"{part.path} subject")
    return decoded.text[:MAX_HEADER_LENGTH]


def _attachment_name(part: _Part, content_type: str, index: int, state: _State) -> str:
    """Return the display name of an attachment, from the first source that gives a usable one.

    Content-Disposition filename (RFC 2231 or RFC 2047 decoded), the Content-Type name, the
    Subject of an attached message plus ".eml", then a generic "attachment-N.ext".
    """
    candidates = [
        part.disposition.params.get("filename"),
        part.content_type.params.get("name"),
    ]
    if content_type == "message/rfc822" or part.content_type.value == "message/rfc822":
        subject = _attached_message_subject(part, state)
        candidates.append(f"{subject}.eml" if subject.strip() else None)
    fallback = f"attachment-{index}{_EXTENSIONS.get(content_type, '')}"
    for candidate in candidates:
        if not candidate or not candidate.strip():
            continue
        filename, name_problems = safe_display_name(candidate, fallback="")
        state.defects.extend("attachment_name", name_problems, where=part.path)
        if filename:
            return filename
    return fallback


def _is_body_text(part: _Part) -> bool:
    if part.content_type.value not in ("text/plain", "text/html", ""):
        return False
    if part.disposition.value == "attachment":
        return False
    has_name = bool(part.disposition.params.get("filename") or part.content_type.params.get("name"))
    return not has_name or (part.disposition.value == "inline" and "content-id" not in part.headers)


def _children(part: _Part) -> list[Message]:
    payload = part.message.get_payload()
    if isinstance(payload, list):
        return [child for child in payload if isinstance(child, Message)]
    return []


_REDUNDANT_ALTERNATIVES = frozenset(
    {"text/enriched", "text/richtext", "text/x-amp-html", "text/watch-html", "text/markdown"}
)


def _collect_email_defects(part: _Part, state: _State) -> None:
    for defect in getattr(part.message, "defects", []):
        kind = _EMAIL_DEFECT_KINDS.get(type(defect), "mime_structure")
        state.defects.add(kind, f"{part.path}: {type(defect).__name__}")


def _walk_leaf(part: _Part, state: _State) -> None:
    content_type = part.content_type.value
    if content_type.startswith("multipart/"):
        state.defects.add("mime_structure", f"{part.path}: multipart without parts")
        state.plain.append(_text_of(part, state.defects, state.hint))
    elif _is_body_text(part):
        text = _text_of(part, state.defects, state.hint)
        (state.html if content_type == "text/html" else state.plain).append(text)
    else:
        _add_attachment(part, state)


def _walk(part: _Part, depth: int, state: _State) -> None:
    """Collect body texts and attachments, bounded in depth and part count."""
    if state.part_count >= MAX_PARTS:
        if not state.is_limited:
            state.defects.add("too_many_parts", f"more than {MAX_PARTS} MIME parts; rest skipped")
            state.is_limited = True
        return
    state.part_count += 1
    content_type = part.content_type.value
    if not part.message.is_multipart():
        _walk_leaf(part, state)
        _collect_email_defects(part, state)
        return
    _collect_email_defects(part, state)
    if content_type.startswith("message/"):
        _add_attachment(part, state)
        return

    if depth >= MAX_DEPTH:
        state.defects.add("nesting_too_deep", f"{part.path}: deeper than {MAX_DEPTH} levels")
        return
    children = [
        _describe(child, f"{part.path}.{number}", state.hint)
        for number, child in enumerate(_children(part), start=1)
    ]
    if content_type == "multipart/alternative":
        plain = [child for child in children if child.content_type.value == "text/plain"]
        rich = [
            child
            for child in children
            if child.content_type.value == "text/html"
            or child.content_type.value.startswith("multipart/")
        ]
        # Other alternatives (text/enriched, AMP) repeat the body; calendars and external
        # bodies are content of their own.
        others = [
            child
            for child in children
            if child not in plain
            and child not in rich
            and child.content_type.value not in _REDUNDANT_ALTERNATIVES
        ]
        children = [*plain[-1:], *rich[-1:], *others]
    for child in children:
        _walk(child, depth + 1, state)


def _headers_only(raw: bytes) -> Message:
    header_end = re.search(rb"\r?\n\r?\n", raw)
    head = raw[: header_end.end()] if header_end else raw
    return _HEADERS_ONLY_PARSER.parsebytes(head, headersonly=True)


def _body_after_headers(raw: bytes) -> bytes:
    header_end = re.search(rb"\r?\n\r?\n", raw)
    return raw[header_end.end() :] if header_end else b""


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse `raw` into a ParsedMail; never raises, every problem becomes a defect."""
    defects = _Defects()
    try:
        return _parse(raw, defects)
    except Exception as error:  # the promise is "never raises": record and degrade
        defects.add("parser_error", f"{type(error).__name__}: {str(error)[:200]}")
        return _fallback(raw, defects)


def _fallback(raw: bytes, defects: _Defects) -> ParsedMail:
    subject = ""
    try:
        headers = _headers_of(_headers_only(raw))
        subject = _single(headers, "subject", defects)
    except Exception as error:  # even the headers are beyond repair
        defects.add("parser_error", f"headers: {type(error).__name__}")
    body = sniff_decode(_body_after_headers(raw)[:MAX_BODY_LENGTH]).text
    return ParsedMail(
        message_id=None,
        in_reply_to=None,
        references=(),
        from_address=None,
        from_name=None,
        reply_to=(),
        to=(),
        cc=(),
        subject=subject,
        date=None,
        body_text=body.replace("\r\n", "\n").replace("\x00", ""),
        body_html=None,
        attachments=(),
        auto_submitted=False,
        is_bounce=False,
        defects=tuple(defects.items),
    )


_HEADER_LINE = re.compile(rb"^[!-9;-~]+:", re.MULTILINE)
_FOLDED_BOUNDARY = re.compile(rb'(?i)(boundary[ \t]*=[ \t]*"[^"\r\n]*)\r?\n([ \t][^"\r\n]*")')
_LEADING_JUNK = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:[ \t]*\r?\n)*")
_EIGHT_BIT = re.compile(rb"[\x80-\xff]")
_DECLARED_CHARSET = re.compile(rb"""(?i)charset[ \t]*=[ \t]*["']?([A-Za-z0-9_.:\-]{1,40})""")
_NO_HINT_CHARSETS = frozenset({"us-ascii", "ascii", "utf-8", "utf8", "x-unknown", "unknown-8bit"})


def _charset_hint(raw: bytes) -> str | None:
    """Return the first charset the mail declares for its text, other than ASCII and UTF-8.

    Raw 8-bit header bytes (subjects, addresses, file names written without RFC 2047) are in
    the charset of the mail's text far more often than in anything a guess would find.
    """
    if _EIGHT_BIT.search(raw) is None:
        return None
    for count, match in enumerate(_DECLARED_CHARSET.finditer(raw)):
        label = match.group(1).decode("ascii").lower()
        if label not in _NO_HINT_CHARSETS:
            return label
        if count >= 20:
            break
    return None


def _skip_garbage_lines(raw: bytes) -> bytes | None:
    """Return `raw` from its first header line on, when only a few junk lines precede it."""
    match = _HEADER_LINE.search(raw, 0, 4096)
    if match is None or match.start() == 0:
        return None
    return raw[match.start() :]


def _repaired_boundaries(raw: bytes) -> bytes | None:
    """Return `raw` with folded boundary parameters unfolded, or None when there are none.

    The stdlib keeps the line break inside a folded quoted boundary (boundary="foo<CRLF> bar"),
    so no part is found; RFC 5322 unfolding removes the CRLF only (boundary "foo bar").
    """
    if not _FOLDED_BOUNDARY.search(raw):
        return None
    return _FOLDED_BOUNDARY.sub(rb"\1\2", raw)


def _lost_a_boundary(message: Message) -> bool:
    return any(
        isinstance(defect, email_errors.StartBoundaryNotFoundDefect)
        for part in message.walk()
        for defect in part.defects
    )


def _parse_message(raw: bytes, defects: _Defects) -> tuple[Message, bool]:
    """Return the parsed message and whether its MIME tree was built."""
    if len(raw) > MAX_MESSAGE_SIZE:
        defects.add("message_too_large", f"{len(raw)} bytes > {MAX_MESSAGE_SIZE}")
        return _headers_only(raw), False
    for count, _match in enumerate(_MULTIPART_HEADER.finditer(raw), start=1):
        if count > MAX_MULTIPART_HEADERS:
            defects.add(
                "nesting_too_deep",
                f"more than {MAX_MULTIPART_HEADERS} multipart headers; body kept as text",
            )
            return _headers_only(raw), False
    try:
        message = _PARSER.parsebytes(raw)
        if not message.keys() and any(
            isinstance(defect, email_errors.MissingHeaderBodySeparatorDefect)
            for defect in message.defects
        ):
            recovered = _skip_garbage_lines(raw)
            if recovered is not None:
                defects.add("mime_structure", "invalid lines before the headers skipped")
                message = _PARSER.parsebytes(recovered)
        repaired = _repaired_boundaries(raw)
        if repaired is not None and _lost_a_boundary(message):
            defects.add("mime_structure", "a folded boundary parameter unfolded")
            message = _PARSER.parsebytes(repaired)
        return message, True
    except RecursionError:
        defects.add("nesting_too_deep", "MIME nesting exceeds the parser; body kept as text")
        return _headers_only(raw), False


def _parse(raw: bytes, defects: _Defects) -> ParsedMail:
    junk = _LEADING_JUNK.match(raw)
    if junk is not None and junk.end():
        # Otherwise the parser takes the headers for the body and the mail has no From.
        defects.add("mime_structure", "blank lines or a byte order mark before the headers")
        raw = raw[junk.end() :]
    message, has_tree = _parse_message(raw, defects)
    headers = _headers_of(message)
    hint = _charset_hint(raw)

    subject = _single(headers, "subject", defects, hint)
    if len(headers.get("subject", [])) > 1:
        defects.add("mime_structure", "more than one Subject header; the first is used")
    senders = _mailboxes(headers, "from", defects, hint)
    if not headers.get("from"):
        defects.add("missing_from", "no From header")
    message_ids = _message_ids(_single(headers, "message-id", defects))
    reply_ids = _message_ids(_single(headers, "in-reply-to", defects))
    references: list[str] = []
    for value in headers.get("references", []):
        references.extend(_message_ids(decode_header_value(value).text))
    references = list(dict.fromkeys(references))
    if len(references) > MAX_REFERENCES:
        references = [references[0], *references[-(MAX_REFERENCES - 1) :]]

    state = _State(defects=defects, hint=hint)
    if has_tree:
        _walk(_describe(message, "1", hint), 0, state)
    else:
        text = sniff_decode(_body_after_headers(raw)[:MAX_BODY_LENGTH], hint).text
        state.plain.append(text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", ""))

    html_source = "\n".join(state.html)
    body_html = None
    html_problem = html_complexity_problem(html_source) if html_source.strip() else None
    if html_problem:
        defects.add("html_too_complex", f"{html_problem}; the HTML is not shown")
    elif html_source.strip():
        body_html = sanitize_html(html_source)
    body_text = "\n".join(text for text in state.plain if text.strip()) if state.plain else ""
    if not body_text.strip() and html_source.strip():
        body_text = html_to_text_quickly(html_source) if html_problem else html_to_text(html_source)

    reasons, is_bounce = machine_verdict(message, headers, subject, has_tree=has_tree)
    return ParsedMail(
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=reply_ids[0] if reply_ids else None,
        references=tuple(references),
        from_address=senders[0].address if senders else None,
        from_name=(senders[0].name or None) if senders else None,
        reply_to=_addresses(headers, "reply-to", defects, hint),
        to=_addresses(headers, "to", defects, hint),
        cc=_addresses(headers, "cc", defects, hint),
        subject=subject,
        date=_date(headers, defects),
        body_text=body_text,
        body_html=body_html,
        attachments=tuple(state.attachments),
        auto_submitted=bool(reasons) or is_bounce,
        is_bounce=is_bounce,
        defects=tuple(defects.items),
    )


def parse_bounce(raw: bytes) -> BounceReport | None:
    """Return the bounce details (recipients, status, action, original Message-ID) or None.

    For the ingest pipeline: the JSON contract only says `is_bounce`.
    """
    parsed = parse_mail(raw)
    if not parsed.is_bounce:
        return None
    try:
        return bounce_report(_PARSER.parsebytes(raw), parsed.body_text)
    except Exception:  # a report we cannot read is still a bounce, without details
        return BounceReport(recipients=(), original_message_id=None, is_standard=False)
