"""Live chat under load: visitor sockets, one operator socket, messages both ways (issue 19).

For each channel layer and each level, the child process seeds a world (an agency, a few shops
with a chat widget each, one supervisor who works them all, `level` open conversations), starts
`madoguchi serve` on a loopback port with the bench settings, and drives it like the widget and
the ticket page do:

- one operator socket (`/ws/operator/`, the supervisor's session cookie);
- `level` visitor sockets (`/ws/chat/<token>/`, the shop's Origin), each saying `hello`;
- `BENCH_CHAT_RATE` visitor messages per second, each from a visitor picked in turn, timed from
  the frame sent to the operator socket's event (visitor -> operator);
- `BENCH_CHAT_RATE` operator replies per second through the ticket page's reply endpoint (a POST
  as htmx sends it, with the newest message the operator socket saw on the ticket as
  `seen_message`), to tickets the operator has seen, timed from the POST to the visitor
  socket's frame (operator -> visitor).

A socket that closes reconnects and resumes from its cursor, as the widget and the ticket page
do; a `stream.gap` from the layer is answered by the server itself (the consumer replays from the
socket's cursor and ends with a `ready` frame marked `gap`), so the result counts, from what the
clients received, the catch-ups after a gap and the measured messages that came in a replay
(`replayed`). After `BENCH_CHAT_SECONDS` the sending stops; what has not
arrived `BENCH_CHAT_GRACE_SECONDS` later is lost. Then every socket closes at once and the server
gets SIGTERM: a result line has the percentiles both ways, lost, disconnects, gaps, the server's
RSS (now and peak), how long the shutdown took and, for Redis, the keys left behind. `background`
lists the background tasks that ran meanwhile (from the task table) and how many of the slow
deliveries (above the target p99) overlapped one of their runs, against all deliveries.

Knobs: `BENCH_CHAT_LAYERS` (inprocess, redis; also inmemory-upstream and redis-upstream, the
layers before ADR 0017), `BENCH_CHAT_LEVELS` (quick: 100,1000; full: 100,1000,5000),
`BENCH_CHAT_SECONDS` (quick 10, full 60), `BENCH_CHAT_SHOPS` (5), `BENCH_CHAT_RATE` (10),
`BENCH_CHAT_REDIS_URL` (redis://127.0.0.1:6379/4, flushed before each Redis run),
`BENCH_CHAT_WORKER` (embedded: `serve` runs the jobs in its own process, as the demo does;
separate: `serve --no-worker --no-scheduler` and a `madoguchi worker` process beside it),
`BENCH_CHAT_ENGINES` (sqlite), `BENCH_CHAT_REPLY_CONNECTION` (keepalive: each reply thread keeps
its HTTP connection open between replies, as the operator's browser does; new: a connection for
each reply, as this benchmark did before session 12).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import itertools
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import BENCH_DIR, ROOT, log, percentile, run_engines

LAYERS = ("inprocess", "redis", "inmemory-upstream", "redis-upstream")
QUICK = {"levels": (100, 1000), "seconds": 10.0}
FULL = {"levels": (100, 1000, 5000), "seconds": 60.0}
CONNECT_CONCURRENCY = 50
MAX_REPLIES_IN_FLIGHT = 20
REPLY_CONNECTION_IDLE_SECONDS = 4.0
SERVER_START_SECONDS = 60.0
SHUTDOWN_WAIT_SECONDS = 30.0
GROUP_KEYS_WAIT_SECONDS = 30.0
TARGET_P99_MS = {"inprocess": 100.0, "redis": 50.0}


def _env_list(name: str, default: tuple[Any, ...]) -> tuple[str, ...]:
    value = os.environ.get(name, "")
    return tuple(item.strip() for item in value.split(",") if item.strip()) or tuple(
        str(item) for item in default
    )


def settings_for(scale: str) -> dict[str, Any]:
    base = FULL if scale == "full" else QUICK
    return {
        "layers": _env_list("BENCH_CHAT_LAYERS", ("inprocess", "redis")),
        "levels": tuple(int(level) for level in _env_list("BENCH_CHAT_LEVELS", base["levels"])),
        "seconds": float(os.environ.get("BENCH_CHAT_SECONDS", base["seconds"])),
        "grace": float(os.environ.get("BENCH_CHAT_GRACE_SECONDS", "30")),
        "shops": int(os.environ.get("BENCH_CHAT_SHOPS", "5")),
        "rate": float(os.environ.get("BENCH_CHAT_RATE", "10")),
        "redis_url": os.environ.get("BENCH_CHAT_REDIS_URL", "redis://127.0.0.1:6379/4"),
        "worker": os.environ.get("BENCH_CHAT_WORKER", "embedded"),
        "reply_connection": os.environ.get("BENCH_CHAT_REPLY_CONNECTION", "keepalive"),
    }


def run(scale: str) -> list[dict[str, Any]]:
    engines = _env_list("BENCH_CHAT_ENGINES", ("sqlite",))
    unknown = set(settings_for(scale)["layers"]) - set(LAYERS)
    if unknown:
        raise ValueError(f"Unknown BENCH_CHAT_LAYERS {sorted(unknown)}; known: {LAYERS}")
    return run_engines(__name__, scale, dataset="chat", engines=engines)


# --- the child: seed, serve, drive ------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    token: str
    origin: str


@dataclass(frozen=True)
class Seeded:
    visitors: list[Visitor]
    session_cookie: str


def seed(*, level: int, shops: int) -> Seeded:
    """Create an agency with `shops` chat shops, a supervisor, and `level` open conversations."""
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from madoguchi.connectors.chat.models import ChatConversation, ChatWidget, token_digest
    from madoguchi.core.testing import factories
    from madoguchi.tenancy.models import Membership

    run_id = uuid.uuid4().hex[:8]
    with scopes_disabled():
        agency = factories.WorkspaceFactory(slug=f"bench-chat-{run_id}", kind="agency")
        supervisor = factories.MembershipFactory(
            workspace=agency,
            role=Membership.Role.SUPERVISOR,
            user__email=f"supervisor-{run_id}@bench.example",
        ).user
        widgets = []
        for number in range(shops):
            owner = factories.WorkspaceFactory(slug=f"bench-chat-{run_id}-owner-{number}")
            shop = factories.ShopFactory(
                workspace=owner,
                slug=f"chat-{run_id}-{number}",
                ticket_prefix=f"C{run_id[:6].upper()}{number}",
            )
            factories.EngagementFactory(agency=agency, shop=shop)
            widgets.append(
                ChatWidget.objects.create(
                    shop=shop,
                    public_key=f"bench-{run_id}-{number}",
                    allowed_origins=f"https://shop-{number}.bench.example\n",
                    follows_business_hours=False,
                )
            )
        visitors, rows = [], []
        now = timezone.now()
        for index in range(level):
            widget = widgets[index % shops]
            token = secrets.token_urlsafe(32)
            rows.append(
                ChatConversation(
                    shop_id=widget.shop_id,
                    widget=widget,
                    token_hash=token_digest(token),
                    public_id=secrets.token_hex(16),
                    created_at=now,
                )
            )
            visitors.append(Visitor(token=token, origin=widget.allowed_origins.strip()))
        ChatConversation.objects.bulk_create(rows, batch_size=1000)
    client = Client()
    client.force_login(supervisor)
    return Seeded(
        visitors=visitors, session_cookie=client.cookies[settings.SESSION_COOKIE_NAME].value
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def layer_environment(layer: str, redis_url: str) -> dict[str, str]:
    """The server's environment for `layer` (bench settings read BENCH_CHANNEL_LAYERS)."""
    if layer == "inprocess":
        return {}
    if layer == "inmemory-upstream":
        backend = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
        return {"BENCH_CHANNEL_LAYERS": json.dumps(backend)}
    if layer == "redis":
        return {"REDIS_URL": redis_url}
    if layer == "redis-upstream":
        # Without ?socket_timeout the upstream layer's sockets die every 5 s (redis-py 8).
        backend = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [f"{redis_url}?socket_timeout=10"]},
            }
        }
        return {"REDIS_URL": redis_url, "BENCH_CHANNEL_LAYERS": json.dumps(backend)}
    raise ValueError(f"Unknown layer {layer!r}")


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def _group_keys_after_disconnect(url: str) -> dict[str, Any]:
    """Wait (bounded) for the server's disconnect handlers to leave their groups; count keys."""
    client = _redis(url)
    started = time.monotonic()
    while True:
        groups = sum(1 for _ in client.scan_iter(match="asgi*group*"))
        waited = time.monotonic() - started
        if groups == 0 or waited > GROUP_KEYS_WAIT_SECONDS:
            break
        time.sleep(0.5)
    return {
        "group_keys": groups,
        "other_keys": sum(1 for _ in client.scan_iter(match="asgi*")) - groups,
        "waited_seconds": round(waited, 1),
    }


