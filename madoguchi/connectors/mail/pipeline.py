"""The one inbound pipeline for IMAP, the SMTP receiver and imports: store raw, then process.

`ingest_raw` commits one `RawMail` row per shop the mail was addressed to before anything else
happens (the SMTP receiver answers 250 and the IMAP fetcher flags the mail only after that
commit). `raw_mail_process` then handles one row: parse with a time limit, recognise loops,
bounces and automated mail, find the ticket the mail continues, hand it to
`conversations.services.receive_inbound`, save attachments and queue the acknowledgement, all in
one transaction. A failing mail is marked failed with its error and keeps its raw bytes; the next
mail goes on.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from madoguchi.connectors.mail import parsing
from madoguchi.connectors.mail.authentication import AuthenticationWarning, own_domain_warning
from madoguchi.connectors.mail.autoreply import ack_send, mail_settings_for
from madoguchi.connectors.mail.bounces import bounce_record
from madoguchi.connectors.mail.models import (
    MailAddress,
    MailReference,
    MailSettings,
    RawMail,
)
from madoguchi.connectors.mail.parsing import ParsedMail
from madoguchi.connectors.mail.sending import is_our_message_id
from madoguchi.connectors.mail.thread_matching import ThreadQuery, find_tickets, ticket_tag_in
from madoguchi.conversations.models import Channel, Message, Ticket
from madoguchi.conversations.scanning import scan_after_commit
from madoguchi.conversations.services import (
    MAX_BODY_CHARS,
    InboundMessage,
    receive_inbound_many,
)
from madoguchi.conversations.storage_quota import Allowance, attachment_row
from madoguchi.core.db import insert_all, save_each
from madoguchi.core.errors import stored_error_text
from madoguchi.core.tasks import enqueue_on_commit
from madoguchi.core.workers import current_worker_id
from madoguchi.customers.normalize import normalize_email
from madoguchi.customers.services import IdentityInput
from madoguchi.events.services import events_deferred
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

logger = logging.getLogger(__name__)

RETRY_DELAYS = (dt.timedelta(minutes=1), dt.timedelta(minutes=10))
# A new row's task normally runs at once; the sweeper steps in only after this grace period.
SWEEP_GRACE = dt.timedelta(minutes=2)
# `mail import` stores all of its mails before it processes them in Date order: the sweeper
# leaves them to it for longer (a killed import's rows are resumed by a re-run, or swept then).
IMPORT_SWEEP_GRACE = dt.timedelta(hours=1)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
PROCESSING_TIMEOUT = dt.timedelta(minutes=15)
TRUNCATION_NOTICE = "\n\n[… The text was shortened here; the original mail keeps all of it.]"


class MailProcessingError(Exception):
    """The mail itself cannot be processed (a retry will not help)."""


@dataclass(frozen=True)
class IngestedMail:
    """What `ingest_raw` did for one shop: a new row to process, or an earlier duplicate."""

    shop_id: int | None
    raw_mail_id: int
    is_duplicate: bool


def _header_block(raw: bytes) -> Any:
    # compat32 and the header section only: cheap, and it never decodes or validates anything.
    ends = [end for end in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if end >= 0]
    return BytesHeaderParser(policy=compat32).parsebytes(raw[: min(ends) + 2] if ends else raw)


def _clean_id(value: str) -> str:
    return "".join(value.split()).strip("<>")


def read_message_id(raw: bytes) -> str:
    """Return the mail's Message-ID without angle brackets, or "" when it has none."""
    value = _header_block(raw).get("Message-ID")
    return _clean_id(str(value)) if value is not None else ""


def read_written_at(raw: bytes) -> dt.datetime | None:
    """Return the mail's Date header as an aware datetime, or None (absent or unreadable)."""
    value = _header_block(raw).get("Date")
    try:
        written = parsedate_to_datetime(str(value)) if value is not None else None
    except (TypeError, ValueError, IndexError):
        return None
    if written is not None and written.tzinfo is None:
        written = written.replace(tzinfo=dt.UTC)
    return written


def idempotency_key(message_id: str, raw: bytes) -> str:
    """Return the key one mail has in one shop: its Message-ID, or the sha256 of its bytes."""
    if message_id and len(message_id) <= 240:
        return message_id
    if message_id:
        return "sha256-id:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def shops_for_recipients(addresses: Sequence[str]) -> list[int]:
    """Return the shops whose addresses are among `addresses` (each shop once, in order)."""
    wanted = [normalize_email(address) for address in addresses if address]
    with unscoped("route inbound mail by recipient address"):
        found = dict(
            MailAddress.objects.filter(address__in=wanted).values_list("address", "shop_id")
        )
    shop_ids: list[int] = []
    for address in wanted:
        shop_id = found.get(address)
        if shop_id is not None and shop_id not in shop_ids:
            shop_ids.append(shop_id)
    return shop_ids


