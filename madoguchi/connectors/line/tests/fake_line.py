"""A local HTTP server that speaks the LINE endpoints we call and records every request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class FakeLine:
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    # path -> list of (status, body, content type) answered in turn; the last one repeats.
    answers: dict[str, list[tuple[int, bytes, str]]] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)
    contents: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def answer(self, path: str, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers[path] = [
            (status, json.dumps(body).encode(), "application/json") for status, body in answers
        ]

    def calls(self, path: str) -> list[Recorded]:
        return [request for request in self.requests if request.path == path]

    def respond(self, method: str, path: str) -> tuple[int, bytes, str]:
        queued = self.answers.get(path)
        if queued:
            return queued.pop(0) if len(queued) > 1 else queued[0]
        if method == "GET" and path.startswith("/v2/bot/profile/"):
            user_id = path.rsplit("/", 1)[1]
            if user_id in self.profiles:
                body = {"userId": user_id, "displayName": self.profiles[user_id]}
                return 200, json.dumps(body).encode(), "application/json"
            return 404, b'{"message":"Not found"}', "application/json"
        if method == "GET" and path.startswith("/v2/bot/message/") and path.endswith("/content"):
            message_id = path.split("/")[4]
            if message_id in self.contents:
                data, content_type = self.contents[message_id]
                return 200, data, content_type
            return 404, b'{"message":"Not found"}', "application/json"
        if method == "POST" and path in ("/v2/bot/message/reply", "/v2/bot/message/push"):
            return (
                200,
                b'{"sentMessages":[{"id":"461230966842064897","quoteToken":"q"}]}',
                ("application/json"),
            )
        return 404, b'{"message":"Not found"}', "application/json"


def _handler(fake: FakeLine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fake.requests.append(
                Recorded(self.command, self.path, dict(self.headers.items()), body)
            )
            status, data, content_type = fake.respond(self.command, self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve  # noqa: N815
        do_POST = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def fake_line() -> Iterator[FakeLine]:
    fake = FakeLine()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