def _memory_kb(pid: int) -> dict[str, int]:
    values = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def _cpu_seconds(pid: int) -> float | None:
    """The process's CPU time so far (user + system, all threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Tally:
    """What the client saw during one run."""

    visitor_to_operator_ms: list[float] = field(default_factory=list)
    operator_to_visitor_ms: list[float] = field(default_factory=list)
    # (wall-clock start, end) of each delivery, to match slow ones against background job runs
    windows: list[tuple[float, float, float]] = field(default_factory=list)
    # What the clients saw of the server's catch-ups: `ready` frames that answered a layer's
    # gap (not the client's own hello/resume) and the measured messages that came in a replay.
    visitor_gap_catch_ups: int = 0
    operator_gap_catch_ups: int = 0
    replayed_to_operator: int = 0
    replayed_to_visitor: int = 0
    pending_visitor: dict[str, float] = field(default_factory=dict)  # client_id -> sent at
    pending_operator: dict[str, float] = field(default_factory=dict)  # reply text -> posted at
    sent_visitor: int = 0
    sent_operator: int = 0
    reply_errors: int = 0
    replies_skipped: int = 0
    visitor_disconnects: int = 0
    operator_disconnects: int = 0
    connect_failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    # visitor index -> ticket path, once the operator saw a message of theirs
    tickets: dict[int, str] = field(default_factory=dict)
    # ticket path -> the newest message id the operator saw on it (the page's `seen_message`)
    seen: dict[str, int] = field(default_factory=dict)
    ticket_paths: dict[int, str] = field(default_factory=dict)  # ticket id -> path
    is_running: bool = True


class Drive:
    """The load client of one run (one event loop; HTTP replies in threads)."""

    def __init__(self, *, port: int, seeded: Seeded, config: dict[str, Any]) -> None:
        self.port = port
        self.seeded = seeded
        self.config = config
        self.tally = Tally()
        self.sockets: dict[int, Any] = {}
        self.cursors: dict[int, int] = {}
        self.owner: dict[str, int] = {}  # client_id -> visitor index
        self.tasks: list[asyncio.Task[None]] = []
        self.operator: Any = None
        self.operator_cursor = 0
        self.is_closing = False
        self.operator_ready = asyncio.Event()
        # Each reply thread's HTTP connection and when it was last used (keep-alive).
        self.reply_connections = threading.local()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    # Operator side

    async def operator_loop(self) -> None:
        import websockets

        headers = {"Cookie": f"sessionid={self.seeded.session_cookie}"}
        while not self.is_closing:
            try:
                async with websockets.connect(
                    f"ws://{self.host}/ws/operator/",
                    origin=websockets.Origin(f"http://{self.host}"),
                    additional_headers=headers,
                    ping_interval=None,
                    open_timeout=60,
                    max_queue=None,
                ) as connection:
                    self.operator = connection
                    # As the ticket page does: resume from the last event seen.
                    await connection.send(
                        json.dumps({"type": "resume", "cursor": self.operator_cursor})
                    )
                    self.operator_ready.set()
                    pinger = asyncio.create_task(self._operator_ping(connection))
                    try:
                        async for frame in connection:
                            data = json.loads(frame)
                            self._operator_frame(data)
                            if data.get("type") == "ready" and data.get("complete") is False:
                                # As the ticket page does: ask for the next page.
                                await connection.send(
                                    json.dumps({"type": "resume", "cursor": data["cursor"]})
                                )
                    finally:
                        pinger.cancel()
            except Exception as error:  # counted; the operator page reconnects too
                self._error(f"operator: {type(error).__name__}")
            if not self.is_closing:
                self.tally.operator_disconnects += 1
                await asyncio.sleep(1)

    async def _operator_ping(self, connection: Any) -> None:
        while True:
            await asyncio.sleep(30)
            await connection.send(json.dumps({"type": "ping"}))

    def _operator_frame(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "ready" and isinstance(frame.get("cursor"), int):
            self.operator_cursor = max(self.operator_cursor, frame["cursor"])
            if frame.get("gap"):
                self.tally.operator_gap_catch_ups += 1
        if frame.get("type") != "event" or frame.get("kind") != "message":
            return
        message = frame.get("message") or {}
        if isinstance(message.get("id"), int):
            self.operator_cursor = max(self.operator_cursor, message["id"])
        client_id = message.get("client_id") or ""
        sent_at = self.tally.pending_visitor.pop(client_id, None)
        if sent_at is not None:
            self.tally.visitor_to_operator_ms.append(self._delivered(sent_at))
            if frame.get("replayed"):
                self.tally.replayed_to_operator += 1
        visitor = self.owner.get(client_id)
        if visitor is not None and frame.get("url"):
            self.tally.tickets[visitor] = str(frame["url"])
            self.tally.ticket_paths[frame["ticket_id"]] = str(frame["url"])
        path = self.tally.ticket_paths.get(frame.get("ticket_id"))  # type: ignore[arg-type]
        if path is not None and isinstance(message.get("id"), int):
            self.tally.seen[path] = max(self.tally.seen.get(path, 0), message["id"])

    # Visitor side

    async def visitor_loop(self, index: int, gate: asyncio.Semaphore) -> None:
        import websockets

        visitor = self.seeded.visitors[index]
        url = f"ws://{self.host}/ws/chat/{visitor.token}/"
        first = True
        while not self.is_closing:
            connection = None
            try:
                async with gate:
                    connection = await websockets.connect(
                        url,
                        origin=websockets.Origin(visitor.origin),
                        ping_interval=None,
                        open_timeout=120,
                        max_queue=None,
                    )
                    await self._hello(index, connection)
                    self.sockets[index] = connection
                async for frame in connection:
                    await self._visitor_frame(index, connection, json.loads(frame))
            except Exception as error:
                self._error(f"visitor: {type(error).__name__}")
                if first and connection is None:
                    self.tally.connect_failures += 1
            finally:
                self.sockets.pop(index, None)
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close()
            first = False
            if self.is_closing:
                return
            self.tally.visitor_disconnects += 1
            await asyncio.sleep(1)

    async def _hello(self, index: int, connection: Any) -> None:
        await connection.send(json.dumps({"type": "hello", "cursor": self.cursors.get(index, 0)}))
        while True:
            frame = json.loads(await connection.recv())
            if frame.get("type") == "ready":
                self.cursors[index] = max(self.cursors.get(index, 0), int(frame["cursor"]))
                return
            self._visitor_message(index, frame)

    async def _visitor_frame(self, index: int, connection: Any, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message":
            self._visitor_message(index, frame)
        elif kind == "ready":
            self.tally.visitor_gap_catch_ups += 1 if frame.get("gap") else 0
            self.cursors[index] = max(self.cursors.get(index, 0), int(frame["cursor"]))
            if frame.get("complete") is False:  # as the widget does: ask for the next page
                await connection.send(json.dumps({"type": "hello", "cursor": frame["cursor"]}))
        elif kind == "error":
            self._error(f"visitor frame: {frame.get('code')}")
            self.tally.pending_visitor.pop(str(frame.get("client_id", "")), None)

    def _visitor_message(self, index: int, frame: dict[str, Any]) -> None:
        if frame.get("type") != "message":
            return
        if isinstance(frame.get("id"), int):
            self.cursors[index] = max(self.cursors.get(index, 0), frame["id"])
        if frame.get("direction") == "outbound":
            posted_at = self.tally.pending_operator.pop(str(frame.get("text", "")), None)
            if posted_at is not None:
                self.tally.operator_to_visitor_ms.append(self._delivered(posted_at))
                if frame.get("replayed"):
                    self.tally.replayed_to_visitor += 1

    def _delivered(self, started: float) -> float:
        """Return the delivery's milliseconds; remember its wall-clock window."""
        milliseconds = (time.perf_counter() - started) * 1000
        ended = time.time()
        self.tally.windows.append((ended - milliseconds / 1000, ended, milliseconds))
        return milliseconds

    def _error(self, key: str) -> None:
        self.tally.errors[key] = self.tally.errors.get(key, 0) + 1

    # Senders

    async def send_visitor_messages(self, seconds: float) -> None:
        rate = self.config["rate"]
        order = itertools.cycle(range(len(self.seeded.visitors)))
        started = time.perf_counter()
        for number in itertools.count():
            due = started + number / rate
            if due - started >= seconds:
                return
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            for _ in range(len(self.seeded.visitors)):
                index = next(order)
                connection = self.sockets.get(index)
                if connection is not None:
                    break
            else:
                continue
            client_id = f"bench-{uuid.uuid4().hex[:16]}"
            self.owner[client_id] = index
            self.tally.pending_visitor[client_id] = time.perf_counter()
            self.tally.sent_visitor += 1
            try:
                await connection.send(
                    json.dumps(
                        {"type": "message", "client_id": client_id, "text": f"質問 {number}"}
                    )
                )
            except Exception as error:
                self._error(f"visitor send: {type(error).__name__}")

    async def send_replies(self, seconds: float) -> None:
        rate = self.config["rate"]
        in_flight: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        for number in itertools.count():
            due = started + number / rate
            if due - started >= seconds:
                break
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if not self.tally.tickets:
                self.tally.replies_skipped += 1
                continue
            if len(in_flight) >= MAX_REPLIES_IN_FLIGHT:
                self.tally.replies_skipped += 1
                continue
            visitors = list(self.tally.tickets)
            path = self.tally.tickets[visitors[number % len(visitors)]]
            text = f"回答 {number} {uuid.uuid4().hex[:8]}"
            task = asyncio.create_task(self._reply(path, text))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight)

    async def _reply(self, path: str, text: str) -> None:
        self.tally.pending_operator[text] = time.perf_counter()
        self.tally.sent_operator += 1
        try:
            status = await asyncio.to_thread(self._post_reply, path, text)
        except OSError as error:
            status = 0
            self._error(f"reply: {type(error).__name__}")
        if status not in (200, 204, 302):
            self.tally.reply_errors += 1
            self.tally.pending_operator.pop(text, None)
            self._error(f"reply status {status}")

    def _post_reply(self, path: str, text: str) -> int:
        csrf = "b" * 32
        # As the page does: the newest message it showed (the reply conflict check's reference).
        seen = self.tally.seen.get(path, 0)
        body = urllib.parse.urlencode({"body": text, "status": "", "seen_message": seen})
        connection = self._reply_connection()
        try:
            connection.request(
                "POST",
                f"{path.rstrip('/')}/reply/",
                body=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": f"sessionid={self.seeded.session_cookie}; csrftoken={csrf}",
                    "X-CSRFToken": csrf,
                    "Origin": f"http://{self.host}",
                    "HX-Request": "true",
                },
            )
            response = connection.getresponse()
            response.read()
            self.reply_connections.used_at = time.monotonic()
            return int(response.status)
        except BaseException:
            self.reply_connections.connection = None  # the next reply opens a new one
            connection.close()
            raise
        finally:
            if self.config["reply_connection"] != "keepalive":
                connection.close()

    def _reply_connection(self) -> http.client.HTTPConnection:
        """This thread's connection, kept open between replies as the operator's browser does
        and opened again before the server's keep-alive timeout (uvicorn: 5 s) could close it
        under a request; with `BENCH_CHAT_REPLY_CONNECTION=new`, a new one for each reply."""
        if self.config["reply_connection"] != "keepalive":
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        local = self.reply_connections
        connection = getattr(local, "connection", None)
        idle = time.monotonic() - getattr(local, "used_at", 0.0)
        if connection is None or idle > REPLY_CONNECTION_IDLE_SECONDS:
            if connection is not None:
                connection.close()
            connection = local.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=120
            )
        return connection

    # The run

    async def main(self) -> dict[str, Any]:
        seconds, grace = self.config["seconds"], self.config["grace"]
        self.tasks.append(asyncio.create_task(self.operator_loop()))
        await asyncio.wait_for(self.operator_ready.wait(), 60)
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        connect_started = time.perf_counter()
        for index in range(len(self.seeded.visitors)):
            self.tasks.append(asyncio.create_task(self.visitor_loop(index, gate)))
        deadline = connect_started + 300
        while len(self.sockets) < len(self.seeded.visitors) and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        connect_seconds = time.perf_counter() - connect_started
        open_sockets = len(self.sockets)
        disconnects_before = self.tally.visitor_disconnects
        await asyncio.gather(self.send_visitor_messages(seconds), self.send_replies(seconds))
        drain_deadline = time.perf_counter() + grace
        while (
            self.tally.pending_visitor or self.tally.pending_operator
        ) and time.perf_counter() < drain_deadline:
            await asyncio.sleep(0.1)
        self.is_closing = True
        close_started = time.perf_counter()
        await asyncio.gather(
            *(connection.close() for connection in list(self.sockets.values())),
            *([self.operator.close()] if self.operator is not None else []),
            return_exceptions=True,
        )
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        return {
            "open_sockets": open_sockets,
            "connect_seconds": round(connect_seconds, 1),
            "disconnect_seconds": round(time.perf_counter() - close_started, 2),
            "disconnects_while_measuring": self.tally.visitor_disconnects - disconnects_before,
        }