def ingest_raw(
    *,
    shop_ids: Sequence[int],
    raw: bytes,
    source: str,
    envelope_recipients: Sequence[str] = (),
    process: bool = True,
) -> list[IngestedMail]:
    """Store the mail once per shop (UNIQUE shop + key), then queue its processing after commit.

    A mail for no shop is quarantined (stored without a shop), never given to a default tenant.
    A second delivery of the same mail to the same shop is reported as a duplicate and not
    stored or processed again, whichever process saw it first.
    """
    common = _raw_fields(raw, source, envelope_recipients)
    key = common["idempotency_key"]
    if not shop_ids:
        with unscoped("quarantine mail for an unknown recipient"):
            row = RawMail.objects.create(
                shop=None,
                status=RawMail.Status.QUARANTINED,
                last_error=gettext_noop("No shop has this recipient address."),
                **common,
            )
        return [IngestedMail(shop_id=None, raw_mail_id=row.id, is_duplicate=False)]
    results = []
    for shop_id in dict.fromkeys(shop_ids):
        with in_shop(shop_id):
            try:
                # Outside a transaction the INSERT commits on its own (one statement, no
                # BEGIN/COMMIT round trips); inside one, a savepoint keeps a duplicate from
                # breaking it (PostgreSQL).
                with transaction.atomic() if connection.in_atomic_block else nullcontext():
                    raw_mail_id = _insert_raw_row(shop_id, common)
            except IntegrityError:
                earlier = RawMail.objects.filter(shop_id=shop_id, idempotency_key=key).first()
                if earlier is None:
                    raise
                results.append(IngestedMail(shop_id, earlier.id, is_duplicate=True))
                continue
        if process:
            _enqueue_processing(shop_id, raw_mail_id)
        results.append(IngestedMail(shop_id, raw_mail_id, is_duplicate=False))
    return results


def _insert_raw_row(shop_id: int, values: dict[str, Any]) -> int:
    """INSERT one raw row and return its id: the SMTP receiver's hot path, one statement.

    A row per mail is what the receiver must commit before it answers 250, so this skips what
    `insert_all` pays for a batch (a model instance, the per-field preparing): the values are
    `_raw_fields`' own, every other column takes its field's default (a field added later too).
    """
    statement, columns = _raw_columns(connection.vendor)
    row = {"shop_id": shop_id, **values}
    params = []
    for field, default in columns:
        if field.attname in row:
            params.append(field.get_db_prep_save(row[field.attname], connection))
        elif default is _EACH_TIME:
            params.append(field.get_db_prep_save(field.get_default(), connection))
        else:
            params.append(default)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.fetchone()[0])


# A column whose default is computed per row (a callable default).
_EACH_TIME = object()


@functools.cache
def _raw_columns(vendor: str) -> tuple[str, list[tuple[Any, Any]]]:
    """Return the INSERT statement of a raw row and (field, prepared default) per column, once
    per database engine (`vendor`) and process."""
    meta = RawMail._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    statement = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"  # noqa: S608 - names are ours
        f" VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(meta.pk.column)}"
    )
    return statement, [
        (
            field,
            _EACH_TIME
            if callable(field.default)
            else field.get_db_prep_save(field.get_default(), connection),
        )
        for field in fields
    ]


def _raw_fields(raw: bytes, source: str, envelope_recipients: Sequence[str] = ()) -> dict[str, Any]:
    message_id = read_message_id(raw)
    now = timezone.now()
    return {
        "source": source,
        "raw": raw,
        "size": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "idempotency_key": idempotency_key(message_id, raw),
        "internet_message_id": message_id[:255],
        "envelope_recipients": "\n".join(envelope_recipients)[:10_000],
        "received_at": now,
        "next_attempt_at": now + (IMPORT_SWEEP_GRACE if source == "import" else SWEEP_GRACE),
    }


def ingest_raw_batch(*, shop_id: int, raws: Sequence[bytes], source: str) -> list[IngestedMail]:
    """Store several mails of one shop with one commit (a group of fetched IMAP mail).

    What `ingest_raw(..., process=False)` does for each, in one transaction: a mail stored
    before, or earlier in `raws`, is reported as a duplicate and not stored again. The caller
    queues their processing (one batch task) and may flag the mails at the source once this
    returns. Should a concurrent fetcher store one of them meanwhile, they are stored one by
    one instead.
    """
    rows = [RawMail(shop_id=shop_id, **_raw_fields(raw, source)) for raw in raws]
    try:
        with in_shop(shop_id), transaction.atomic():
            earlier = dict(
                RawMail.objects.filter(
                    shop_id=shop_id, idempotency_key__in={row.idempotency_key for row in rows}
                ).values_list("idempotency_key", "id")
            )
            first: dict[str, RawMail] = {}
            for row in rows:
                if row.idempotency_key not in earlier:
                    first.setdefault(row.idempotency_key, row)
            insert_all(list(first.values()))
    except IntegrityError:
        return [
            ingest_raw(shop_ids=[shop_id], raw=raw, source=source, process=False)[0] for raw in raws
        ]
    results = []
    for row in rows:
        stored = first.get(row.idempotency_key)
        if stored is row:
            results.append(IngestedMail(shop_id, row.id, is_duplicate=False))
        else:
            raw_mail_id = stored.id if stored is not None else earlier[row.idempotency_key]
            results.append(IngestedMail(shop_id, raw_mail_id, is_duplicate=True))
    return results


