"""Attachments: decoded MIME parameters, safe display names and the type sniffed from the bytes.

The display name is metadata only: files are stored under generated names by the ingest
pipeline, so nothing here has to be a safe path; it has to be a name an operator can trust
on screen (no bidi tricks, no hidden characters, no path parts).
"""

import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field

from madoguchi.connectors.mail.charsets import (
    decode_bytes,
    decode_encoded_words,
    raw_header_text,
)

MAX_DISPLAY_NAME_LENGTH = 150
MAX_ATTACHMENT_SIZE = 25 * 1024 * 1024

_WINDOWS_RESERVED = re.compile(r"^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\..*)?$", re.IGNORECASE)
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
# Characters that hide or reorder text: controls (Cc), format characters (Cf: bidi marks,
# zero-width space/joiners, BOM, soft hyphen), separators other than space, surrogates.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def safe_display_name(name: str | None, *, fallback: str) -> tuple[str, list[str]]:
    """Return a display name that cannot mislead, and what had to be changed.

    NFC keeps Japanese as written; NFKC is applied only to catch full-width path separators.
    """
    problems: list[str] = []
    if not name:
        return fallback, problems
    original = name
    name = unicodedata.normalize("NFC", name)
    cleaned = "".join(
        " " if character in "\t\u3000" else character
        for character in name
        if unicodedata.category(character) not in _HIDDEN_CATEGORIES or character == "\t"
    )
    if cleaned != name:
        problems.append("hidden, bidi or control characters removed")
    name = cleaned
    # Path parts: keep the last component for "/", "\\" and their full-width twins.
    folded = unicodedata.normalize("NFKC", name)
    if any(separator in folded for separator in "/\\"):
        problems.append("path components removed")
        positions = [index for index, character in enumerate(name) if
                     unicodedata.normalize("NFKC", character) in ("/", "\\")]  # fmt: skip
        name = name[positions[-1] + 1 :]
    name = _WINDOWS_FORBIDDEN.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if _WINDOWS_RESERVED.match(name):
        name = f"_{name}"
        problems.append("reserved device name prefixed")
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = f"{stem[: MAX_DISPLAY_NAME_LENGTH - len(extension) - 1]}.{extension}"
        else:
            name = name[:MAX_DISPLAY_NAME_LENGTH]
        problems.append("name shortened")
    if not name:
        return fallback, [*problems, f"unusable name {original[:80]!r}"]
    return name, problems


@dataclass
class Parameters:
    """The decoded parameters of one Content-Type or Content-Disposition header."""

    value: str = ""
    params: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


_PARAMETER = re.compile(
    r"""\s*;?\s*(?P<key>[^=;\s]+)\s*=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"?|(?P<token>[^;]*))""",
    re.DOTALL,
)
_CONTINUATION = re.compile(r"^(?P<name>[^*]+)\*(?P<index>\d+)(?P<encoded>\*)?$")


def _decode_rfc2231(value: str, problems: list[str]) -> str:
    """Decode charset'language'percent-encoded bytes (RFC 2231)."""
    charset, _quote, rest = value.partition("'")
    if not _quote:
        charset, rest = "us-ascii", value
    else:
        _language, _quote, rest = rest.partition("'")
    data = urllib.parse.unquote_to_bytes(rest)
    decoded = decode_bytes(data, charset or None)
    problems.extend(decoded.problems)
    return decoded.text


def parse_parameters(raw_value: str, *, hint: str | None = None) -> Parameters:
    """Parse a raw (surrogate-escaped) MIME header value and decode RFC 2231/2047 parameters.

    `hint` is the charset the mail declares for its text: raw 8-bit file names are read in it
    when they decode cleanly (a declared charset beats a guess).
    """
    text = raw_header_text(raw_value, hint)
    result = Parameters(problems=list(text.problems))
    value, _separator, rest = text.text.partition(";")
    result.value = value.strip().strip('"').lower()
    simple: dict[str, str] = {}
    extended: dict[str, str] = {}
    pieces: dict[str, dict[int, tuple[str, bool]]] = {}
    for match in _PARAMETER.finditer(rest):
        key = match.group("key").lower()
        quoted = match.group("quoted")
        raw = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match["token"].strip()
        continuation = _CONTINUATION.match(key)
        if continuation:
            pieces.setdefault(continuation["name"], {})[int(continuation["index"])] = (
                raw,
                bool(continuation["encoded"]),
            )
        elif key.endswith("*"):
            extended[key[:-1]] = _decode_rfc2231(raw, result.problems)
        else:
            simple[key] = raw
    for name, parts in pieces.items():
        ordered = [parts[index] for index in sorted(parts)]
        if ordered[0][1]:
            # Percent-decode the encoded pieces together: a character may span two pieces.
            joined = "".join(
                piece if encoded else urllib.parse.quote(piece) for piece, encoded in ordered
            )
            extended[name] = _decode_rfc2231(joined, result.problems)
        else:
            extended[name] = "".join(piece for piece, _encoded in ordered)
    for name, raw in simple.items():
        # Non-standard but everywhere: name="=?ISO-2022-JP?B?...?=" (RFC 2047 in quotes).
        words = decode_encoded_words(raw)
        result.problems.extend(words.problems)
        result.params[name] = words.text
    result.params.update(extended)
    return result


