"""Reading the JSON text frames of the websocket consumers (presence, live chat)."""

from __future__ import annotations

import json
from typing import Any

CLOSE_TOO_BIG = 1009  # RFC 6455: message too big to process


def frame_too_big(text_data: str, max_bytes: int) -> bool:
    """Whether a text frame is above `max_bytes` once encoded in UTF-8 (as it came on the wire)."""
    return len(text_data.encode("utf-8", "replace")) > max_bytes


def json_object(text_data: str) -> dict[str, Any] | None:
    """The frame's JSON object; None for malformed JSON or any other JSON value."""
    try:
        frame = json.loads(text_data)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None