def _enqueue_processing(shop_id: int, raw_mail_id: int) -> None:
    from madoguchi.connectors.mail.tasks import process_raw_mail_task

    enqueue_on_commit(process_raw_mail_task, shop_id, raw_mail_id)


class _ParseJob:
    """Mails handed to one parse worker, and what became of them so far (under `condition`)."""

    def __init__(self, raws: Sequence[bytes]) -> None:
        self.raws = raws
        self.outcomes: list[ParsedMail | BaseException] = []
        # When the worker began the mail it is on now (None between mails).
        self.started: float | None = None
        self.is_abandoned = False
        self.condition = threading.Condition()


class _ParseWorker:
    """A daemon thread that parses the mails handed to it, one after another.

    Starting a thread per mail costs about as much as parsing a small one, and so does handing
    over every mail on its own: a batch of mails goes over as one job. Idle workers wait in
    `_IDLE_WORKERS` for the next job. A worker that overran its time limit is never taken back:
    it may still be stuck in that mail.
    """

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_ParseJob] = queue.SimpleQueue()
        thread = threading.Thread(target=self._run, name="mail-parse", daemon=True)
        thread.start()

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            for raw in job.raws:
                with job.condition:
                    if job.is_abandoned:
                        break
                    job.started = time.monotonic()
                outcome: ParsedMail | BaseException
                try:
                    outcome = parsing.parse_mail(raw)
                except BaseException as error:  # the parser must never take the pipeline down
                    outcome = error
                with job.condition:
                    job.outcomes.append(outcome)
                    job.started = None
                    if len(job.outcomes) == len(job.raws):
                        job.condition.notify()  # the waiting thread wakes only when all are done


_IDLE_WORKERS: list[_ParseWorker] = []
_IDLE_LOCK = threading.Lock()


def parse_with_time_limit(raw: bytes, *, timeout: float) -> ParsedMail:
    """Parse in a worker thread and give up after `timeout` seconds.

    A thread cannot be killed, but the pipeline no longer waits for it: the mail is marked
    failed and the next one goes on (reference/security.md §2.3, a "MIME of death").
    """
    outcome = parse_all_with_time_limit([raw], timeout=timeout)[0]
    if isinstance(outcome, MailProcessingError):
        raise outcome
    return outcome


def parse_all_with_time_limit(
    raws: Sequence[bytes], *, timeout: float
) -> list[ParsedMail | MailProcessingError]:
    """Parse several mails in a worker thread, each with its own time limit; return, per mail,
    its parse or the error that it failed with (over the limit, or the parser raised).

    The mails go to the worker as one job. When one overruns, the worker is left behind with
    it and the mails after it go to another worker.
    """
    results: list[ParsedMail | MailProcessingError] = []
    pending = list(raws)
    while pending:
        with _IDLE_LOCK:
            worker = _IDLE_WORKERS.pop() if _IDLE_WORKERS else None
        worker = worker or _ParseWorker()
        job = _ParseJob(pending)
        worker.jobs.put(job)
        overran = False
        with job.condition:
            while len(job.outcomes) < len(pending):
                now = time.monotonic()
                if job.started is not None and now - job.started >= timeout:
                    job.is_abandoned = overran = True
                    break
                # Wake at the time limit of the mail being parsed (or after a whole limit,
                # between two mails), unless the job finishes first.
                job.condition.wait(timeout if job.started is None else job.started + timeout - now)
            outcomes = list(job.outcomes)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                error = MailProcessingError(
                    f"The parser failed: {type(outcome).__name__}: {outcome}"
                )
                error.__cause__ = outcome  # the log shows where the parser failed
                outcome = error
            results.append(outcome)
        if not overran:
            with _IDLE_LOCK:
                _IDLE_WORKERS.append(worker)
            break
        results.append(MailProcessingError(f"Parsing took longer than {timeout:g} s."))
        pending = pending[len(outcomes) + 1 :]
    return results


def raw_mail_process(*, raw_mail_id: int) -> str:
    """Process one stored mail if nobody else is; return its status afterwards.

    The row is claimed by a conditional UPDATE (received -> processing), so two workers never
    process the same mail. Runs inside the mail's shop scope.
    """
    now = timezone.now()
    claimed = RawMail.objects.filter(pk=raw_mail_id, status=RawMail.Status.RECEIVED).update(
        status=RawMail.Status.PROCESSING,
        processing_started_at=now,
        claimed_by=current_worker_id(),
        attempts=F("attempts") + 1,
    )
    row = RawMail.objects.select_related("shop").get(pk=raw_mail_id)
    if not claimed:
        return row.status
    assert row.shop is not None
    timeout: float = settings.MADOGUCHI["MAIL_PROCESS_TIMEOUT"]
    try:
        parsed = parse_with_time_limit(bytes(row.raw), timeout=timeout)
        with transaction.atomic():
            return _apply([(row, parsed)], mail_settings_for(row.shop))[row.id]
    except OperationalError as error:
        # The database was busy or went away: worth another attempt.
        return _failed(row, error, retry=True)
    except Exception as error:
        logger.exception("Mail %s could not be processed", row.id)
        return _failed(row, error, retry=False)


