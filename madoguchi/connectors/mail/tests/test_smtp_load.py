"""The SMTP receiver's path under load: one task per mail, each taking up its shop's waiting mail.

A task claims the rows waiting, parses them, then takes up the mail that arrived meanwhile
before it applies the batch; a task that runs while another holds the rows does nothing to
them. "Meanwhile" is made exact here: the other task runs, or the mail is stored, from inside
the first task's parse.
"""

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from madoguchi.connectors.mail import pipeline
from madoguchi.connectors.mail.models import RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.tasks import process_raw_mail_task
from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS, mail_setup
from madoguchi.connectors.mail.tests.raw import build
from madoguchi.conversations.models import Message
from madoguchi.tenancy.scoping import in_shop


@pytest.fixture
def mail_world(world, settings):
    settings.EMAIL_PORT = 9  # nothing listens: acknowledgements stay queued
    mail_setup(world)
    return world


def mail(message_id, *, minute=0):
    lines = [
        f"From: 佐藤 花子 <{message_id.split('@')[0]}@example.com>",
        f"To: {TEA_ADDRESS}",
        "Subject: 注文した商品について",
        f"Date: Mon, 01 Sep 2025 10:{minute:02d}:00 +0900",
        f"Message-ID: <{message_id}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    return build([line.encode() for line in lines], f"本文 {message_id}\r\n")


def store(shop, *message_ids):
    with in_shop(shop.id):
        return [
            ingest_raw(shop_ids=[shop.id], raw=mail(value), source="smtp", process=False)[
                0
            ].raw_mail_id
            for value in message_ids
        ]


def rows(shop):
    with scopes_disabled():
        return list(
            RawMail.objects.filter(shop=shop)
            .order_by("id")
            .values_list("internet_message_id", "status", "attempts")
        )


def messages_per_mail(shop):
    with scopes_disabled():
        # The world's own mail messages have no external id.
        external_ids = Message.objects.filter(
            shop=shop, channel="email", external_id__endswith="@x"
        ).values_list("external_id", flat=True)
        return sorted(external_ids)


@pytest.fixture
def batches(monkeypatch):
    """The mails of each batch applied, in the order applied."""
    applied: list[list[str]] = []
    real_apply = pipeline._apply_batch

    def apply(parsed_rows, statuses):
        applied.append(sorted(row.internet_message_id for row, _parsed in parsed_rows))
        return real_apply(parsed_rows, statuses)

    monkeypatch.setattr(pipeline, "_apply_batch", apply)
    return applied


def during_first_parse(monkeypatch, action):
    """Run `action` once, while the first batch is being parsed (no lock is held then)."""
    real_parse = pipeline.parse_all_with_time_limit
    calls = []

    def parse(raws, *, timeout):
        calls.append(len(raws))
        if len(calls) == 1:
            action()
        return real_parse(raws, timeout=timeout)

    monkeypatch.setattr(pipeline, "parse_all_with_time_limit", parse)
    return calls


@pytest.mark.django_db
def test_a_task_running_while_another_holds_the_batch_leaves_it_alone(
    mail_world, monkeypatch, batches
):
    tea = mail_world.tea
    ids = store(tea, "a@x", "b@x", "c@x")
    second = []
    during_first_parse(
        monkeypatch, lambda: second.append(process_raw_mail_task.call(tea.id, ids[1]))
    )

    assert process_raw_mail_task.call(tea.id, ids[0]) == "processed"

    # The second task found its row claimed by the first: it wrote nothing.
    assert second == ["processing"]
    assert batches == [["a@x", "b@x", "c@x"]]
    assert rows(tea) == [("a@x", "processed", 1), ("b@x", "processed", 1), ("c@x", "processed", 1)]
    assert messages_per_mail(tea) == ["a@x", "b@x", "c@x"]
    # Their own tasks, running late, find them done.
    assert [process_raw_mail_task.call(tea.id, raw_mail_id) for raw_mail_id in ids] == [
        "processed"
    ] * 3
    assert messages_per_mail(tea) == ["a@x", "b@x", "c@x"]


@pytest.mark.django_db
def test_mail_arriving_while_a_batch_is_parsed_joins_it(mail_world, monkeypatch, batches):
    tea = mail_world.tea
    ids = store(tea, "a@x", "b@x")
    arrived = []
    parses = during_first_parse(monkeypatch, lambda: arrived.extend(store(tea, "c@x", "d@x")))

    assert process_raw_mail_task.call(tea.id, ids[0]) == "processed"

    # One transaction for all four; the newcomers were parsed in a second round.
    assert batches == [["a@x", "b@x", "c@x", "d@x"]]
    assert parses == [2, 2]
    assert [status for _id, status, _attempts in rows(tea)] == ["processed"] * 4
    assert [process_raw_mail_task.call(tea.id, raw_mail_id) for raw_mail_id in arrived] == [
        "processed",
        "processed",
    ]
    assert batches == [["a@x", "b@x", "c@x", "d@x"]]
    assert messages_per_mail(tea) == ["a@x", "b@x", "c@x", "d@x"]


@pytest.mark.django_db
def test_mail_arriving_meanwhile_fills_the_batch_up_to_its_size_only(
    mail_world, monkeypatch, batches
):
    tea = mail_world.tea
    monkeypatch.setattr(pipeline, "BATCH_SIZE", 3)
    ids = store(tea, "a@x", "b@x")
    arrived = []
    during_first_parse(monkeypatch, lambda: arrived.extend(store(tea, "c@x", "d@x", "e@x")))

    assert process_raw_mail_task.call(tea.id, ids[0]) == "processed"

    assert batches == [["a@x", "b@x", "c@x"]]
    assert [status for _id, status, _attempts in rows(tea)] == [
        *["processed"] * 3,
        *["received"] * 2,
    ]
    # The next task queued takes up the rest.
    assert process_raw_mail_task.call(tea.id, arrived[1]) == "processed"
    assert batches == [["a@x", "b@x", "c@x"], ["d@x", "e@x"]]
    assert messages_per_mail(tea) == ["a@x", "b@x", "c@x", "d@x", "e@x"]


@pytest.mark.django_db
def test_a_lone_mail_is_processed_alone_without_looking_for_more(mail_world, monkeypatch):
    tea = mail_world.tea
    (raw_mail_id,) = store(tea, "lone@x")
    taken_up = []
    monkeypatch.setattr(pipeline, "_take_up_arrivals", lambda *args: taken_up.append(args) or [])

    assert process_raw_mail_task.call(tea.id, raw_mail_id) == "processed"

    assert taken_up == []
    assert rows(tea) == [("lone@x", "processed", 1)]


@pytest.mark.django_db(transaction=True)
def test_the_receiver_commits_each_mail_on_its_own_and_knows_a_second_delivery(
    mail_world, monkeypatch
):
    tea = mail_world.tea
    queued = []
    monkeypatch.setattr(
        pipeline,
        "_enqueue_processing",
        lambda shop_id, raw_mail_id: queued.append((connection.in_atomic_block, raw_mail_id)),
    )
    raw = mail("once@x")

    with in_shop(tea.id):
        (first,) = ingest_raw(shop_ids=[tea.id], raw=raw, source="smtp")
        (second,) = ingest_raw(shop_ids=[tea.id], raw=raw, source="smtp")

    assert (first.is_duplicate, second.is_duplicate) == (False, True)
    assert second.raw_mail_id == first.raw_mail_id
    # Stored (committed, no transaction open) before its task is queued; queued once.
    assert queued == [(False, first.raw_mail_id)]
    with scopes_disabled():
        row = RawMail.objects.get(pk=first.raw_mail_id)
    assert (row.source, row.status, row.attempts, row.outcome, row.claimed_by) == (
        "smtp",
        "received",
        0,
        "",
        "",
    )
    assert (bytes(row.raw), row.size, row.idempotency_key) == (raw, len(raw), "once@x")
    assert row.next_attempt_at == row.received_at + pipeline.SWEEP_GRACE


@pytest.mark.django_db
def test_a_batch_takes_up_only_what_fits_its_byte_budget(
    mail_world, monkeypatch, batches, settings
):
    # Checklist 8: a burst of mail is held parsed MAIL_BATCH_BYTES at a time; what does not fit
    # waits for its own task (or the next batch), arrivals included.
    tea = mail_world.tea
    ids = store(tea, "a@x", "b@x", "c@x")
    size = len(mail("a@x"))
    settings.MADOGUCHI = {**settings.MADOGUCHI, "MAIL_BATCH_BYTES": 2 * size}
    arrived = []
    during_first_parse(monkeypatch, lambda: arrived.extend(store(tea, "d@x")))

    # Its own row first, then what fits: "c@x" and the newcomer wait for their own tasks.
    assert process_raw_mail_task.call(tea.id, ids[1]) == "processed"
    assert batches == [["a@x", "b@x"]]
    assert [status for _id, status, _attempts in rows(tea)] == [
        "processed",
        "processed",
        "received",
        "received",
    ]
    assert process_raw_mail_task.call(tea.id, ids[2]) == "processed"
    assert batches[1] == ["c@x", "d@x"]
    assert messages_per_mail(tea) == ["a@x", "b@x", "c@x", "d@x"]


@pytest.mark.django_db
def test_a_tasks_own_row_is_taken_even_behind_a_full_batch_of_older_ones(
    mail_world, monkeypatch, batches
):
    monkeypatch.setattr(pipeline, "BATCH_SIZE", 2)
    tea = mail_world.tea
    ids = store(tea, "a@x", "b@x", "c@x", "d@x")

    # The query returns the three oldest: the task's own row ("d@x") goes first all the same.
    assert process_raw_mail_task.call(tea.id, ids[3]) == "processed"
    assert batches == [["a@x", "d@x"]]
