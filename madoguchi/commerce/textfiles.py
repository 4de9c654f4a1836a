"""Decode uploaded text files that may be UTF-8 (with or without BOM) or Shift_JIS (CP932)."""

from __future__ import annotations


def decode_sniffed(data: bytes) -> tuple[str, str]:
    """Return (text, encoding): UTF-8 when the bytes are valid UTF-8, else CP932."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return data.decode("cp932", errors="replace"), "cp932"
