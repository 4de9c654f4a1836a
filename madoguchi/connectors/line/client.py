"""A small client for the LINE Messaging API endpoints we use (stdlib HTTP, no redirects).

Reply and push go to `api_base_url` (api.line.me); message content comes from
`api_data_base_url` (api-data.line.me). Error bodies are kept short and never contain the
access token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from madoguchi.connectors.line.models import LineChannel

TIMEOUT_SECONDS = 10.0


def signature_is_valid(raw_body: bytes, header: str, channel_secret: str) -> bool:
    """Check `X-Line-Signature` over the raw body, in constant time (LINE SDK algorithm)."""
    mac = hmac.new(channel_secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(mac), (header or "").encode("utf-8", "replace"))


class LineApiError(Exception):
    """LINE answered with an error status, or could not be reached (`status` None)."""

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(f"{status or 'network'}: {detail}")
        self.status = status
        self.detail = detail

    @property
    def is_retryable(self) -> bool:
        if self.status is None or self.status >= 500:
            return True
        return self.status == 429 and not self.is_quota_exhausted

    @property
    def is_quota_exhausted(self) -> bool:
        return self.status == 429 and "monthly limit" in self.detail.lower()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class Content:
    data: bytes
    content_type: str


def _error_detail(body: bytes) -> str:
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return body[:300].decode("utf-8", "replace")
    if isinstance(parsed, dict):
        detail = str(parsed.get("message", ""))
        details = parsed.get("details")
        if isinstance(details, list) and details:
            detail += " " + "; ".join(
                str(item.get("message", "")) for item in details[:3] if isinstance(item, dict)
            )
        return detail.strip()[:300]
    return str(parsed)[:300]


def _request(
    channel: LineChannel,
    method: str,
    url: str,
    *,
    payload: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    max_bytes: int = 1024 * 1024,
) -> tuple[bytes, str]:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8") if payload is not None else None
    if not url.startswith(("https://", "http://")):
        raise LineApiError(None, "the API base URL must be http(s)")
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - checked above
    request.add_header("Authorization", f"Bearer {channel.access_token}")
    if data is not None:
        request.add_header("Content-Type", "application/json; charset=utf-8")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise LineApiError(None, f"the response is larger than {max_bytes} bytes")
            return body, response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        raise LineApiError(error.code, _error_detail(error.read(4096))) from None
    except (urllib.error.URLError, OSError) as error:
        raise LineApiError(None, type(error).__name__) from None


def _api(channel: LineChannel, path: str) -> str:
    return channel.api_base_url.rstrip("/") + path


def reply(channel: LineChannel, *, reply_token: str, messages: list[dict[str, Any]]) -> None:
    _request(
        channel,
        "POST",
        _api(channel, "/v2/bot/message/reply"),
        payload={"replyToken": reply_token, "messages": messages},
    )


def push(channel: LineChannel, *, to: str, messages: list[dict[str, Any]], retry_key: str) -> None:
    _request(
        channel,
        "POST",
        _api(channel, "/v2/bot/message/push"),
        payload={"to": to, "messages": messages},
        headers={"X-Line-Retry-Key": retry_key},
    )


def profile_display_name(channel: LineChannel, user_id: str) -> str:
    body, _ = _request(channel, "GET", _api(channel, f"/v2/bot/profile/{quote(user_id, safe='')}"))
    parsed = json.loads(body.decode("utf-8"))
    return str(parsed.get("displayName", "")) if isinstance(parsed, dict) else ""


def message_content(channel: LineChannel, message_id: str, *, max_bytes: int) -> Content:
    url = (
        channel.api_data_base_url.rstrip("/")
        + f"/v2/bot/message/{quote(message_id, safe='')}/content"
    )
    body, content_type = _request(channel, "GET", url, max_bytes=max_bytes)
    return Content(data=body, content_type=content_type.split(";")[0].strip())


@dataclass(frozen=True)
class Quota:
    """This month's push allowance: `limit` None means no limit (type "none")."""

    limit: int | None
    used: int


def message_quota(channel: LineChannel) -> Quota:
    body, _ = _request(channel, "GET", _api(channel, "/v2/bot/message/quota"))
    quota = json.loads(body.decode("utf-8"))
    body, _ = _request(channel, "GET", _api(channel, "/v2/bot/message/quota/consumption"))
    consumption = json.loads(body.decode("utf-8"))
    limit = quota.get("value") if quota.get("type") == "limited" else None
    return Quota(
        limit=int(limit) if limit is not None else None, used=int(consumption["totalUsage"])
    )
