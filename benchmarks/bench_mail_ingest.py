"""Ingest 2,000 mails through the live pipeline on SQLite, next to the parse-only floor.

The mails: half ISO-2022-JP, half UTF-8, every fifth a reply to an earlier mail of the set
(In-Reply-To/References to its Message-ID, same sender), some with HTML and a PDF. Ingest is
the whole path of a mail that arrives: `ingest_raw` (raw row committed), the processing task
(parse with its time limit, threading, customer, ticket, message, events, attachments, the raw
row's status). Acknowledgements are off: sending them is SMTP I/O, not ingest.

The floor is measured in the same run on the same mails: `email.message_from_bytes(raw,
policy=default)` plus the preferred body (`bench_mail_parse.parse_floor`).
Target: ingest >= 0.33 x the floor on SQLite.

Three result lines: `mail_ingest`, one mail per task (`ingest_raw` processes each mail right after
its commit: a lone mail on the SMTP receiver's path); `mail_ingest_smtp_load`, the SMTP
receiver's path under load (a receiver process commits each mail on its own and queues its task,
as `madoguchi smtpd` does; a worker runs the queued tasks, each taking up the shop's other
waiting rows, and the mail stored while it parses them, as one batch; with the same receiver
as a thread of the worker's process beside it); and `mail_ingest_batch`,
the IMAP poller's path (each
group of `BATCH_SIZE` fetched mails stored raw with one commit by `ingest_raw_batch`, then one
`process_raw_mails_task` for the group): `BATCH_ROUNDS` rounds into fresh shops, each paired
with a floor pass right before it; the median round by ratio is the result.
"""

from __future__ import annotations

import base64
import os
import random
import time
from collections.abc import Callable
from typing import Any

from benchmarks.harness import BENCH_DIR, database_url, log, run_engines

COUNT = 2_000
TARGET_RATIO = 0.33
BATCH_ROUNDS = 5
DATASET = "mail_ingest"
SUBJECTS = ["ご注文について", "配送日時の変更①", "返品のお願い", "㈱山田商店 請求書", "髙橋です"]
LINES = [
    "いつもお世話になっております。",
    "注文番号 #{number} の件でご連絡しました。",
    "配送日を10時～12時に変更できますか。",
    "よろしくお願いいたします。",
    "ギフト包装は可能でしょうか。",
]


def generate_mails(count: int = COUNT, *, seed: int = 7) -> list[bytes]:
    """Return `count` raw mails to support@tea.example.jp; every fifth answers an earlier one."""
    from benchmarks.bench_mail_parse import _cp932_to_jis, _encoded_word

    generator = random.Random(seed)
    senders: list[int] = []
    mails = []
    for index in range(count):
        charset = "iso-2022-jp" if index % 2 == 0 else "utf-8"
        is_reply = index % 5 == 4
        if is_reply:
            parent = generator.randrange(0, index)
            while parent % 5 == 4:
                parent -= 1
            sender = senders[parent]
            subject = f"Re: {SUBJECTS[parent % len(SUBJECTS)]}"
        else:
            sender = index
            subject = SUBJECTS[index % len(SUBJECTS)]
        senders.append(sender)
        lines = [line.format(number=10_000 + index) for line in generator.sample(LINES, 4)]
        text = "\r\n".join(lines) + "\r\n"
        body = _cp932_to_jis(text.encode("cp932")) if charset == "iso-2022-jp" else text.encode()
        headers = [
            f"From: {_encoded_word('山田 太郎', charset)} <customer{sender}@example.jp>",
            "To: support@tea.example.jp",
            f"Subject: {_encoded_word(subject, charset)}",
            f"Date: Fri, 30 May 2025 10:{index % 60:02d}:00 +0900",
            f"Message-ID: <m{index}.{seed}@example.jp>",
            "MIME-Version: 1.0",
        ]
        if is_reply:
            headers.append(f"In-Reply-To: <m{parent}.{seed}@example.jp>")
            headers.append(f"References: <m{parent}.{seed}@example.jp>")
        transfer = "7bit" if charset == "iso-2022-jp" else "8bit"
        part = (
            f"Content-Type: text/plain; charset={charset}\r\n"
            f"Content-Transfer-Encoding: {transfer}\r\n\r\n"
        ).encode() + body
        if index % 10 == 1:
            html = f"<p>{'<br>'.join(lines)}</p>".encode()
            pdf = b"%PDF-1.4\n" + bytes(generator.randrange(256) for _ in range(3000))
            raw = b"".join(
                [
                    "\r\n".join(headers).encode(),
                    f"\r\nContent-Type: multipart/mixed; boundary=m{index}\r\n\r\n".encode(),
                    f"--m{index}\r\nContent-Type: multipart/alternative;".encode(),
                    f" boundary=a{index}\r\n\r\n--a{index}\r\n".encode(),
                    part,
                    f"\r\n--a{index}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n".encode(),
                    html,
                    f"\r\n--a{index}--\r\n--m{index}\r\nContent-Type: application/pdf\r\n".encode(),
                    b"Content-Disposition: attachment; filename=invoice.pdf\r\n",
                    b"Content-Transfer-Encoding: base64\r\n\r\n",
                    base64.encodebytes(pdf),
                    f"\r\n--m{index}--\r\n".encode(),
                ]
            )
        else:
            raw = "\r\n".join(headers).encode() + b"\r\n" + part
        mails.append(raw)
    return mails