@dataclass(frozen=True)
class _Signature:
    content_type: str
    prefix: bytes
    offset: int = 0


_SIGNATURES = (
    _Signature("application/pdf", b"%PDF-"),
    _Signature("image/png", b"\x89PNG\r\n\x1a\n"),
    _Signature("image/jpeg", b"\xff\xd8\xff"),
    _Signature("image/gif", b"GIF87a"),
    _Signature("image/gif", b"GIF89a"),
    _Signature("image/bmp", b"BM"),
    _Signature("image/tiff", b"II*\x00"),
    _Signature("image/tiff", b"MM\x00*"),
    _Signature("image/webp", b"WEBP", 8),
    _Signature("audio/wav", b"WAVE", 8),
    _Signature("application/x-ole-storage", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    _Signature("application/zip", b"PK\x03\x04"),
    _Signature("application/zip", b"PK\x05\x06"),
    _Signature("application/gzip", b"\x1f\x8b"),
    _Signature("application/x-7z-compressed", b"7z\xbc\xaf\x27\x1c"),
    _Signature("application/vnd.rar", b"Rar!\x1a\x07"),
    _Signature("application/x-msdownload", b"MZ"),
    _Signature("application/x-executable", b"\x7fELF"),
    _Signature("audio/mpeg", b"ID3"),
    _Signature("application/x-shockwave-flash", b"FWS"),
    _Signature("application/x-shockwave-flash", b"CWS"),
)
# ISO base media: "ftyp" at offset 4, the brand says which kind.
_FTYP_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"avif": "image/avif",
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3gp6": "video/3gpp",
    b"3g2a": "video/3gpp2",
}
# Containers whose declared type is more precise than the sniffed container (OOXML in a zip,
# legacy Office in OLE storage).
_CONTAINER_REFINEMENTS = {
    "application/zip": ("application/vnd.openxmlformats-", "application/vnd.oasis.opendocument",
                        "application/epub+zip", "application/java-archive",
                        "application/vnd.ms-", "application/x-zip", "application/zip"),
    "application/x-ole-storage": ("application/msword", "application/vnd.ms-",
                                  "application/vnd.visio", "application/x-msi"),
    "video/mp4": ("video/", "audio/"),
}  # fmt: skip
_MARKUP = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?<(!doctype\s+html|html|head|body|script|svg)\b", re.I
)


def sniff_content_type(data: bytes) -> str | None:
    """Return the content type the bytes really have, or None when they prove nothing."""
    head = data[:512]
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "video/mp4")
    for signature in _SIGNATURES:
        if head[signature.offset : signature.offset + len(signature.prefix)] == signature.prefix:
            if signature.offset == 8 and head[:4] != b"RIFF":
                continue
            return signature.content_type
    markup = _MARKUP.match(head.lstrip(b"\xef\xbb\xbf"))
    if markup:
        return "image/svg+xml" if markup.group(1).lower() == b"svg" else "text/html"
    return None


def effective_content_type(declared: str, data: bytes) -> tuple[str, str | None]:
    """Return (the type to record, a mismatch description or None).

    The sniffed type wins over the declared one, except where the declared type refines the
    sniffed container (a .docx is a zip) or the bytes prove nothing.
    """
    sniffed = sniff_content_type(data)
    if sniffed is None:
        return declared, None
    if sniffed == declared:
        return declared, None
    refinements = _CONTAINER_REFINEMENTS.get(sniffed, ())
    if declared.startswith(refinements):
        return declared, None
    if declared in ("application/octet-stream", "binary/octet-stream", ""):
        return sniffed, None
    if declared in ("image/jpg", "image/pjpeg") and sniffed == "image/jpeg":
        return sniffed, None
    return sniffed, f"declared {declared[:80]}, bytes are {sniffed}"