# Mails per batch task: a batch holds SQLite's write lock for about 0.25 s (ADR 0006).
BATCH_SIZE = 100


def raw_mail_process_waiting(*, shop_id: int, raw_mail_id: int) -> str:
    """Process the mail one task was queued for, with the shop's other mail waiting meanwhile.

    The SMTP receiver queues one task per mail. A lone mail is processed alone, at once, as
    before. Under load, rows stored after the task was queued (or whose tasks are still waiting
    in the queue) are taken up with it as one batch (at most `BATCH_SIZE`), so their own tasks
    find them done; and mail that arrives while the batch is claimed and parsed joins it
    before its transaction opens (`_take_up_arrivals`), so a batch under load fills up instead
    of going out with the few rows the receiver got in between two batches. Only fresh rows
    are taken up: a row waiting for a retry keeps its delay, and an import's rows are its own.
    """
    found = _fresh_waiting(shop_id, also=raw_mail_id, limit=BATCH_SIZE + 1)
    own_status = next((status for pk, status, _size in found if pk == raw_mail_id), "")
    waiting = [(pk, size) for pk, status, size in found if status == RawMail.Status.RECEIVED]
    if not waiting:
        # Taken up by an earlier task (the usual case under load): nothing to write.
        return own_status
    if [pk for pk, _size in waiting] == [raw_mail_id]:
        return raw_mail_process(raw_mail_id=raw_mail_id)
    # Its own row first: it is never left for the sweeper, whatever the byte budget takes (and
    # even when more rows wait than the query returned).
    if raw_mail_id not in {pk for pk, _size in waiting} and own_status in (
        "",
        RawMail.Status.RECEIVED,
    ):
        waiting.append((raw_mail_id, 0))
    waiting.sort(key=lambda item: item[0] != raw_mail_id)
    taken = _within_budget(waiting[:BATCH_SIZE], batch_bytes())
    statuses: dict[int, str] = {}
    parsed_rows = _claim_and_parse(taken, statuses)
    if parsed_rows and len(taken) == len(waiting[:BATCH_SIZE]):
        held = sum(size for _pk, size in waiting[: len(taken)])
        parsed_rows.extend(_take_up_arrivals(shop_id, len(taken), held, statuses))
    return _apply_batch(parsed_rows, statuses).get(raw_mail_id, "")


def batch_bytes() -> int:
    """The raw mail one batch holds parsed at once (`MADOGUCHI["MAIL_BATCH_BYTES"]`)."""
    return int(settings.MADOGUCHI.get("MAIL_BATCH_BYTES", 64 * 1024 * 1024))


def _within_budget(rows: Sequence[tuple[int, int]], budget: int) -> list[int]:
    """The ids of `rows` (id, size) from the first on while their sizes fit `budget`; the
    first is always taken, however large."""
    taken: list[int] = []
    held = 0
    for pk, size in rows:
        if taken and held + size > budget:
            break
        taken.append(pk)
        held += size
    return taken


def _byte_groups(raw_mail_ids: Sequence[int]) -> list[list[int]]:
    """Split ids, in their order, into groups whose raw mail fits the batch byte budget (a mail
    over it is a group of its own), so a batch never holds more parsed mail than that."""
    sizes = dict(RawMail.objects.filter(pk__in=raw_mail_ids).values_list("pk", "size"))
    budget = batch_bytes()
    rows = [(pk, sizes.get(pk, 0)) for pk in dict.fromkeys(raw_mail_ids)]
    groups: list[list[int]] = []
    while rows:
        group = _within_budget(rows, budget)
        groups.append(group)
        rows = rows[len(group) :]
    return groups


def _fresh_waiting(shop_id: int, *, also: int | None, limit: int) -> list[tuple[int, str, int]]:
    """Return (id, status, size) of the shop's fresh waiting rows, oldest first, and of row
    `also`.

    One small query, without the ORM's cost (about 0.5 ms): under load most tasks find their
    row taken up already and end here (the shop/status index, then a sort of the few found).
    """
    table = connection.ops.quote_name(RawMail._meta.db_table)
    own = "id = %s OR " if also is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, status, size FROM {table} WHERE {own}(shop_id = %s AND status = %s"  # noqa: S608 - names are ours
            " AND attempts = 0 AND source <> %s) ORDER BY id LIMIT %s",
            [
                *([also] if also is not None else []),
                shop_id,
                RawMail.Status.RECEIVED,
                RawMail.Source.IMPORT,
                limit,
            ],
        )
        return list(cursor.fetchall())