def _percentiles(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 0.95), 1),
        "p99_ms": round(percentile(samples, 0.99), 1),
        "max_ms": round(max(samples), 1),
    }


def job_runs(since: float) -> list[tuple[str, float, float]]:
    """The background tasks that ran since `since` (wall clock): (name, started, finished)."""
    import datetime as dt

    from django_tasks_db.models import DBTaskResult

    rows = DBTaskResult.objects.filter(
        started_at__gte=dt.datetime.fromtimestamp(since, tz=dt.UTC), finished_at__isnull=False
    ).values_list("task_path", "started_at", "finished_at")
    return [
        (path.rsplit(".", 1)[-1], started.timestamp(), finished.timestamp())
        for path, started, finished in rows
    ]


def background_overlap(
    windows: list[tuple[float, float, float]], runs: list[tuple[str, float, float]], slow_ms: float
) -> dict[str, Any]:
    """How background task runs line up with slow deliveries (issue 19: jobs stall delivery?).

    A delivery overlaps a run when their wall-clock windows intersect. If the jobs did not matter,
    the slow deliveries would overlap runs about as often as all deliveries do.
    """

    def overlaps(start: float, end: float) -> bool:
        return any(started < end and start < finished for _name, started, finished in runs)

    durations: dict[str, list[float]] = {}
    for name, started, finished in runs:
        durations.setdefault(name, []).append((finished - started) * 1000)
    slow = [window for window in windows if window[2] > slow_ms]
    return {
        "slow_ms": slow_ms,
        "deliveries": len(windows),
        "deliveries_overlapping_a_run": sum(overlaps(start, end) for start, end, _ in windows),
        "slow_deliveries": len(slow),
        "slow_overlapping_a_run": sum(overlaps(start, end) for start, end, _ in slow),
        "runs": {
            name: {
                "count": len(values),
                "p50_ms": round(statistics.median(values), 1),
                "max_ms": round(max(values), 1),
            }
            for name, values in sorted(durations.items())
        },
    }


