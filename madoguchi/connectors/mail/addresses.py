"""Parse address headers strictly: an ambiguous address yields no address and a problem.

CPython's `email.utils.parseaddr` once returned the wrong mailbox for inputs such as
`alice@example.org)<bob@example.org>` (CVE-2023-27043; the `strict` flag arrived only in later
patch releases). This parser accepts the RFC 5322 forms seen in real mail, including the
dotted local parts of Japanese carrier addresses (`taro..yamada.@docomo.ne.jp`) and quoted
display names holding encoded words, and rejects anything whose mailbox is not unambiguous.
"""

import re
from dataclasses import dataclass, field

from madoguchi.connectors.mail.charsets import clean_line, decode_encoded_words


@dataclass(frozen=True)
class Mailbox:
    """One parsed mailbox: the decoded display name ("" when none) and the addr-spec."""

    name: str
    address: str


@dataclass
class AddressList:
    """The mailboxes of one header and the reasons any part of it was rejected."""

    mailboxes: list[Mailbox] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _AmbiguousAddressError(ValueError):
    pass


# Local part: atext and dots (carriers allow "..", a leading or a trailing dot) or a quoted string.
_LOCAL_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-\u0080-\U0010ffff]+")
_LOCAL_QUOTED = re.compile(r'"(?:[^"\\\r\n]|\\.)*"')
_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9\u0080-\U0010ffff](?:[A-Za-z0-9\-\u0080-\U0010ffff]*"
    r"[A-Za-z0-9\u0080-\U0010ffff])?\.)*"
    r"[A-Za-z0-9\u0080-\U0010ffff](?:[A-Za-z0-9\-\u0080-\U0010ffff]*[A-Za-z0-9\u0080-\U0010ffff])?"
)
_DOMAIN_LITERAL = re.compile(r"\[[^\[\]\\\s]*\]")
_MAX_ADDRESS_LENGTH = 320
_MAX_MAILBOXES = 500


def _tokenize(text: str) -> list[tuple[str, str]]:
    """Split an address header into (kind, value) tokens; raise on unbalanced quoting."""
    tokens: list[tuple[str, str]] = []
    position = 0
    length = len(text)
    while position < length:
        character = text[position]
        if character in " \t\r\n":
            position += 1
            continue
        if character == '"':
            end = position + 1
            while end < length and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if end >= length:
                raise _AmbiguousAddressError("unterminated quoted string")
            tokens.append(("quoted", text[position : end + 1]))
            position = end + 1
            continue
        if character == "(":
            depth = 0
            end = position
            while end < length:
                if text[end] == "\\":
                    end += 2
                    continue
                if text[end] == "(":
                    depth += 1
                elif text[end] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                end += 1
            if end >= length:
                raise _AmbiguousAddressError("unterminated comment")
            tokens.append(("comment", text[position + 1 : end]))
            position = end + 1
            continue
        if character == "[":
            end = text.find("]", position)
            if end < 0:
                raise _AmbiguousAddressError("unterminated domain literal")
            tokens.append(("literal", text[position : end + 1]))
            position = end + 1
            continue
        if character in "<>,:;@)]\\":
            if character in ")]\\":
                raise _AmbiguousAddressError(f"stray {character!r}")
            tokens.append(("special", character))
            position += 1
            continue
        end = position
        while end < length and text[end] not in ' \t\r\n"()[]<>,:;@\\':
            end += 1
        if end == position:  # every character must be consumed, or this loop never ends
            raise _AmbiguousAddressError(f"unexpected {character!r}")
        tokens.append(("atom", text[position:end]))
        position = end
    return tokens