def _take_up_arrivals(
    shop_id: int, taken: int, held: int, statuses: dict[int, str]
) -> list[tuple[RawMail, ParsedMail]]:
    """Claim and parse the shop's mail that arrived while the batch so far was parsed.

    Mail keeps arriving under load while a batch is parsed (the parser holds no lock, so the
    receiver commits meanwhile); each round takes up what came, until a round finds nothing
    new or the batch holds `BATCH_SIZE` mails or `batch_bytes()` of them (`held` so far). No
    round waits for mail: a mail joins only when it is already stored, so the batch is held up
    by at most the parsing of its newcomers.
    """
    parsed_rows: list[tuple[RawMail, ParsedMail]] = []
    budget = batch_bytes()
    while taken < BATCH_SIZE:
        found = _fresh_waiting(shop_id, also=None, limit=BATCH_SIZE - taken)
        arrived = [(pk, size) for pk, _status, size in found if pk not in statuses]
        if not arrived or held + arrived[0][1] > budget:
            break  # nothing new, or the next mail would not fit: its own task takes it
        fitting = _within_budget(arrived, budget - held)
        taken += len(fitting)
        held += sum(size for _pk, size in arrived[: len(fitting)])
        parsed_rows.extend(_claim_and_parse(fitting, statuses))
    return parsed_rows


def raw_mail_process_batch(*, raw_mail_ids: Sequence[int]) -> dict[int, str]:
    """Process several stored mails of the current shop; return each one's status afterwards.

    Each row is claimed as `raw_mail_process` claims it (rows another worker holds are left
    alone) and parsed, with its time limit, before the transaction opens. Then they are applied
    in one transaction, in groups of mails that do not answer one another (`_independent`),
    each group written together (one statement per table) in a savepoint. When a group fails,
    its mails are applied again one by one, each in its own savepoint: the mail that fails
    rolls back alone, is marked failed with its error and keeps its raw bytes, and the others
    commit. Their after-commit work (search indexing, inbound hooks, acknowledgements) runs
    once for the batch. When the database itself fails (busy, gone), the whole batch goes back
    for another attempt.
    """
    statuses: dict[int, str] = {}
    for group in _byte_groups(raw_mail_ids):
        _apply_batch(_claim_and_parse(group, statuses), statuses)
    return statuses


def _claim_and_parse(
    raw_mail_ids: Sequence[int], statuses: dict[int, str]
) -> list[tuple[RawMail, ParsedMail]]:
    """Claim the rows still waiting and parse them (with their time limit); return the parsed.

    The status of a row not claimed (another worker holds or finished it) and of a mail that
    could not be parsed (marked failed) goes into `statuses`.
    """
    now = timezone.now()
    wanted = list(dict.fromkeys(raw_mail_ids))
    with transaction.atomic():
        # One claim for the batch: the rows still waiting are locked (PostgreSQL; rows another
        # worker is claiming are skipped) or the write lock is held from BEGIN IMMEDIATE on
        # (SQLite), so the UPDATE moves exactly the rows the SELECT saw.
        waiting = set(
            RawMail.objects.select_for_update(skip_locked=True)
            .filter(pk__in=wanted, status=RawMail.Status.RECEIVED)
            .values_list("pk", flat=True)
        )
        claimed = [raw_mail_id for raw_mail_id in wanted if raw_mail_id in waiting]
        if claimed:
            RawMail.objects.filter(pk__in=claimed, status=RawMail.Status.RECEIVED).update(
                status=RawMail.Status.PROCESSING,
                processing_started_at=now,
                claimed_by=current_worker_id(),
                attempts=F("attempts") + 1,
            )
    rows = RawMail.objects.in_bulk(wanted)
    shops = Shop.objects.in_bulk({row.shop_id for row in rows.values()})
    for row in rows.values():
        row.shop = shops[row.shop_id]  # one object for the batch's rows, not one per row
    for raw_mail_id, row in rows.items():
        if raw_mail_id not in claimed:
            statuses[raw_mail_id] = row.status
    timeout: float = settings.MADOGUCHI["MAIL_PROCESS_TIMEOUT"]
    parsed_rows: list[tuple[RawMail, ParsedMail]] = []
    outcomes = parse_all_with_time_limit([bytes(rows[i].raw) for i in claimed], timeout=timeout)
    for raw_mail_id, outcome in zip(claimed, outcomes, strict=True):
        row = rows[raw_mail_id]
        if isinstance(outcome, MailProcessingError):
            logger.error("Mail %s could not be processed", row.id, exc_info=outcome)
            statuses[row.id] = _failed(row, outcome, retry=False)
        else:
            parsed_rows.append((row, outcome))
    return parsed_rows


def _apply_batch(
    parsed_rows: list[tuple[RawMail, ParsedMail]], statuses: dict[int, str]
) -> dict[int, str]:
    """Apply claimed and parsed mails of one shop in one transaction (`raw_mail_process_batch`);
    return `statuses` with theirs added."""
    if not parsed_rows:
        return statuses
    shop = parsed_rows[0][0].shop
    assert shop is not None
    mail_settings = mail_settings_for(shop)
    # In the order the mails were written (their Date), not the order they reached us: a
    # parent that arrived after its reply still gets the ticket's first number.
    parsed_rows.sort(key=_written_at)
    try:
        # The batch's events go in with one INSERT at its end (in order, in this transaction).
        with transaction.atomic(), events_deferred():
            for group in _independent(shop, parsed_rows, mail_settings):
                statuses.update(_apply_isolated(group, mail_settings))
    except OperationalError as error:
        # The database was busy or went away: the batch rolled back, every mail is retried.
        for row, _parsed in parsed_rows:
            statuses[row.id] = _failed(row, error, retry=True)
    return statuses


