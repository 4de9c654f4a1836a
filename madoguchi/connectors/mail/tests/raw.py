"""Build raw test mails (bytes, CRLF line ends) from header lines and a body."""


def build(headers: list[str] | list[bytes], body: bytes | str = b"") -> bytes:
    """Return a raw mail: the header lines, a blank line, the body (str bodies are UTF-8)."""
    lines = [header if isinstance(header, bytes) else header.encode() for header in headers]
    data = body.encode() if isinstance(body, str) else body
    return b"\r\n".join(lines) + b"\r\n\r\n" + data


def jis(text: str) -> bytes:
    """Return `text` as ISO-2022-JP the way Windows writes it: CP932 extensions included."""
    return text.encode("cp50221")
