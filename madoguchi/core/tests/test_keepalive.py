"""Websocket keepalive from one timer per process (core.keepalive): a real uvicorn server with
`serve`'s protocol and raw websocket clients on loopback. A client that answers pings stays open
and is pinged every interval; one that never answers is closed after the timeout; many sockets
wait on one timer, none on a timer of its own."""

from __future__ import annotations

import base64
import itertools
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from madoguchi.core import keepalive
from madoguchi.core.keepalive import KeepaliveWebSocketProtocol

INTERVAL = 0.3
TIMEOUT = 0.4
PING, PONG, CLOSE = 0x9, 0xA, 0x8


async def echo_until_closed(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A websocket application that accepts and waits for the disconnect."""
    assert scope["type"] == "websocket"
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, uvicorn.Server]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        echo_until_closed,
        host="127.0.0.1",
        port=port,
        ws=KeepaliveWebSocketProtocol,
        ws_ping_interval=INTERVAL,
        ws_ping_timeout=TIMEOUT,
        lifespan="off",
        log_level="warning",
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield port, running
    finally:
        running.should_exit = True
        thread.join(10)


class RawClient:
    """A websocket client on a plain socket: it sees every frame and answers only if told to."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def _recv(self) -> bytes:
        chunk = self.sock.recv(4096)
        if not chunk:
            raise EOFError
        return chunk

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.buffer += self._recv()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def frame(self, timeout: float) -> tuple[int, bytes]:
        """The next frame's opcode and payload (server frames are unmasked and short here)."""
        self.sock.settimeout(timeout)
        first, second = self._exactly(2)
        return first & 0x0F, self._exactly(second & 0x7F)

    def send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self.sock.sendall(struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + mask + masked)

    def close(self) -> None:
        self.sock.close()


def test_a_client_that_answers_is_pinged_every_interval_and_stays_open(
    server: tuple[int, uvicorn.Server],
) -> None:
    port, _ = server
    client = RawClient(port)
    try:
        pings: list[float] = []
        began = time.monotonic()
        while len(pings) < 4:
            opcode, payload = client.frame(timeout=INTERVAL * 3)
            assert opcode == PING
            pings.append(time.monotonic() - began)
            client.send(PONG, payload)
        gaps = [later - earlier for earlier, later in itertools.pairwise(pings)]
        # Every interval, up to a tick late; never closed although 4 intervals passed.
        assert all(INTERVAL * 0.9 <= gap <= INTERVAL * 2 for gap in gaps), gaps
    finally:
        client.close()


def test_a_client_that_never_answers_is_closed_after_the_timeout(
    server: tuple[int, uvicorn.Server],
) -> None:
    port, _ = server
    client = RawClient(port)
    try:
        opcode, _ = client.frame(timeout=INTERVAL * 3)
        assert opcode == PING
        pinged = time.monotonic()
        opcode, payload = client.frame(timeout=TIMEOUT * 3)
        assert opcode == CLOSE
        assert struct.unpack("!H", payload[:2])[0] == 1011  # "keepalive ping timeout"
        assert TIMEOUT * 0.9 <= time.monotonic() - pinged <= TIMEOUT * 3
        with pytest.raises((EOFError, ConnectionError)):
            client.frame(timeout=2)
    finally:
        client.close()


def test_many_sockets_wait_on_the_one_timer_of_their_loop(
    server: tuple[int, uvicorn.Server],
) -> None:
    port, running = server
    clients = [RawClient(port) for _ in range(50)]
    try:
        deadline = time.monotonic() + 5
        while len(running.server_state.connections) < 50:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        protocols = [
            protocol
            for protocol in running.server_state.connections
            if isinstance(protocol, KeepaliveWebSocketProtocol)
        ]
        assert len(protocols) == 50
        (loop,) = {protocol.loop for protocol in protocols}
        pinger = keepalive.pinger_for(loop)
        # Each socket is in the pinger's queue; none holds a timer of its own.
        assert set(pinger.sockets) >= set(protocols)
        assert all(protocol.ping_timer is None for protocol in protocols)
    finally:
        for client in clients:
            client.close()
