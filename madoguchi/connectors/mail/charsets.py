"""Decode the bytes of Japanese mail: bodies in any label, RFC 2047 headers, raw 8-bit headers.

The rules follow reference/japan-ec.md §2.3:

- Shift_JIS labels are read as CP932 (Windows writes CP932 whatever the label says).
- ISO-2022-JP is tried with the strict codec first; when the stream holds NEC/IBM extension
  characters (①, ㈱, 髙, CP50220/50221 style) the JIS stream is converted to Shift_JIS bytes and
  decoded as CP932.
- An ISO-2022-JP label on a part without ESC but with 8-bit bytes is a mislabel: the bytes are
  sniffed (UTF-8, then CP932).
- EUC-JP: strict codec, then EUC-JIS-2004, then CP51932 style (EUC bytes mapped to CP932).
- Missing or unknown charsets are sniffed: ISO-2022-JP escapes, UTF-8, the charset the mail
  declares elsewhere (raw 8-bit headers), text with kana as Japanese, then charset-normalizer
  limited to CP932, EUC-JP and windows-1252. Any other declared charset that decodes cleanly
  (GB2312, Latin-1, ...) is used as declared; a guess never overrides it.
- The CP932 user-defined area (0xF040-0xF9FC, carrier emoji) maps to the Private Use Area
  U+E000.. as Windows does; any other unmappable double-byte becomes 〓 (U+3013); only a byte
  that is really broken becomes U+FFFD.

Every function returns the text and a list of problems (strings) instead of raising.
"""

import base64
import binascii
import codecs
import re
from dataclasses import dataclass, field

GETA = "\u3013"  # 〓, the customary Japanese placeholder for an unmappable character
REPLACEMENT = "\ufffd"

_SHIFT_JIS_LABELS = frozenset(
    {
        "shift_jis",
        "shift-jis",
        "sjis",
        "s_jis",
        "x-sjis",
        "x_sjis",
        "ms_kanji",
        "ms-kanji",
        "csshiftjis",
        "windows-31j",
        "cp932",
        "ms932",
        "x-ms-cp932",
        "shift_jis-2004",
        "shift_jisx0213",
        "x-sjis-docomo",
        "x-sjis-kddi",
        "x-sjis-softbank",
        "x-sjis-jp",
    }
)
_EUC_JP_LABELS = frozenset(
    {"euc-jp", "euc_jp", "x-euc-jp", "eucjp", "ujis", "cseucpkdfmtjapanese", "cp51932"}
)
# Labels whose bytes are better read by a superset codec (WHATWG-style aliases).
_SUPERSETS = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "big5": "big5hkscs",
    "x-unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "default": "",
}
_ASCII_COMPATIBLE_CHECK = re.compile(rb"[\x80-\xff]")
_ESCAPE = b"\x1b"


@dataclass
class Decoded:
    """Text decoded from bytes, the charset that was actually used and what went wrong."""

    text: str
    charset: str
    problems: list[str] = field(default_factory=list)