def _apply_isolated(
    group: Sequence[tuple[RawMail, ParsedMail]], mail_settings: MailSettings
) -> dict[int, str]:
    """Apply a group in a savepoint; should that fail, each mail in a savepoint of its own."""
    statuses: dict[int, str] = {}
    try:
        with transaction.atomic():
            return _apply(group, mail_settings)
    except OperationalError:
        raise
    except Exception as error:
        if len(group) == 1:
            row = group[0][0]
            logger.exception("Mail %s could not be processed", row.id)
            statuses[row.id] = _failed(row, error, retry=False)
            return statuses
    for item in group:
        statuses.update(_apply_isolated([item], mail_settings))
    return statuses


def _written_at(item: tuple[RawMail, ParsedMail]) -> tuple[dt.datetime, int]:
    row, parsed = item
    return (_parsed_date(parsed.date) or row.received_at, row.id)


def _independent(
    shop: Shop, parsed_rows: Sequence[tuple[RawMail, ParsedMail]], mail_settings: MailSettings
) -> list[list[tuple[RawMail, ParsedMail]]]:
    """Sort the batch into groups whose mails can be threaded before any of them is stored.

    A mail depends on an earlier mail of the batch when it answers it (its References or
    In-Reply-To name it), or when it could be threaded by sender and subject (the shop does
    that, or the subject carries a ticket tag) and the same sender wrote earlier: threading must
    see the earlier mail's ticket in the database. A mail an earlier mail of the batch answers
    (a parent written after its reply, by its Date) depends on that reply likewise. Mails that
    depend on none go first, in order; then those that depend only on them, and so on. Most
    batches are one group, or two.
    """
    levels: list[list[tuple[RawMail, ParsedMail]]] = []
    level_of_id: dict[str, int] = {}
    level_of_sender: dict[str, int] = {}
    level_of_referenced: dict[str, int] = {}
    for row, parsed in parsed_rows:
        sender = normalize_email(parsed.from_address or "")
        by_sender = mail_settings.is_subject_threading_enabled or (
            ticket_tag_in(parsed.subject or "", shop=shop) is not None
        )
        after = [level_of_id.get(_clean_id(value), -1) for value in _thread_ids(parsed)]
        if by_sender:
            after.append(level_of_sender.get(sender, -1))
        # A parent written after its reply, or a second reply to the same unknown parent: the
        # stored references of the mail before it find the ticket.
        for value in [parsed.message_id or "", *_thread_ids(parsed)]:
            after.append(level_of_referenced.get(_clean_id(value), -1))
        level = max(after, default=-1) + 1
        if level == len(levels):
            levels.append([])
        levels[level].append((row, parsed))
        level_of_id[row.idempotency_key] = level
        if parsed.message_id:
            level_of_id[_clean_id(parsed.message_id)] = level
        level_of_sender[sender] = max(level, level_of_sender.get(sender, -1))
        for value in _thread_ids(parsed):
            referenced = _clean_id(value)
            level_of_referenced[referenced] = max(level, level_of_referenced.get(referenced, -1))
    return levels


def _thread_ids(parsed: ParsedMail) -> list[str]:
    return [value for value in [*parsed.references, parsed.in_reply_to or ""] if value]


def _failed(row: RawMail, error: Exception, *, retry: bool) -> str:
    text = str(error) if isinstance(error, MailProcessingError) else stored_error_text(error)
    if retry and row.attempts < MAX_ATTEMPTS:
        status = RawMail.Status.RECEIVED
        next_attempt_at = timezone.now() + RETRY_DELAYS[row.attempts - 1]
    else:
        status = RawMail.Status.FAILED
        next_attempt_at = None
    RawMail.objects.filter(pk=row.pk).update(
        status=status, last_error=text[:4000], next_attempt_at=next_attempt_at
    )
    return status