def _wait_until_serving(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the server did not answer /healthz")


def run_level(*, engine: str, scale: str, layer: str, level: int, config: dict[str, Any]) -> dict:
    started = time.perf_counter()
    seeded = seed(level=level, shops=config["shops"])
    log(f"chat: {layer}, {level} sockets: seeded in {time.perf_counter() - started:.1f} s")
    redis_url = config["redis_url"]
    uses_redis = layer.startswith("redis")
    if uses_redis:
        _redis(redis_url).flushdb()
    port = _free_port()
    environment = {
        **os.environ,
        "BENCH_TASK_BACKEND": "django_tasks_db.DatabaseBackend",  # as the demo serves
        **layer_environment(layer, redis_url),
    }
    server_log = BENCH_DIR / f"chat-server-{layer}-{level}.log"
    separate = config["worker"] == "separate"
    serve = [sys.executable, "-m", "madoguchi", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with server_log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603
            [*serve, *(["--no-worker", "--no-scheduler"] if separate else [])],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    worker = None
    if separate:  # as a deployment with Redis runs it: the jobs in a process of their own
        with (BENCH_DIR / f"chat-worker-{layer}-{level}.log").open("wb") as output:
            worker = subprocess.Popen(
                [sys.executable, "-m", "madoguchi", "worker"],
                cwd=ROOT,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
    shutdown_seconds = None
    try:
        _wait_until_serving(port, server)
        drive = Drive(port=port, seeded=seeded, config=config)
        measuring_since = time.time()
        cpu_before = _cpu_seconds(server.pid)
        outcome = asyncio.run(drive.main())
        cpu_after = _cpu_seconds(server.pid)
        runs = job_runs(measuring_since)
        memory = _memory_kb(server.pid)
        keys_left = None
        if uses_redis:
            keys_left = _group_keys_after_disconnect(redis_url)
        stop_started = time.perf_counter()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=SHUTDOWN_WAIT_SECONDS)
            shutdown_seconds = round(time.perf_counter() - stop_started, 2)
        except subprocess.TimeoutExpired:
            shutdown_seconds = None  # did not exit: killed below
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=SHUTDOWN_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    tally = drive.tally
    server_lines = server_log.read_text(errors="replace").splitlines()
    to_operator = _percentiles(tally.visitor_to_operator_ms)
    to_visitor = _percentiles(tally.operator_to_visitor_ms)
    worst_p99 = max(
        (value for value in (to_operator["p99_ms"], to_visitor["p99_ms"]) if value is not None),
        default=None,
    )
    target = TARGET_P99_MS.get(layer)
    lost = len(tally.pending_visitor) + len(tally.pending_operator)
    # The server's CPU time from the first socket's connect to the last delivery (or the grace
    # period's end): comparable between runs on a busy machine, unlike the latencies.
    cpu_seconds = (
        None if cpu_before is None or cpu_after is None else round(cpu_after - cpu_before, 2)
    )
    messages = tally.sent_visitor + tally.sent_operator
    return {
        "benchmark": "chat",
        "engine": engine,
        "scale": scale,
        "layer": layer,
        "worker": config["worker"],
        "reply_connection": config["reply_connection"],
        "sockets": level,
        "seconds": config["seconds"],
        **outcome,
        "visitor_to_operator": {
            **to_operator,
            "sent": tally.sent_visitor,
            "received": len(tally.visitor_to_operator_ms),
            "lost": len(tally.pending_visitor),
        },
        "operator_to_visitor": {
            **to_visitor,
            "sent": tally.sent_operator,
            "received": len(tally.operator_to_visitor_ms),
            "lost": len(tally.pending_operator),
            "reply_errors": tally.reply_errors,
            "replies_skipped": tally.replies_skipped,
        },
        "lost": lost,
        "visitor_disconnects": tally.visitor_disconnects,
        "operator_disconnects": tally.operator_disconnects,
        "connect_failures": tally.connect_failures,
        # Seen by the clients: catch-ups the server made after a layer's gap, and measured
        # messages that reached a client only through such a replay.
        "gap_catch_ups": {
            "visitor": tally.visitor_gap_catch_ups,
            "operator": tally.operator_gap_catch_ups,
        },
        "replayed": {
            "to_operator": tally.replayed_to_operator,
            "to_visitor": tally.replayed_to_visitor,
        },
        "background": background_overlap(tally.windows, runs, slow_ms=target or 100.0),
        "server_tracebacks": sum(line.startswith("Traceback") for line in server_lines),
        "errors": tally.errors,
        "server_cpu_seconds": cpu_seconds,
        "server_cpu_ms_per_message": (
            None if cpu_seconds is None or not messages else round(cpu_seconds * 1000 / messages, 1)
        ),
        "server_rss_mb": round(memory.get("VmRSS", 0) / 1024, 1),
        "server_peak_rss_mb": round(memory.get("VmHWM", 0) / 1024, 1),
        "shutdown_seconds": shutdown_seconds,
        "redis_keys_left": keys_left,
        "load_average": round(os.getloadavg()[0], 2),
        "target_p99_ms": target,
        "meets_target": (
            None if target is None or worst_p99 is None else lost == 0 and worst_p99 <= target
        ),
    }


def measure(*, engine: str, scale: str) -> list[dict[str, Any]]:
    from django.core.management import call_command

    config = settings_for(scale)
    call_command("migrate", verbosity=0)
    results = []
    for layer in config["layers"]:
        for level in config["levels"]:
            log(f"chat: {layer}, {level} sockets, {config['seconds']:.0f} s")
            try:
                result = run_level(
                    engine=engine, scale=scale, layer=layer, level=level, config=config
                )
            except Exception as error:  # one failed level must not hide the others
                result = {
                    "benchmark": "chat",
                    "engine": engine,
                    "scale": scale,
                    "layer": layer,
                    "sockets": level,
                    "error": repr(error),
                }
            print(json.dumps(result, ensure_ascii=False), file=sys.stderr, flush=True)
            results.append(result)
    return results