def _cp932_error_handler(error: UnicodeError) -> tuple[str, int]:
    """Map the CP932 user-defined area to the PUA, other valid double-bytes to 〓, else U+FFFD."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    data = error.object
    start = error.start
    lead = data[start]
    trail = data[start + 1] if start + 1 < len(data) else -1
    is_trail = 0x40 <= trail <= 0x7E or 0x80 <= trail <= 0xFC
    if 0xF0 <= lead <= 0xF9 and is_trail:
        index = (lead - 0xF0) * 188 + (trail - 0x40 if trail < 0x7F else trail - 0x41)
        return chr(0xE000 + index), start + 2
    if (0x81 <= lead <= 0x9F or 0xE0 <= lead <= 0xFC) and is_trail:
        return GETA, start + 2
    return REPLACEMENT, start + 1


codecs.register_error("madoguchi-cp932", _cp932_error_handler)


def _decode_cp932(data: bytes) -> Decoded:
    try:
        return Decoded(data.decode("cp932"), "cp932")
    except UnicodeDecodeError:
        text = data.decode("cp932", "madoguchi-cp932")
    problems = []
    if REPLACEMENT in text:
        problems.append("invalid cp932 bytes replaced with U+FFFD")
    return Decoded(text, "cp932", problems)


def _jis_pair_to_sjis(first: int, second: int) -> bytes:
    """Return the Shift_JIS (CP932) bytes of one JIS X 0208 row/cell pair (0x21..0x7E each)."""
    lead = (first - 0x21) // 2 + 0x81
    if lead > 0x9F:
        lead += 0x40
    if first % 2:  # odd row
        trail = second + 0x1F
        if trail >= 0x7F:
            trail += 1
    else:
        trail = second + 0x7E
    return bytes((lead, trail))


_JIS_SEQUENCE = re.compile(rb"\x1b(\$@|\$B|\$\(D|\$\(Q|\$\(O|\(B|\(J|\(I|\(H)")


def jis_to_sjis(data: bytes) -> tuple[bytes, list[str]]:
    """Convert an ISO-2022-JP byte stream to CP932 bytes (keeps NEC/IBM extension characters).

    JIS X 0212 (ESC $ ( D) has no CP932 form: its characters become 〓 in CP932 bytes (0x81AC).
    """
    output = bytearray()
    problems: list[str] = []
    mode = "ascii"
    position = 0
    length = len(data)
    while position < length:
        byte = data[position]
        if byte == 0x1B:
            match = _JIS_SEQUENCE.match(data, position)
            if match is None:
                problems.append("unknown ISO-2022-JP escape sequence")
                position += 1
                continue
            designation = match.group(1)
            if designation in (b"$@", b"$B", b"$(Q", b"$(O"):
                mode = "double"
            elif designation == b"$(D":
                mode = "jisx0212"
            elif designation == b"(I":
                mode = "kana"
            else:
                mode = "ascii"
            position = match.end()
            continue
        if byte == 0x0E:  # SO: half-width katakana (some carriers)
            mode = "kana"
            position += 1
            continue
        if byte == 0x0F:  # SI
            mode = "ascii"
            position += 1
            continue
        if byte in (0x0A, 0x0D):
            # A line end resets nothing in strict ISO-2022-JP, but broken writers forget ESC ( B.
            output.append(byte)
            if mode != "ascii" and mode != "kana":
                mode = "ascii"
            position += 1
            continue
        if mode in ("double", "jisx0212"):
            if (
                position + 1 < length
                and 0x21 <= byte <= 0x7E
                and 0x21 <= data[position + 1] <= 0x7E
            ):
                if mode == "double":
                    output += _jis_pair_to_sjis(byte, data[position + 1])
                else:
                    output += b"\x81\xac"  # 〓
                position += 2
                continue
            output.append(byte)
            position += 1
            continue
        if mode == "kana" and 0x21 <= byte <= 0x5F:
            output.append(byte + 0x80)
            position += 1
            continue
        output.append(byte)
        position += 1
    return bytes(output), problems


def _euc_to_sjis(data: bytes) -> bytes:
    """Convert EUC-JP bytes to CP932 bytes (CP51932: NEC row 13 survives)."""
    output = bytearray()
    position = 0
    length = len(data)
    while position < length:
        byte = data[position]
        if byte == 0x8E and position + 1 < length:  # half-width katakana
            output.append(data[position + 1])
            position += 2
        elif byte == 0x8F and position + 2 < length:  # JIS X 0212: no CP932 form
            output += b"\x81\xac"
            position += 3
        elif 0xA1 <= byte <= 0xFE and position + 1 < length and 0xA1 <= data[position + 1] <= 0xFE:
            output += _jis_pair_to_sjis(byte - 0x80, data[position + 1] - 0x80)
            position += 2
        else:
            output.append(byte)
            position += 1
    return bytes(output)


# Python's JIS X 0208 tables and CP932 differ for six characters (japan-ec.md §2.1); Windows and
# iPhone write the CP932 forms (WAVE DASH 〜 is read as FULLWIDTH TILDE ～, and so on).
_JIS_TO_CP932_FORMS = str.maketrans(
    {"\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d", "\u00a2": "\uffe0",
     "\u00a3": "\uffe1", "\u00ac": "\uffe2"}
)  # fmt: skip


def _decode_iso2022jp(data: bytes) -> Decoded:
    if _ESCAPE not in data:
        if _ASCII_COMPATIBLE_CHECK.search(data):
            sniffed = sniff_decode(data)
            sniffed.problems.insert(
                0, f"labelled ISO-2022-JP but holds 8-bit bytes; read as {sniffed.charset}"
            )
            return sniffed
        return Decoded(data.decode("ascii"), "iso-2022-jp")
    try:
        # The same mapping as the CP932 fallback below, so one character has one form.
        return Decoded(data.decode("iso2022_jp").translate(_JIS_TO_CP932_FORMS), "iso-2022-jp")
    except UnicodeDecodeError:
        pass
    sjis, problems = jis_to_sjis(data)
    decoded = _decode_cp932(sjis)
    return Decoded(decoded.text, "iso-2022-jp", problems + decoded.problems)


def _decode_euc_jp(data: bytes) -> Decoded:
    for codec in ("euc_jp", "euc_jis_2004"):
        try:
            return Decoded(data.decode(codec), "euc-jp")
        except UnicodeDecodeError:
            continue
    decoded = _decode_cp932(_euc_to_sjis(data))
    return Decoded(decoded.text, "euc-jp", decoded.problems)


def _decode_utf8(data: bytes) -> Decoded:
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    japanese = _read_as_japanese(data)
    if japanese is not None:
        japanese.problems.append(f"labelled UTF-8 but holds {japanese.charset}; read as such")
        return japanese
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = data.decode("utf-8", "replace")
    return Decoded(text, "utf-8", ["invalid UTF-8 bytes replaced with U+FFFD"])


def _looks_like_euc_jp(data: bytes) -> bool:
    """Return True when every 8-bit byte fits EUC-JP and none fits only Shift_JIS leads."""
    high = [byte for byte in data if byte >= 0x80]
    return bool(high) and all(byte >= 0xA1 or byte in (0x8E, 0x8F) for byte in high)


# Characters that only Japanese text produces when read as CP932 or EUC-JP: kana, Japanese
# punctuation and full-width forms. Latin-1 or GB bytes read as CP932 give kanji and half-width
# katakana instead, so these decide "this is Japanese" without a detector.
_JAPANESE_SIGNS = re.compile(r"[\u3000-\u30ff\uff01-\uff5e]")
# The detector sees this much of a long body; the chosen codec then decodes all of it.
_DETECT_LIMIT = 16_384
# What a mail without a (usable) charset is in practice: Japanese or Western European.
_UNDECLARED_CANDIDATES = ("cp932", "euc_jp", "cp1252")
_DETECTED_NAMES = {"cp932": "cp932", "euc_jp": "euc-jp", "cp1252": "cp1252"}
_UTF8_LABELS = frozenset({"utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8"})
_NO_HINT_LABELS = frozenset({"", "ascii", "us-ascii", *_UTF8_LABELS})


def _read_as_japanese(data: bytes) -> Decoded | None:
    """Return `data` strictly decoded as EUC-JP or CP932 when it reads as Japanese text."""
    if _looks_like_euc_jp(data):
        try:
            text = data.decode("euc_jp")
        except UnicodeDecodeError:
            pass
        else:
            if _JAPANESE_SIGNS.search(text):
                return Decoded(text, "euc-jp")
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        return None
    return Decoded(text, "cp932") if _JAPANESE_SIGNS.search(text) else None


def _detect(data: bytes, candidates: tuple[str, ...]) -> Decoded | None:
    """Ask charset-normalizer which of `candidates` the bytes are; None when it cannot tell."""
    from charset_normalizer import from_bytes  # imported on first use: rare and not cheap

    best = from_bytes(data[:_DETECT_LIMIT], cp_isolation=list(candidates)).best()
    if best is None:
        return None
    codec = codecs.lookup(best.encoding).name
    try:
        return Decoded(data.decode(codec), _DETECTED_NAMES.get(codec, codec))
    except UnicodeDecodeError:  # the limit cut the sample where the rest disagrees
        return None


def _is_japanese_label(label: str) -> bool:
    return (
        label in _SHIFT_JIS_LABELS
        or label in _EUC_JP_LABELS
        or label.startswith(("iso-2022-jp", "iso2022jp", "csiso2022jp"))
    )


def _declared_hint(data: bytes, hint: str) -> Decoded | None:
    """Decode with the charset the mail declares elsewhere, when that decodes cleanly."""
    label = normalize_label(hint)
    if label in _NO_HINT_LABELS or _is_japanese_label(label):
        return None  # Japanese declarations: the Japanese sniffing below knows better
    decoded = decode_bytes(data, label)
    if decoded.problems:
        return None
    return decoded


def sniff_decode(data: bytes, hint: str | None = None) -> Decoded:
    """Decode bytes whose charset is missing, unknown or wrong.

    ISO-2022-JP escapes and valid UTF-8 first; then `hint` (the charset the rest of the mail
    declares, e.g. for raw 8-bit headers) when it decodes cleanly; then Japanese text; then a
    detector limited to Japanese and Western European charsets; CP932 last.
    """
    if not _ASCII_COMPATIBLE_CHECK.search(data):
        if _ESCAPE in data and b"\x1b$" in data:
            return _decode_iso2022jp(data)
        return Decoded(data.decode("ascii"), "ascii")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    if hint:
        declared = _declared_hint(data, hint)
        if declared is not None:
            return declared
    japanese = _read_as_japanese(data)
    if japanese is not None:
        return japanese
    detected = _detect(data, _UNDECLARED_CANDIDATES)
    if detected is not None:
        return detected
    try:
        return Decoded(data.decode("cp932"), "cp932")
    except UnicodeDecodeError:
        pass
    # Mostly valid UTF-8 with a few broken bytes (truncated mail) stays UTF-8.
    utf8 = data.decode("utf-8", "replace")
    cp932 = _decode_cp932(data)
    if utf8.count(REPLACEMENT) <= cp932.text.count(REPLACEMENT) + cp932.text.count(GETA):
        return Decoded(utf8, "utf-8", ["invalid UTF-8 bytes replaced with U+FFFD"])
    return cp932


# Python codecs that are no mail charset: transforms and escapes, read by sniffing instead.
_NOT_MAIL_CODECS = frozenset(
    {"idna", "punycode", "raw-unicode-escape", "unicode-escape", "undefined"}
)
_LABEL = re.compile(r"[a-z0-9][a-z0-9_.:+\-]{0,39}")


def normalize_label(charset: str | None) -> str:
    """Return the charset label lower-cased, without quotes, spaces or RFC 2231 language."""
    if not charset:
        return ""
    label = charset.strip().strip("\"'").strip().lower()
    return label.split("*", 1)[0]


def _decode_with(codec_name: str, data: bytes) -> Decoded | None:
    """Decode with a Python codec; None when the codec cannot decode these bytes at all.

    The declared codec wins whenever it decodes cleanly. When it does not and the bytes read
    as Japanese (a mislabelled Japanese mail), they are read as Japanese; otherwise the bytes
    the codec cannot read become U+FFFD.
    """
    try:
        return Decoded(data.decode(codec_name), codec_name)
    except UnicodeDecodeError:
        japanese = _read_as_japanese(data)
        if japanese is not None:
            japanese.problems.append(f"labelled {codec_name} but holds {japanese.charset}")
            return japanese
        problem = f"invalid {codec_name} bytes replaced with U+FFFD"
        try:
            return Decoded(data.decode(codec_name, "replace"), codec_name, [problem])
        except Exception:  # a codec without "replace" support (idna-like)
            return None
    except Exception:  # a codec that is no text encoding (a bytes transform)
        return None


def decode_bytes(data: bytes, charset: str | None) -> Decoded:
    """Decode `data` declared as `charset` (may be None or bogus) without ever raising."""
    label = normalize_label(charset)
    if label in _SHIFT_JIS_LABELS:
        if _ESCAPE in data and not _ASCII_COMPATIBLE_CHECK.search(data):
            return _decode_iso2022jp(data)
        return _decode_cp932(data)
    if label.startswith("iso-2022-jp") or label.startswith("iso2022jp") or label == "csiso2022jp":
        return _decode_iso2022jp(data)
    if label in _EUC_JP_LABELS:
        return _decode_euc_jp(data)
    if label in _UTF8_LABELS:
        if _ESCAPE in data and b"\x1b$B" in data and not _ASCII_COMPATIBLE_CHECK.search(data):
            return _decode_iso2022jp(data)
        return _decode_utf8(data)
    label = _SUPERSETS.get(label, label)
    if label in ("", "ascii"):
        return sniff_decode(data)
    try:
        if not _LABEL.fullmatch(label):
            raise LookupError(label)
        codec = codecs.lookup(label)
    except LookupError:
        decoded = sniff_decode(data)
        decoded.problems.insert(0, f"unknown charset {label[:40]!r}; read as {decoded.charset}")
        return decoded
    if codec.name in _NOT_MAIL_CODECS:
        decoded = sniff_decode(data)
        decoded.problems.insert(0, f"unusable charset {label!r}")
        return decoded
    decoded_by_codec = _decode_with(codec.name, data)
    if decoded_by_codec is not None:
        return decoded_by_codec
    decoded = sniff_decode(data)
    decoded.problems.insert(0, f"unusable charset {label[:40]!r}")
    return decoded


# RFC 2047 encoded words; the charset may carry an RFC 2231 language suffix (*ja).
_ENCODED_WORD = re.compile(
    r"=\?(?P<charset>[^?\s*]+)(?:\*[^?\s]*)?\?(?P<encoding>[bBqQ])\?(?P<text>[^?]*)\?="
)
_BETWEEN_WORDS = re.compile(r"[ \t\r\n]*")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def _reencode(text: str, charset: str) -> bytes:
    """Return the bytes of `text` for an encoded word of `charset`.

    Encoded words are ASCII; raw 8-bit bytes inside one (careless writers) were already
    decoded with the header and are written back in the word's charset, else in UTF-8.
    """
    if text.isascii():
        return text.encode("ascii")
    label = _SUPERSETS.get(charset, charset)
    if label in _SHIFT_JIS_LABELS:
        label = "cp932"
    try:
        return text.encode(label)
    except (LookupError, UnicodeError, ValueError):
        return text.encode("utf-8", "surrogateescape")


def _decode_q(text: str, charset: str = "") -> bytes:
    data = _reencode(text.replace("_", " "), charset)
    return _Q_ESCAPE.sub(lambda match: bytes((int(match.group(1), 16),)), data)


_NOT_BASE64 = bytes(
    byte
    for byte in range(256)
    if not (chr(byte).isascii() and (chr(byte).isalnum() or chr(byte) in "+/"))
)


def decode_base64(text: str | bytes) -> tuple[bytes, list[str]]:
    """Decode base64 leniently: ignore junk characters, repair missing padding."""
    data = text.encode("ascii", "ignore") if isinstance(text, str) else text
    cleaned = data.translate(None, _NOT_BASE64)
    problems = []
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
        problems.append("invalid base64 length; last character dropped")
    padded = cleaned + b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(padded), problems
    except (binascii.Error, ValueError):
        return b"", [*problems, "invalid base64"]


def _decode_word_bytes(charset: str, encoding: str, text: str) -> tuple[bytes, list[str]]:
    if encoding in "bB":
        return decode_base64(text)
    return _decode_q(text, charset), []


def decode_encoded_words(text: str) -> Decoded:
    """Decode the RFC 2047 encoded words in `text`, joining adjacent words of one charset.

    Adjacent words are decoded together because ISO-2022-JP and multi-byte writers split a
    character or an escape sequence across two words.
    """
    if "=?" not in text:
        return Decoded(text, "")
    pieces: list[str] = []
    problems: list[str] = []
    position = 0
    pending_charset = ""
    pending = bytearray()

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset:
            decoded = decode_bytes(bytes(pending), pending_charset)
            pieces.append(decoded.text)
            problems.extend(decoded.problems)
        pending.clear()
        pending_charset = ""

    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        if gap and (not pending_charset or _BETWEEN_WORDS.fullmatch(gap) is None):
            flush()
            pieces.append(gap)
        charset = normalize_label(match.group("charset"))
        if pending_charset and charset != pending_charset:
            flush()
        data, word_problems = _decode_word_bytes(charset, match.group("encoding"), match["text"])
        problems.extend(word_problems)
        pending_charset = charset
        pending.extend(data)
        position = match.end()
    flush()
    pieces.append(text[position:])
    return Decoded("".join(pieces), "", problems)


_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAKS = re.compile(r"[\r\n]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\x85]")


def raw_header_text(value: str, hint: str | None = None) -> Decoded:
    """Return a raw header value (from `msg.raw_items()`, surrogate-escaped) as text, unfolded.

    8-bit header bytes (raw UTF-8, Shift_JIS or Latin-1 written by careless mailers) and raw
    ISO-2022-JP escapes are decoded by sniffing, with `hint` (the charset the mail declares for
    its text) tried before any guess; encoded words are left for the caller.
    """
    value = _FOLD.sub("", value)
    if value.isascii() and "\x1b" not in value:
        return Decoded(value, "ascii")
    data = value.encode("utf-8", "surrogateescape")
    decoded = sniff_decode(data, hint)
    if decoded.charset not in ("ascii", "utf-8"):
        decoded.problems.insert(0, f"raw 8-bit header read as {decoded.charset}")
    return decoded


def clean_line(text: str) -> str:
    """Return `text` as one header line: CR/LF and control characters become spaces."""
    text = _LINE_BREAKS.sub(" ", text.replace("\t", " "))
    return _CONTROL.sub(" ", text).strip()


def decode_header_value(value: str, hint: str | None = None) -> Decoded:
    """Decode a raw header value to one clean line: 8-bit bytes, RFC 2047, no CR/LF."""
    raw = raw_header_text(value, hint)
    words = decode_encoded_words(raw.text)
    return Decoded(clean_line(words.text), raw.charset, raw.problems + words.problems)