def _setup(slug: str = "tea", *, migrate: bool = True) -> Any:
    from django.core.management import call_command

    from madoguchi.connectors.mail.models import MailAddress, MailSettings
    from madoguchi.tenancy.models import Shop, Workspace
    from madoguchi.tenancy.scoping import unscoped

    if migrate:
        call_command("migrate", verbosity=0)
    with unscoped("benchmark setup"):
        workspace = Workspace.objects.create(
            name="山田園", slug=f"bench-yamada-{slug}", kind="merchant"
        )
        shop = Shop.objects.create(
            workspace=workspace, name="山田園 茶舗", slug=slug, ticket_prefix=slug.upper()
        )
        MailAddress.objects.create(
            shop=shop,
            address=f"support@{slug}.example.jp",
            is_verified=True,
            is_default_sender=True,
        )
        MailSettings.objects.create(shop=shop, is_ack_enabled=False)
    return shop


def _rate_floor(mails: list[bytes], rounds: int = 3) -> tuple[float, float]:
    """Return the floor's best messages/second over `rounds` passes: wall clock and CPU."""
    from benchmarks.bench_mail_parse import parse_floor

    best_wall = best_cpu = float("inf")
    for _round in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        for raw in mails:
            parse_floor(raw)
        best_wall = min(best_wall, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
    return len(mails) / best_wall, len(mails) / best_cpu


def measure(*, engine: str, scale: str) -> list[dict[str, Any]]:
    from django.conf import settings

    from madoguchi.connectors.mail.models import RawMail
    from madoguchi.connectors.mail.pipeline import BATCH_SIZE, ingest_raw
    from madoguchi.tenancy.scoping import unscoped

    settings.MEDIA_ROOT = str(BENCH_DIR / "mail-ingest-media")
    shop = _setup()
    mails = generate_mails()
    floor, floor_cpu = _rate_floor(mails)
    for raw in generate_mails(100, seed=99):  # warm the code paths and the database
        ingest_raw(shop_ids=[shop.id], raw=raw, source="imap")
    with unscoped("benchmark counts"):
        before = RawMail.objects.count()
    started, started_cpu = time.perf_counter(), time.process_time()
    for raw in mails:
        # The live path: the raw row commits, then the processing task runs (immediate backend).
        ingest_raw(shop_ids=[shop.id], raw=raw, source="imap")
    elapsed = time.perf_counter() - started
    # SQLite runs in this process, so CPU time covers all of ingest; on a busy machine it is
    # the steadier measure, next to the floor's CPU time.
    elapsed_cpu = time.process_time() - started_cpu
    with unscoped("benchmark counts"):
        rows = RawMail.objects.filter(shop=shop).order_by("id")[before:]
        outcomes = [row.outcome or row.status for row in rows.only("outcome", "status")]
    line = _result(
        "mail_ingest", engine, scale, mails, elapsed, elapsed_cpu, floor, floor_cpu, outcomes
    )
    smtp_line = _smtp_under_load(engine, scale, mails)
    # The poller's path (imap.mailbox_poll): each group of BATCH_SIZE fetched mails is stored raw
    # with one commit, then one batch task processes it. Same mails, into further shops of the
    # same database (idempotency is per shop).
    batch_line = _measure_rounds(
        "mail_ingest_batch",
        engine,
        scale,
        mails,
        prefix="teab",
        warm_seed=98,
        ingest=_ingest_batches,
    )
    best_rate = len(mails) / batch_line.pop("best_elapsed")
    best_floor = max(floor, batch_line.pop("best_round_floor"))
    batch_line["best_messages_per_second"] = round(best_rate, 1)
    batch_line["best_floor_messages_per_second"] = round(best_floor, 1)
    batch_line["best_ratio_to_floor"] = round(best_rate / best_floor, 3)
    batch_line["batch_size"] = BATCH_SIZE
    return [line, smtp_line, batch_line]


def _measure_rounds(
    name: str,
    engine: str,
    scale: str,
    mails: list[bytes],
    *,
    prefix: str,
    warm_seed: int,
    ingest: Callable[[int, list[bytes]], None],
) -> dict[str, Any]:
    """Ingest `mails` into a fresh shop in each of BATCH_ROUNDS rounds and report the median.

    The speed of this VM drifts by 20-30 % within minutes, so each round measures the floor
    right before its ingest and the line reports the median round (by ratio to its floor), the
    ratios of all rounds, and (for the caller) the best round's time and the best floor.
    """
    from madoguchi.connectors.mail.models import RawMail
    from madoguchi.tenancy.scoping import unscoped

    rounds = []
    for round_number in range(BATCH_ROUNDS):
        shop = _setup(f"{prefix}{round_number}", migrate=False)
        if round_number == 0:  # warm the path
            ingest(shop.id, generate_mails(100, seed=warm_seed))
        round_floor, round_floor_cpu = _rate_floor(mails, rounds=1)
        started, started_cpu = time.perf_counter(), time.process_time()
        ingest(shop.id, mails)
        elapsed = time.perf_counter() - started
        elapsed_cpu = time.process_time() - started_cpu
        with unscoped("benchmark counts"):
            rows = RawMail.objects.filter(shop=shop).order_by("id")
            if round_number == 0:
                rows = rows[100:]
            outcomes = [row.outcome or row.status for row in rows.only("outcome", "status")]
        rounds.append((elapsed, elapsed_cpu, round_floor, round_floor_cpu, outcomes))
    rounds.sort(key=lambda item: len(mails) / item[0] / item[2])
    elapsed, elapsed_cpu, round_floor, round_floor_cpu, outcomes = rounds[len(rounds) // 2]
    line = _result(
        name, engine, scale, mails, elapsed, elapsed_cpu, round_floor, round_floor_cpu, outcomes
    )
    line["rounds_ratio_to_floor"] = [round(len(mails) / item[0] / item[2], 3) for item in rounds]
    line["best_elapsed"] = min(item[0] for item in rounds)
    line["best_round_floor"] = max(item[2] for item in rounds)
    return line


def _smtp_under_load(engine: str, scale: str, mails: list[bytes]) -> dict[str, Any]:
    """The SMTP receiver's path with mail arriving faster than one mail per task: a receiver
    stores each mail with its own commit (`ingest_raw`, source smtp) and queues its task; a
    worker runs the queued tasks in order (`process_raw_mail_task`, which takes up the shop's
    other waiting rows). Wall time from the first mail stored to the last one processed; the
    median of `BATCH_ROUNDS` rounds by ratio, each with a floor pass before.

    As deployed, the receiver is a process of its own (`madoguchi smtpd`) beside the worker
    (`madoguchi worker`), so the line's receiver is a forked process and its CPU time is not in
    the line's CPU figures (the worker's). `one_process_*` is the same with the receiver as a
    thread of the worker's process (both share one interpreter lock), as a check on the
    receiver's cost.
    """
    line = _smtp_rounds("mail_ingest_smtp_load", engine, scale, mails, own_process=True)
    one = _smtp_rounds("mail_ingest_smtp_one_process", engine, scale, mails, own_process=False)
    line["one_process_ratio_to_floor"] = one["ratio_to_floor"]
    line["one_process_rounds_ratio_to_floor"] = one["rounds_ratio_to_floor"]
    line["one_process_cpu_ratio_to_floor"] = one["cpu_ratio_to_floor"]
    return line


def _smtp_rounds(
    name: str, engine: str, scale: str, mails: list[bytes], *, own_process: bool
) -> dict[str, Any]:
    import multiprocessing
    import queue
    import threading

    from django.db import close_old_connections, connections, transaction

    from madoguchi.connectors.mail import pipeline
    from madoguchi.connectors.mail.tasks import process_raw_mail_task

    fork = multiprocessing.get_context("fork")
    work: Any = fork.SimpleQueue() if own_process else queue.SimpleQueue()
    real_enqueue = pipeline._enqueue_processing

    def enqueue(shop_id: int, raw_mail_id: int) -> None:
        transaction.on_commit(lambda: work.put((shop_id, raw_mail_id)))

    def receiver(shop_id: int, raws: list[bytes]) -> None:
        try:
            for raw in raws:
                pipeline.ingest_raw(shop_ids=[shop_id], raw=raw, source="smtp")
        finally:
            work.put(None)
            close_old_connections()

    def worker() -> None:
        try:
            while (item := work.get()) is not None:
                process_raw_mail_task.call(*item)
        finally:
            close_old_connections()

    def ingest(shop_id: int, raws: list[bytes]) -> None:
        if own_process:
            connections.close_all()  # the child opens its own connection
            child = fork.Process(target=receiver, args=(shop_id, raws))
            child.start()
            worker()
            child.join()
            return
        threads = [
            threading.Thread(target=receiver, args=(shop_id, raws)),
            threading.Thread(target=worker),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    pipeline._enqueue_processing = enqueue
    try:
        line = _measure_rounds(
            name,
            engine,
            scale,
            mails,
            prefix="teas" if own_process else "teat",
            warm_seed=97,
            ingest=ingest,
        )
    finally:
        pipeline._enqueue_processing = real_enqueue
    del line["best_elapsed"], line["best_round_floor"]
    return line


def _ingest_batches(shop_id: int, mails: list[bytes]) -> None:
    """As `imap.mailbox_poll` does with its groups of fetched mail: one commit stores a group,
    one task processes it."""
    from madoguchi.connectors.mail.pipeline import BATCH_SIZE, ingest_raw_batch
    from madoguchi.connectors.mail.tasks import process_raw_mails_task

    for start in range(0, len(mails), BATCH_SIZE):
        stored = ingest_raw_batch(
            shop_id=shop_id, raws=mails[start : start + BATCH_SIZE], source="imap"
        )
        process_raw_mails_task.enqueue(shop_id, [item.raw_mail_id for item in stored])


def _result(
    name: str,
    engine: str,
    scale: str,
    mails: list[bytes],
    elapsed: float,
    elapsed_cpu: float,
    floor: float,
    floor_cpu: float,
    outcomes: list[str],
) -> dict[str, Any]:
    rate = len(mails) / elapsed
    rate_cpu = len(mails) / elapsed_cpu
    return {
        "benchmark": name,
        "engine": engine,
        "scale": scale,
        "n": len(mails),
        "messages_per_second": round(rate, 1),
        "floor_messages_per_second": round(floor, 1),
        "ratio_to_floor": round(rate / floor, 3),
        "target_ratio": TARGET_RATIO,
        "cpu_messages_per_second": round(rate_cpu, 1),
        "cpu_floor_messages_per_second": round(floor_cpu, 1),
        "cpu_ratio_to_floor": round(rate_cpu / floor_cpu, 3),
        "meets_target": rate / floor >= TARGET_RATIO,
        "load_average": round(os.getloadavg()[0], 2),
        "tickets_created": outcomes.count("created"),
        "messages_appended": outcomes.count("appended"),
        "failed": outcomes.count("failed"),
    }


def run(scale: str) -> list[dict[str, Any]]:
    """Run on a fresh SQLite file (ingest needs an empty mailbox history each time)."""
    path = BENCH_DIR / f"{DATASET}-{scale}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    log(f"mail_ingest: fresh database {database_url('sqlite', DATASET, scale)}")
    return run_engines(__name__, scale, dataset=DATASET, engines=("sqlite",))