def _parsed_date(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else None
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if timezone.is_aware(parsed) else None
    return None


def _truncated(text: str) -> str:
    if len(text) <= MAX_BODY_CHARS:
        return text
    return text[: MAX_BODY_CHARS - len(TRUNCATION_NOTICE)] + TRUNCATION_NOTICE


def _own_domains(shop_id: int) -> set[str]:
    """The domains of the shop's addresses (mail claiming them must authenticate)."""
    addresses = MailAddress.objects.filter(shop_id=shop_id).values_list("address", flat=True)
    return {address.rpartition("@")[2].lower() for address in addresses if "@" in address}


def _is_from_us(address: str) -> bool:
    if not address:
        return False
    with unscoped("recognise our own addresses across shops"):
        return MailAddress.objects.filter(address=normalize_email(address)).exists()


# What processing writes on a raw row (one `save_each` at the end of `_apply`).
_FINISHED_FIELDS = (
    "status",
    "outcome",
    "from_address",
    "reply_to_address",
    "authentication_warning",
    "subject",
    "references",
    "processed_at",
    "last_error",
    "ticket",
    "message",
)


def _apply(
    group: Sequence[tuple[RawMail, ParsedMail]], mail_settings: MailSettings
) -> dict[int, str]:
    """Apply parsed mails of one shop that do not answer one another (`_independent`).

    Each mail is dropped (our own mail coming back), recorded as a bounce, or handed to
    `receive_inbound_many` with the ticket it continues; then attachments are saved, new
    tickets acknowledged and the raw rows marked, each kind of write once for the group.
    """
    shop = group[0][0].shop
    assert shop is not None
    finished: list[RawMail] = []
    inbound: list[tuple[RawMail, ParsedMail, list[str]]] = []
    own_domains = _own_domains(shop.id)
    for row, parsed in group:
        references = [_clean_id(reference) for reference in parsed.references if reference]
        row.from_address = normalize_email(parsed.from_address or "")[:254]
        # Mail claiming the shop's own domain without the receiving server's DMARC pass is
        # flagged (the ticket shows it); failing DMARC, it is never taken for the shop's own
        # mail coming back (a loop without any result still is).
        row.authentication_warning = own_domain_warning(
            raw=bytes(row.raw), from_address=row.from_address, own_domains=own_domains
        )
        reply_to = next((address for address in parsed.reply_to if address), "")
        row.reply_to_address = normalize_email(reply_to)[:254]
        row.subject = (parsed.subject or "")[:255]
        row.references = "\n".join(references)[:10_000]
        row.processed_at = timezone.now()
        row.last_error = ""
        row.ticket = row.message = None
        message_id = parsed.message_id or ""
        is_automated = bool(parsed.auto_submitted)
        if (
            message_id
            and is_our_message_id(message_id)
            and row.authentication_warning != AuthenticationWarning.DMARC_FAILED
            and (is_automated or _is_from_us(row.from_address))
        ):
            finished.append(_outcome(row, RawMail.Status.AUTOMATED, RawMail.Outcome.DROPPED))
        elif parsed.is_bounce:
            row.ticket = bounce_record(raw_mail=row)
            finished.append(_outcome(row, RawMail.Status.AUTOMATED, RawMail.Outcome.BOUNCE))
        else:
            inbound.append((row, parsed, references))
    if inbound:
        tickets = find_tickets(
            shop=shop,
            queries=[
                ThreadQuery(
                    parsed.in_reply_to,
                    references,
                    parsed.subject or "",
                    row.from_address,
                    message_id=_clean_id(parsed.message_id or ""),
                    at=_written_time(row, parsed),
                )
                for row, parsed, references in inbound
            ],
            thread_by_subject=mail_settings.is_subject_threading_enabled,
        )
        threaded = []
        for item, ticket in zip(inbound, tickets, strict=True):
            row, parsed, _references = item
            if ticket is None and parsed.auto_submitted:
                # An auto-reply to nothing we know never opens a ticket: it stays in the raw
                # mail list as automated mail.
                finished.append(_outcome(row, RawMail.Status.AUTOMATED, RawMail.Outcome.AUTOMATED))
            else:
                threaded.append((item, ticket))
        results = (
            receive_inbound_many(
                [_inbound_message(row, parsed, ticket) for (row, parsed, _), ticket in threaded],
                shop=shop,
            )
            if threaded
            else []
        )
        attachments: list[tuple[Message, ParsedMail]] = []
        mail_references: list[MailReference] = []
        for ((row, parsed, references), _ticket), result in zip(threaded, results, strict=True):
            row.ticket, row.message = result.ticket, result.message
            if result.is_duplicate:
                finished.append(_outcome(row, RawMail.Status.DUPLICATE, RawMail.Outcome.DUPLICATE))
                continue
            mail_references.extend(_references_of(result.message, parsed))
            if parsed.attachments:
                attachments.append((result.message, parsed))
            if parsed.auto_submitted:
                # Counted as a new ticket should the conversation it continues open one (a
                # closed ticket's follow-up): every ticket opened shows in the outcomes.
                outcome = (
                    RawMail.Outcome.CREATED if result.is_new_ticket else RawMail.Outcome.AUTOMATED
                )
                finished.append(_outcome(row, RawMail.Status.AUTOMATED, outcome))
                continue
            if result.is_new_ticket and row.source != RawMail.Source.IMPORT:
                # Imported history is past mail: nobody is waiting for an acknowledgement.
                ack_send(
                    ticket=result.ticket,
                    sender=row.from_address,
                    customer_name=parsed.from_name or "",
                    is_automated=False,
                    is_bounce=False,
                    in_reply_to=parsed.message_id or "",
                    references=references,
                    mail_settings=mail_settings,
                )
            outcome = RawMail.Outcome.CREATED if result.is_new_ticket else RawMail.Outcome.APPENDED
            finished.append(_outcome(row, RawMail.Status.PROCESSED, outcome))
        _save_attachments(attachments)
        insert_all(mail_references)
    save_each(finished, _FINISHED_FIELDS)
    return {row.id: row.status for row in finished}


def _outcome(row: RawMail, status: str, outcome: str) -> RawMail:
    row.status, row.outcome = status, outcome
    return row


def _written_time(row: RawMail, parsed: ParsedMail) -> dt.datetime:
    """When the mail counts as received: its Date for imported history, else its arrival."""
    if row.source == RawMail.Source.IMPORT:
        return _parsed_date(parsed.date) or row.received_at
    return row.received_at


# Message-IDs kept per mail for a parent arriving later (the newest ones: the closest ancestors).
MAX_REFERENCES_KEPT = 50


def _references_of(message: Message, parsed: ParsedMail) -> list[MailReference]:
    own = _clean_id(parsed.message_id or "")
    ids = [_clean_id(value) for value in _thread_ids(parsed)]
    kept = [value for value in dict.fromkeys(ids) if value and value != own and len(value) <= 255]
    return [
        MailReference(shop_id=message.shop_id, message=message, referenced_id=value)
        for value in kept[-MAX_REFERENCES_KEPT:]
    ]


def _inbound_message(row: RawMail, parsed: ParsedMail, ticket: Ticket | None) -> InboundMessage:
    assert row.shop_id is not None
    sender = row.from_address
    received_at = _written_time(row, parsed)
    return InboundMessage(
        shop_id=row.shop_id,
        channel=Channel.EMAIL,
        external_id=row.idempotency_key,
        body_text=_truncated(parsed.body_text or ""),
        body_html=parsed.body_html or "",
        identities=(
            [IdentityInput(kind="email", value=sender, display_name=parsed.from_name or "")]
            if sender
            else []
        ),
        customer_name=parsed.from_name or "",
        subject=parsed.subject or "",
        received_at=received_at,
        ticket_id=ticket.id if ticket is not None else None,
        metadata={"raw_mail_id": row.id, "is_automated": bool(parsed.auto_submitted)},
    )


def _save_attachments(messages: Sequence[tuple[Message, ParsedMail]]) -> None:
    """Store the attachments that fit the limits; one that does not (or is empty) is kept as a
    row without a file saying why (conversations.storage_quota), and the raw mail keeps it."""
    allowances: dict[int, Allowance] = {}
    stored = []
    for message, parsed in messages:
        if not parsed.attachments:
            continue
        allowance = allowances.get(message.shop_id)
        if allowance is None:
            tickets = {row.ticket_id for row, mail in messages if row.shop_id == message.shop_id}
            allowance = allowances[message.shop_id] = Allowance(message.shop_id, tickets)
        for attachment in parsed.attachments:
            whole = len(attachment.content) == attachment.size  # else over the parser's limit
            stored.append(
                attachment_row(
                    message=message,
                    filename=attachment.filename or "attachment",
                    content_type=attachment.content_type or "application/octet-stream",
                    size=attachment.size,
                    sha256=attachment.sha256,
                    content=attachment.content if whole else None,
                    allowance=allowance,
                )
            )
    insert_all(stored)
    for shop_id in {row.shop_id for row in stored if not row.withheld}:
        scan_after_commit(shop_id)


def raw_mail_reprocess(*, raw_mail: RawMail) -> None:
    """Put a failed mail back in the queue (the failed-mail list's button)."""
    if not raw_mail.is_reprocessable:
        return
    RawMail.objects.filter(pk=raw_mail.pk, status=RawMail.Status.FAILED).update(
        status=RawMail.Status.RECEIVED, next_attempt_at=timezone.now(), last_error=""
    )
    if raw_mail.shop_id is not None:
        _enqueue_processing(raw_mail.shop_id, raw_mail.pk)


def raw_mail_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Re-queue due rows and rows a dead worker left in "processing"."""
    now = now or timezone.now()
    with unscoped("sweep the inbound mail queue of every shop"):
        stale = RawMail.objects.filter(
            status=RawMail.Status.PROCESSING, processing_started_at__lt=now - PROCESSING_TIMEOUT
        )
        stale_count = 0
        for row in stale:
            next_status = (
                RawMail.Status.RECEIVED if row.attempts < MAX_ATTEMPTS else RawMail.Status.FAILED
            )
            stale_count += RawMail.objects.filter(
                pk=row.pk, status=RawMail.Status.PROCESSING
            ).update(
                status=next_status,
                next_attempt_at=now,
                last_error=gettext_noop("The worker stopped while processing this mail."),
            )
        due = list(
            RawMail.objects.filter(
                status=RawMail.Status.RECEIVED, shop__isnull=False, next_attempt_at__lte=now
            ).values_list("shop_id", "id")
        )
    from madoguchi.connectors.mail.tasks import process_raw_mails_task

    by_shop: dict[int, list[int]] = {}
    for shop_id, raw_mail_id in due:
        by_shop.setdefault(shop_id, []).append(raw_mail_id)
    for shop_id, raw_mail_ids in by_shop.items():
        for start in range(0, len(raw_mail_ids), BATCH_SIZE):
            process_raw_mails_task.enqueue(shop_id, raw_mail_ids[start : start + BATCH_SIZE])
    return {"stale": stale_count, "requeued": len(due)}