def _split_top_level(tokens: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Split tokens on commas outside angle brackets and groups (a group keeps its members)."""
    elements: list[list[tuple[str, str]]] = [[]]
    in_angle = False
    in_group = False
    for token in tokens:
        kind, value = token
        if kind == "special":
            if value == "<":
                if in_angle:
                    raise _AmbiguousAddressError("nested angle brackets")
                in_angle = True
            elif value == ">":
                if not in_angle:
                    raise _AmbiguousAddressError("unbalanced angle brackets")
                in_angle = False
            elif value == ":" and not in_angle:
                in_group = True
            elif value == ";" and not in_angle:
                if not in_group:  # Outlook separates addresses with ";"
                    elements.append([])
                    continue
                in_group = False
            elif value == "," and not in_angle and not in_group:
                elements.append([])
                continue
        elements[-1].append(token)
    if in_angle:
        raise _AmbiguousAddressError("unbalanced angle brackets")
    return [element for element in elements if element]


def _addr_spec(tokens: list[tuple[str, str]]) -> str:
    """Return the addr-spec made of `tokens` (local "@" domain) or raise."""
    tokens = [token for token in tokens if token[0] != "comment"]
    at_positions = [i for i, token in enumerate(tokens) if token == ("special", "@")]
    if len(at_positions) != 1:
        raise _AmbiguousAddressError("an address needs exactly one '@'")
    local_tokens = tokens[: at_positions[0]]
    domain_tokens = tokens[at_positions[0] + 1 :]
    if len(local_tokens) != 1 or len(domain_tokens) != 1:
        raise _AmbiguousAddressError("whitespace or specials inside an address")
    (local_kind, local), (domain_kind, domain) = local_tokens[0], domain_tokens[0]
    if local_kind == "atom":
        if not _LOCAL_ATOM.fullmatch(local):
            raise _AmbiguousAddressError("invalid local part")
    elif local_kind != "quoted" or not _LOCAL_QUOTED.fullmatch(local):
        raise _AmbiguousAddressError("invalid local part")
    if domain_kind == "atom":
        if not _DOMAIN.fullmatch(domain.rstrip(".")):
            raise _AmbiguousAddressError("invalid domain")
        domain = domain.rstrip(".").lower()
    elif domain_kind != "literal" or not _DOMAIN_LITERAL.fullmatch(domain):
        raise _AmbiguousAddressError("invalid domain")
    address = f"{local}@{domain}"
    if len(address) > _MAX_ADDRESS_LENGTH:
        raise _AmbiguousAddressError("address too long")
    return address


def _phrase(tokens: list[tuple[str, str]]) -> tuple[str, bool]:
    """Return the decoded display name of `tokens` and whether it held unquoted specials."""
    words: list[str] = []
    has_specials = False
    for kind, value in tokens:
        if kind == "quoted":
            words.append(re.sub(r"\\(.)", r"\1", value[1:-1]))
        elif kind == "atom":
            words.append(value)
        elif kind in ("special", "literal"):
            has_specials = True
            words.append(value)
    # Encoded words are decoded after the structure is known, so they cannot inject specials.
    name = decode_encoded_words(" ".join(words)).text
    return clean_line(name), has_specials


def _comment_name(tokens: list[tuple[str, str]]) -> str:
    comments = [value for kind, value in tokens if kind == "comment"]
    return clean_line(decode_encoded_words(" ".join(comments)).text) if comments else ""


def _mailbox(tokens: list[tuple[str, str]]) -> Mailbox:
    angle_start = [i for i, token in enumerate(tokens) if token == ("special", "<")]
    if not angle_start:
        return Mailbox(name=_comment_name(tokens), address=_addr_spec(tokens))
    start = angle_start[0]
    end = tokens.index(("special", ">"), start)
    trailing = [token for token in tokens[end + 1 :] if token[0] != "comment"]
    if trailing:
        raise _AmbiguousAddressError("text after the angle address")
    inner = tokens[start + 1 : end]
    # Obsolete source routes: <@relay:user@example.org>.
    colons = [i for i, token in enumerate(inner) if token == ("special", ":")]
    if colons and inner and inner[0] == ("special", "@"):
        inner = inner[colons[-1] + 1 :]
    name, has_specials = _phrase(tokens[:start])
    if has_specials:
        # "alice@example.org <bob@example.org>" shows one mailbox and delivers to another.
        raise _AmbiguousAddressError("unquoted '@' or domain literal in the display name")
    return Mailbox(name=name, address=_addr_spec(inner))


_SPACED_AT = re.compile(r"\s*@\s*")
# A bare address must stand as a word of its own ("se]der@example.com" is no address).
_BARE_ADDRESS = re.compile(
    r"(?<![^\s(<\"'])[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:@]+(?![^\s)>\"',;.])"
)
_NAME_TRIM = " \t\"'()<>,;:."


def _recovered_addr_spec(local: str, domain: str) -> str:
    """Return `local@domain` when it is one plausible mailbox, else raise (spaces get quoted)."""
    local = re.sub(r"\s+", " ", local.strip().strip('"').strip())
    domain = domain.strip().rstrip(".").lower()
    if not local or "." not in domain or not _DOMAIN.fullmatch(domain):
        raise _AmbiguousAddressError("no usable domain")
    if " " in local or '"' in local:
        quoted = '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{quoted}@{domain}"
    if not _LOCAL_ATOM.fullmatch(local):
        raise _AmbiguousAddressError("invalid local part")
    return f"{local}@{domain}"


def _recover_mailbox(text: str) -> Mailbox:
    """Recover the one mailbox of a malformed address (RFC 5322 violations seen in real mail).

    Handles an address without angle brackets after a name, a missing ">", a trailing dot or
    text after ">", spaces in the local part, unbalanced quotes and comments. Anything that
    names two different mailboxes stays rejected (the CVE-2023-27043 rule).
    """
    text = clean_line(_SPACED_AT.sub("@", text))
    if text.count("@") != 1:
        raise _AmbiguousAddressError("not exactly one '@'")
    angle = text.rfind("<")
    if angle >= 0:
        close = text.find(">", angle)
        inner = text[angle + 1 : close if close >= 0 else len(text)]
        if "@" not in inner:
            raise _AmbiguousAddressError("the '@' is outside the angle brackets")
        local, _at, domain = inner.partition("@")
        address = _recovered_addr_spec(local, domain)
        name = text[:angle]
    else:
        found = _BARE_ADDRESS.search(text)
        if found is None:
            raise _AmbiguousAddressError("no address")
        local, _at, domain = found.group().partition("@")
        address = _recovered_addr_spec(local, domain)
        name = f"{text[: found.start()]} {text[found.end() :]}"
    name = clean_line(decode_encoded_words(name.strip(_NAME_TRIM)).text).strip(_NAME_TRIM)
    return Mailbox(name=name, address=address)


def _recover(text: str, error: Exception, result: AddressList) -> None:
    try:
        mailbox = _recover_mailbox(text)
    except _AmbiguousAddressError:
        result.problems.append(f"rejected {clean_line(text)[:200]!r}: {error}")
        return
    result.mailboxes.append(mailbox)
    result.problems.append(
        f"malformed {clean_line(text)[:200]!r} ({error}) read as {mailbox.address}"
    )


def _chunks(text: str) -> list[str]:
    """Split a header that cannot be tokenized at commas, each chunk holding one "@" at most."""
    chunks: list[str] = []
    current = ""
    for piece in re.split(r"[,;]", text):
        current = f"{current},{piece}" if current else piece
        if "@" in current:
            chunks.append(current)
            current = ""
    if current.strip():
        chunks.append(current)
    return chunks


def _rendered(tokens: list[tuple[str, str]]) -> str:
    pieces = [f"({value})" if kind == "comment" else value for kind, value in tokens]
    return " ".join(pieces)


def parse_address_list(text: str) -> AddressList:
    """Parse an unfolded, charset-decoded address header (encoded words still encoded)."""
    result = AddressList()
    if not text.strip():
        return result
    try:
        elements = _split_top_level(_tokenize(text))
    except _AmbiguousAddressError as error:
        for chunk in _chunks(text):
            _recover(chunk, error, result)
        return result
    for element in elements:
        if len(result.mailboxes) >= _MAX_MAILBOXES:
            result.problems.append(f"more than {_MAX_MAILBOXES} addresses; the rest is ignored")
            break
        members = [element]
        colons = [i for i, token in enumerate(element) if token == ("special", ":")]
        angle = [i for i, token in enumerate(element) if token == ("special", "<")]
        if colons and (not angle or colons[0] < angle[0]):
            # A group: "Name: a@example.org, b@example.org;" (possibly empty).
            body = element[colons[0] + 1 :]
            if body and body[-1] == ("special", ";"):
                body = body[:-1]
            members = []
            current: list[tuple[str, str]] = []
            for token in body:
                if token == ("special", ","):
                    members.append(current)
                    current = []
                else:
                    current.append(token)
            members.append(current)
        for member in members:
            if not [token for token in member if token[0] != "comment"]:
                continue
            try:
                result.mailboxes.append(_mailbox(member))
            except (_AmbiguousAddressError, ValueError) as error:
                _recover(_rendered(member), error, result)
    return result
