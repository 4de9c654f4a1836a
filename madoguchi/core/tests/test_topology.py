"""The production topology on this machine (issue #20): 500 mails, a worker killed, two webs.

PostgreSQL (a database of the test's own, dropped at the end) and Redis (database
REDIS_DATABASE, emptied before and after) serve two `madoguchi serve --no-worker` web
processes, two `madoguchi worker`s, one `madoguchi scheduler` and `madoguchi smtpd`, all with
the production settings behind a (simulated) TLS proxy, set up as the README's production
section says: `migrate`, `setup`, then the shop's SMTP address and an operator
(`topology.prepare_shop`).

- Mail: 500 Japanese mails (ISO-2022-JP and UTF-8) from 500 customers go in over SMTP from
  CLIENTS concurrent connections. Worker A is killed with SIGKILL while it holds raw mail rows
  (`claimed_by`). Within PROCESSING_BOUND_SECONDS of the first mail, exactly 500 tickets and
  500 inbound messages exist, every raw row is processed (none failed, none pending), no
  Message-ID is stored twice, and no customer got two acknowledgements. The recovery time
  (kill -> the rows it held processed) is printed (run with -s).
- Websocket: a staff presence socket on web A stays idle for IDLE_SECONDS (while the mail runs),
  then the operator opens the same ticket through web B: A's socket hears it, and B's socket
  hears A's answer (a direct send across processes), both through Redis.

Worker timings are those of a deployment that wants a dead worker's work back within ~15 s:
heartbeat 2 s, dead after 10 s, scheduler tick 2 s (the defaults are 5 s, 30 s, 5 s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import secrets
import smtplib
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import websockets
from django_tasks_db.models import DBTaskResult

from madoguchi.connectors.mail.models import OutboundMail, RawMail
from madoguchi.conversations.models import Message, Ticket
from madoguchi.core.models import WorkerHeartbeat
from madoguchi.core.testing.mailservers import SmtpCapture
from madoguchi.core.testing.topology import (
    PRODUCTION_SETTINGS,
    SESSION_COOKIE,
    Topology,
    create_database,
    drop_database,
    free_port,
    is_healthy,
    is_listening,
    japanese_mail,
    last_json_line,
    mail_message_id,
    mail_subject,
    postgres_problem,
    redis_flush,
    redis_problem,
    shell_call,
)

pytestmark = pytest.mark.postgresql

MAILS = 500
CLIENTS = 4
IDLE_SECONDS = 30.0
PROCESSING_BOUND_SECONDS = 120.0
STARTUP_SECONDS = 90.0
HEARTBEAT_SECONDS = 2.0
DEAD_SECONDS = 10.0
TICK_SECONDS = 2.0
REDIS_DATABASE = 14  # no other test or tool of the project uses it: emptied before and after
SHOP_ADDRESS = "support@yamada-en.example"
ADMIN_EMAIL = "admin@yamada-en.example"
OPERATOR_EMAIL = "operator@yamada-en.example"
WORKER_A, WORKER_B = "topology-worker-a", "topology-worker-b"


def _query(url: str) -> Callable[..., list[tuple[Any, ...]]]:
    import psycopg

    connection = psycopg.connect(url, autocommit=True)

    def query(sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    query.connection = connection  # type: ignore[attr-defined]
    return query


def _send_mails(port: int, numbers: list[int], started: dt.datetime) -> int:
    """Deliver the mails `numbers` over one SMTP connection; return how many were accepted."""
    accepted = 0
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        for number in numbers:
            sender, raw = japanese_mail(
                number=number, to=SHOP_ADDRESS, sent_at=started + dt.timedelta(seconds=number)
            )
            refused = client.sendmail(sender, [SHOP_ADDRESS], raw)
            assert refused == {}
            accepted += 1
    return accepted


async def _presence_scenario(
    *,
    web_a: int,
    web_b: int,
    shop_slug: str,
    ticket_number: int,
    sessions: dict[str, str],
    result: dict[str, Any],
) -> None:
    """Idle on web A, then join the same ticket through web B; record what each socket heard."""

    def connect(port: int, email: str) -> Any:
        return websockets.connect(
            f"ws://127.0.0.1:{port}/ws/shops/{shop_slug}/tickets/{ticket_number}/presence/",
            additional_headers={
                "Cookie": f"{SESSION_COOKIE}={sessions[email]}",
                "Origin": f"https://127.0.0.1:{port}",
                # The TLS proxy's word (docs/deploy/nginx.conf): the browser's side was wss.
                "X-Forwarded-Proto": "https",
            },
            open_timeout=20,
        )

    async with connect(web_a, ADMIN_EMAIL) as socket_a:
        opened = time.monotonic()
        heard_while_idle = []
        while (left := IDLE_SECONDS - (time.monotonic() - opened)) > 0:
            try:
                heard_while_idle.append(await asyncio.wait_for(socket_a.recv(), left))
            except TimeoutError:
                break
        result["idle_seconds"] = time.monotonic() - opened
        result["heard_while_idle"] = heard_while_idle
        async with connect(web_b, OPERATOR_EMAIL) as socket_b:
            joined = time.monotonic()
            result["a_heard"] = json.loads(await asyncio.wait_for(socket_a.recv(), 20))
            result["a_latency"] = time.monotonic() - joined
            result["b_heard"] = json.loads(await asyncio.wait_for(socket_b.recv(), 20))


def _run_presence(**kwargs: Any) -> None:
    result = kwargs["result"]
    try:
        asyncio.run(_presence_scenario(**kwargs))
    except BaseException as error:  # reported by the test after join()
        result["error"] = repr(error)


def test_the_topology_takes_500_mails_with_a_worker_killed_and_shares_sockets(
    tmp_path: Path, smtp_capture: SmtpCapture
) -> None:
    server_url = os.environ.get("DATABASE_URL", "")
    redis_url = f"redis://127.0.0.1:6379/{REDIS_DATABASE}"
    problem = postgres_problem(server_url) or redis_problem(redis_url)
    if problem:
        pytest.skip(f"The topology needs PostgreSQL and Redis: {problem}")
    database_name = f"madoguchi_topology_{os.getpid()}"
    database_url = create_database(server_url, database_name)
    redis_flush(redis_url)
    topology = Topology(
        directory=tmp_path,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": PRODUCTION_SETTINGS,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            # The database task backend and attachments on disk, whatever the caller's shell says.
            "TASK_BACKEND": "django_tasks_db.DatabaseBackend",
            "MEDIA_STORAGE": "filesystem",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MADOGUCHI_TRUSTED_PROXIES": "127.0.0.1",
            "MADOGUCHI_DATA_DIR": str(tmp_path / "var"),
            "MADOGUCHI_WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "MADOGUCHI_WORKER_DEAD_SECONDS": str(DEAD_SECONDS),
            "MADOGUCHI_SCHEDULER_TICK_SECONDS": str(TICK_SECONDS),
            "PYTHONUNBUFFERED": "1",
        },
    )
    query = _query(database_url)
    try:
        _exercise(topology, query, smtp_capture)
    finally:
        topology.stop_all()
        query.connection.close()  # type: ignore[attr-defined]
        drop_database(server_url, database_name)
        redis_flush(redis_url)


def _exercise(
    topology: Topology, query: Callable[..., list[tuple[Any, ...]]], sink: SmtpCapture
) -> None:
    raw_table, ticket_table = RawMail._meta.db_table, Ticket._meta.db_table
    message_table, outbound_table = Message._meta.db_table, OutboundMail._meta.db_table
    task_table, heartbeat_table = DBTaskResult._meta.db_table, WorkerHeartbeat._meta.db_table

    # Set up as a newcomer would (README, production section).
    topology.command("migrate", "--noinput")
    topology.command(
        "setup",
        "--no-input",
        "--workspace-name",
        "山田園 茶舗",
        "--kind",
        "merchant",
        "--shop-prefix",
        "TEA",
        "--admin-email",
        ADMIN_EMAIL,
        "--admin-name",
        "山田 太郎",
        "--admin-password-file",
        "-",
        stdin=b"topology-admin-pass-7291\n",
    )
    shop = last_json_line(
        topology.command(
            "shell",
            "-c",
            shell_call(
                "prepare_shop",
                admin_email=ADMIN_EMAIL,
                mail_address=SHOP_ADDRESS,
                outgoing_host=sink.host,
                outgoing_port=sink.port,
                operator_email=OPERATOR_EMAIL,
                operator_password="topology-operator-pass-5518",
            ),
        )
    )

    # Every process at once; each is ready when it answers, listens or beats.
    web_a, web_b, smtp_port = free_port(), free_port(), free_port()
    topology.start("web-a", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(web_a))
    topology.start("web-b", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(web_b))
    for worker_id in (WORKER_A, WORKER_B):
        topology.start(worker_id, "worker", "--worker-id", worker_id)
    topology.start("scheduler", "scheduler")
    topology.start("smtpd", "smtpd", "--host", "127.0.0.1", "--port", str(smtp_port))

    def all_ready() -> bool:
        assert topology.exited() == [], topology.logs()
        beating = query(
            f"SELECT count(*) FROM {heartbeat_table} WHERE worker_id IN (%s, %s)",  # noqa: S608
            WORKER_A,
            WORKER_B,
        )[0][0]
        return beating == 2 and is_listening(smtp_port) and is_healthy(web_a) and is_healthy(web_b)

    topology.wait_for("every process to be ready", all_ready, STARTUP_SECONDS)

    # The first mail makes the first ticket, where the idle socket waits while the other 499 arrive.
    first_sent = time.monotonic()
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    assert _send_mails(smtp_port, [0], started) == 1
    topology.wait_for(
        "the first ticket",
        lambda: query(f"SELECT count(*) FROM {ticket_table}")[0][0] == 1,  # noqa: S608
        30,
    )
    ticket_number = query(f"SELECT number FROM {ticket_table}")[0][0]  # noqa: S608
    presence: dict[str, Any] = {}
    presence_thread = threading.Thread(
        target=_run_presence,
        kwargs={
            "web_a": web_a,
            "web_b": web_b,
            "shop_slug": shop["shop_slug"],
            "ticket_number": ticket_number,
            "sessions": shop["sessions"],
            "result": presence,
        },
    )
    presence_thread.start()

    shares = [list(range(1, MAILS))[client::CLIENTS] for client in range(CLIENTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        sending = [pool.submit(_send_mails, smtp_port, share, started) for share in shares]

        # Kill worker A while it holds raw mail rows: mid-batch, its claims in the database.
        def a_holds_mail() -> bool:
            return bool(
                query(
                    f"SELECT 1 FROM {raw_table} WHERE status = %s AND claimed_by = %s LIMIT 1",  # noqa: S608
                    RawMail.Status.PROCESSING,
                    WORKER_A,
                )
            )

        topology.wait_for("worker A to claim mail", a_holds_mail, PROCESSING_BOUND_SECONDS)
        killed_at = time.monotonic()
        topology.kill(WORKER_A)
        held = [
            row[0]
            for row in query(
                f"SELECT id FROM {raw_table} WHERE status = %s AND claimed_by = %s",  # noqa: S608
                RawMail.Status.PROCESSING,
                WORKER_A,
            )
        ]
        tasks_held = query(
            f"SELECT count(*) FROM {task_table} WHERE status = 'RUNNING' "  # noqa: S608
            "AND worker_ids ->> -1 = %s",
            WORKER_A,
        )[0][0]
        accepted = sum(future.result() for future in sending)
    all_sent = time.monotonic()
    assert accepted == MAILS - 1
    assert held != []

    def held_rows_done() -> bool:
        pending = query(
            f"SELECT count(*) FROM {raw_table} WHERE id = ANY(%s) AND status IN (%s, %s)",  # noqa: S608
            held,
            RawMail.Status.RECEIVED,
            RawMail.Status.PROCESSING,
        )
        return bool(pending[0][0] == 0)

    def all_processed() -> bool:
        tickets = query(f"SELECT count(*) FROM {ticket_table}")[0][0]  # noqa: S608
        pending = query(
            f"SELECT count(*) FROM {raw_table} WHERE status IN (%s, %s)",  # noqa: S608
            RawMail.Status.RECEIVED,
            RawMail.Status.PROCESSING,
        )[0][0]
        return bool(tickets == MAILS and pending == 0)

    def state() -> dict[str, object]:
        return {
            "tickets": query(f"SELECT count(*) FROM {ticket_table}")[0][0],  # noqa: S608
            "raw mail (status, attempts, claimed_by)": query(
                f"SELECT status, attempts, claimed_by, count(*) FROM {raw_table} "  # noqa: S608
                "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            ),
            "unfinished raw mail": query(
                f"SELECT id, status, attempts, claimed_by, received_at, next_attempt_at "  # noqa: S608
                f"FROM {raw_table} WHERE status IN ('received', 'processing') ORDER BY id LIMIT 10"
            ),
            "tasks (path, status)": query(
                f"SELECT task_path, status, count(*) FROM {task_table} "  # noqa: S608
                "GROUP BY 1, 2 ORDER BY 1, 2"
            ),
            "held by worker A": held,
        }

    left = PROCESSING_BOUND_SECONDS - (time.monotonic() - first_sent)
    recovered_at = topology.wait_for("the killed worker's mail", held_rows_done, left, state=state)
    left = PROCESSING_BOUND_SECONDS - (time.monotonic() - first_sent)
    processed_at = topology.wait_for(
        f"{MAILS} tickets, no mail pending", all_processed, left, state=state
    )

    presence_thread.join(timeout=IDLE_SECONDS + 60)
    assert not presence_thread.is_alive()
    # The acknowledgements (one send task each) trail behind on the one worker left: stop the
    # processes (a worker finishes its task on SIGTERM) and check what went out so far.
    topology.stop_all()

    # The mail: every one once, as a ticket of its own.
    raw_rows = query(
        f"SELECT status, outcome, internet_message_id FROM {raw_table}"  # noqa: S608
    )
    assert Counter((status, outcome) for status, outcome, _ in raw_rows) == {
        (RawMail.Status.PROCESSED, RawMail.Outcome.CREATED): MAILS
    }
    assert sorted(message_id for _, _, message_id in raw_rows) == sorted(
        mail_message_id(number) for number in range(MAILS)
    )
    subjects = query(f"SELECT subject FROM {ticket_table}")  # noqa: S608
    assert sorted(row[0] for row in subjects) == sorted(mail_subject(n) for n in range(MAILS))
    inbound = query(
        f"SELECT count(*), count(DISTINCT external_id), count(DISTINCT ticket_id) "  # noqa: S608
        f"FROM {message_table} WHERE direction = %s",
        Message.Direction.INBOUND,
    )
    assert inbound == [(MAILS, MAILS, MAILS)]
    dead = query(
        f"SELECT declared_dead_at IS NOT NULL FROM {heartbeat_table} WHERE worker_id = %s",  # noqa: S608
        WORKER_A,
    )
    assert dead == [(True,)]

    # Acknowledgements: one queued per ticket, none sent twice. One being sent when A died is
    # "delivery unknown" (failed, never sent again).
    outbound = dict(
        query(f"SELECT status, count(*) FROM {outbound_table} GROUP BY status")  # noqa: S608
    )
    assert sum(outbound.values()) == MAILS
    recipients = Counter(address for mail in sink.received for address in mail.rcpt_tos)
    assert [address for address, times in recipients.items() if times > 1] == []
    sent, sending = (
        outbound.get(OutboundMail.Status.SENT, 0),
        outbound.get(OutboundMail.Status.SENDING, 0),
    )
    assert sent <= len(sink.received) <= sent + sending
    assert outbound.get(OutboundMail.Status.FAILED, 0) <= 1

    # The socket idle on web A heard the operator who came through web B, and B heard A.
    assert "error" not in presence, presence.get("error")
    assert presence["heard_while_idle"] == []
    assert presence["idle_seconds"] >= IDLE_SECONDS - 0.5
    assert (presence["a_heard"]["type"], presence["a_heard"]["user_id"]) == (
        "presence",
        shop["operator_id"],
    )
    assert (presence["b_heard"]["type"], presence["b_heard"]["user_id"]) == (
        "presence",
        shop["admin_id"],
    )

    print(  # the numbers the closing note quotes (run with -s)
        f"\ntopology: {MAILS} mails over SMTP in {all_sent - first_sent:.1f} s, all processed "
        f"{processed_at - first_sent:.1f} s after the first; worker A killed holding "
        f"{len(held)} raw mail row(s) and {tasks_held} task(s) -> those rows processed "
        f"{recovered_at - killed_at:.1f} s after the kill (heartbeat {HEARTBEAT_SECONDS:g} s, "
        f"dead after {DEAD_SECONDS:g} s, tick {TICK_SECONDS:g} s); acknowledgements by then "
        f"{outbound}; websocket idle {presence['idle_seconds']:.1f} s on web A heard "
        f"web B's join in {presence['a_latency'] * 1000:.0f} ms"
    )
