"""Threads come out the same whatever order their mails arrive in (issue 18).

A reply that arrives before its parent opens the ticket and the parent joins it (the reply's
References are kept in `MailReference`); a batch is processed in Date order; an import of an
export in shuffled file order gives the same tickets as in time order; an auto-reply to
nothing known opens no ticket; the SMTP receiver's task takes up the shop's waiting rows.
"""

import json
import random

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from madoguchi.connectors.mail import pipeline
from madoguchi.connectors.mail.models import MailReference, MailSettings, RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw, raw_mail_process_batch
from madoguchi.connectors.mail.tasks import process_raw_mail_task
from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS, mail_setup
from madoguchi.connectors.mail.tests.raw import build
from madoguchi.connectors.mail.thread_matching import strip_reply_prefixes
from madoguchi.conversations.models import Message, Ticket
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_world(world, settings):
    settings.EMAIL_PORT = 9  # nothing listens: queued mail stays queued, nothing leaves
    mail_setup(world)
    return world


def mail(
    message_id,
    *,
    day=1,
    minute=0,
    sender="hanako@example.com",
    subject="注文した商品について",
    in_reply_to=None,
    references=(),
    headers=(),
):
    lines = [
        f"From: 佐藤 花子 <{sender}>",
        f"To: {TEA_ADDRESS}",
        f"Subject: {subject}",
        f"Date: Mon, {day:02d} Sep 2025 10:{minute:02d}:00 +0900",
        f"Message-ID: <{message_id}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        *headers,
    ]
    if in_reply_to:
        lines.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        lines.append("References: " + " ".join(f"<{value}>" for value in references))
    return build([line.encode() for line in lines], f"本文 {message_id}\r\n")


def store(shop, *raws, source="imap"):
    with in_shop(shop.id):
        return [
            ingest_raw(shop_ids=[shop.id], raw=raw, source=source, process=False)[0].raw_mail_id
            for raw in raws
        ]


def process(shop, ids):
    with in_shop(shop.id):
        return raw_mail_process_batch(raw_mail_ids=ids)


def _mail_ticket_ids(shop):
    # The world's own tickets are not from mail: only those a raw mail led to.
    return set(
        RawMail.objects.filter(shop=shop, ticket__isnull=False).values_list("ticket_id", flat=True)
    )


def grouping(shop):
    """The shop's tickets from mail as the sorted Message-IDs in each, with its subject."""
    with scopes_disabled():
        ticket_ids = _mail_ticket_ids(shop)
        messages = Message.objects.filter(shop=shop, ticket_id__in=ticket_ids).values_list(
            "ticket_id", "external_id"
        )
        by_ticket: dict[int, set[str]] = {}
        for ticket_id, external_id in messages:
            by_ticket.setdefault(ticket_id, set()).add(external_id)
        subjects = dict(Ticket.objects.filter(shop=shop).values_list("id", "subject"))
    return sorted((sorted(ids), subjects[ticket_id]) for ticket_id, ids in by_ticket.items())


def email_tickets(shop):
    with scopes_disabled():
        return list(Ticket.objects.filter(pk__in=_mail_ticket_ids(shop)).order_by("number"))


def test_a_parent_arriving_after_its_reply_joins_the_replys_ticket(mail_world):
    tea = mail_world.tea
    process(tea, store(tea, mail("reply@x", minute=30, in_reply_to="parent@x")))
    process(tea, store(tea, mail("parent@x", minute=0)))

    (ticket,) = email_tickets(tea)
    assert grouping(tea) == [(["parent@x", "reply@x"], "注文した商品について")]
    with scopes_disabled():
        assert list(MailReference.objects.values_list("referenced_id", "message__ticket")) == [
            ("parent@x", ticket.id)
        ]
        assert list(RawMail.objects.order_by("id").values_list("outcome", "ticket")) == [
            ("created", ticket.id),
            ("appended", ticket.id),
        ]


def test_a_grandparent_found_through_the_replys_references(mail_world):
    tea = mail_world.tea
    process(tea, store(tea, mail("c@x", minute=20, in_reply_to="b@x", references=["a@x", "b@x"])))
    process(tea, store(tea, mail("a@x", minute=0)))
    process(tea, store(tea, mail("b@x", minute=10, in_reply_to="a@x", references=["a@x"])))

    assert grouping(tea) == [(["a@x", "b@x", "c@x"], "注文した商品について")]


def test_a_batch_is_processed_in_date_order(mail_world):
    tea = mail_world.tea
    # Stored reply first, parent second; the parent was written first.
    ids = store(
        tea,
        mail("reply@x", minute=30, in_reply_to="parent@x", subject="Re: 注文した商品について"),
        mail("parent@x", minute=0),
    )
    process(tea, ids)

    (ticket,) = email_tickets(tea)
    assert ticket.subject == "注文した商品について"  # the parent opened it
    with scopes_disabled():
        first = Message.objects.filter(ticket=ticket).order_by("id").first()
    assert first.external_id == "parent@x"


def test_a_parent_dated_after_its_reply_in_the_same_batch_joins_it(mail_world):
    tea = mail_world.tea
    # A wrong clock: the reply claims to be older than the mail it answers.
    ids = store(
        tea,
        mail("parent@x", minute=40),
        mail("reply@x", minute=5, in_reply_to="parent@x", subject="Re: 注文した商品について"),
    )
    assert set(process(tea, ids).values()) == {"processed"}

    assert grouping(tea) == [(["parent@x", "reply@x"], "Re: 注文した商品について")]


def _export():
    """An old mailbox: threads with full References, threads with In-Reply-To only, a
    forwarded copy, auto-replies inside and outside threads, and unrelated mails."""
    mails = []
    for thread in range(6):
        sender = f"c{thread}@example.com"
        subject = f"お問い合わせ {thread}"
        ids = []
        for step in range(4):
            message_id = f"t{thread}-{step}@x"
            full = thread % 2 == 0
            mails.append(
                mail(
                    message_id,
                    day=1 + thread,
                    minute=step * 10,
                    sender=sender,
                    subject=("Re: " * step) + subject,
                    in_reply_to=ids[-1] if ids else None,
                    references=ids if full else ids[-1:],
                )
            )
            ids.append(message_id)
        # An out-of-office answer to the thread's last mail (known thread).
        mails.append(
            mail(
                f"ooo{thread}@x",
                day=1 + thread,
                minute=45,
                sender=sender,
                subject="自動応答: " + subject,
                in_reply_to=ids[-1],
                references=ids[-1:],
                headers=["Auto-Submitted: auto-replied"],
            )
        )
    # An auto-reply to nothing of ours: never a ticket, whatever the order.
    mails.append(mail("stray@x", day=9, headers=["Auto-Submitted: auto-replied"]))
    for single in range(4):
        mails.append(mail(f"s{single}@x", day=10 + single, sender=f"s{single}@example.com"))
    return mails


def _import(shop, tmp_path, mails, name, capsys):
    folder = tmp_path / name
    folder.mkdir()
    for position, raw in enumerate(mails):
        (folder / f"{position:03d}.eml").write_bytes(raw)
    call_command("mail", "import", "--shop", shop.slug, str(folder))
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_shuffled_import_gives_the_same_tickets_as_one_in_time_order(
    mail_world, tmp_path, capsys, monkeypatch, seed
):
    # Small batches: replies and parents land in different batches too.
    monkeypatch.setattr(pipeline, "BATCH_SIZE", 4)
    monkeypatch.setattr("madoguchi.connectors.mail.services.BATCH_SIZE", 4)
    mails = _export()
    shuffled = list(mails)
    random.Random(seed).shuffle(shuffled)
    assert shuffled != mails

    in_order = _import(mail_world.tea, tmp_path, mails, "ordered", capsys)
    out_of_order = _import(mail_world.ceramics, tmp_path, shuffled, "shuffled", capsys)

    expected_summary = {
        "messages": 35,
        "tickets_created": 10,
        "messages_appended": 18,
        "duplicates": 0,
        "automated": 7,
        "failed": 0,
        "too_large": 0,
        "resumed": 0,
    }
    assert in_order == out_of_order == expected_summary
    assert grouping(mail_world.tea) == grouping(mail_world.ceramics)
    assert len(email_tickets(mail_world.tea)) == len(email_tickets(mail_world.ceramics)) == 10
    assert [
        (ticket.subject, ticket.created_at) for ticket in email_tickets(mail_world.ceramics)
    ] == [(ticket.subject, ticket.created_at) for ticket in email_tickets(mail_world.tea)]


def test_a_shuffled_live_arrival_in_separate_batches_gives_the_same_threads(mail_world):
    # Live mail with full References, one mail per batch, newest first.
    mails = [
        mail(
            f"m{step}@x",
            minute=step,
            in_reply_to=f"m{step - 1}@x" if step else None,
            references=[f"m{i}@x" for i in range(step)],
        )
        for step in range(5)
    ]
    for raw in reversed(mails):
        process(mail_world.tea, store(mail_world.tea, raw))

    assert grouping(mail_world.tea) == [
        ([f"m{step}@x" for step in range(5)], "注文した商品について")
    ]


def test_an_auto_reply_to_an_unknown_thread_opens_no_ticket(mail_world):
    tea = mail_world.tea
    ids = store(tea, mail("ooo@x", headers=["Auto-Submitted: auto-replied"]))
    assert process(tea, ids) == {ids[0]: "automated"}

    assert email_tickets(tea) == []
    with scopes_disabled():
        row = RawMail.objects.get(pk=ids[0])
    assert (row.status, row.outcome, row.ticket_id, row.message_id) == (
        "automated",
        "automated",
        None,
        None,
    )


def test_an_auto_reply_in_a_known_thread_is_added_to_it(mail_world):
    tea = mail_world.tea
    process(tea, store(tea, mail("parent@x")))
    ids = store(
        tea,
        mail(
            "ooo@x",
            minute=5,
            in_reply_to="parent@x",
            headers=["Precedence: auto_reply", "Auto-Submitted: auto-replied"],
        ),
    )
    process(tea, ids)

    assert grouping(tea) == [(["ooo@x", "parent@x"], "注文した商品について")]


def test_the_import_summary_counts_every_ticket_it_opened(mail_world, tmp_path, capsys):
    with scopes_disabled():
        before = Ticket.objects.filter(shop=mail_world.tea).count()
    summary = _import(
        mail_world.tea,
        tmp_path,
        [
            mail("a@x"),
            mail("ooo@x", minute=1, headers=["Auto-Submitted: auto-replied"]),
            mail("x-autoreply@x", minute=2, sender="b@example.com", headers=["X-Autoreply: yes"]),
            mail("b@x", minute=3, sender="c@example.com"),
        ],
        "summary",
        capsys,
    )
    with scopes_disabled():
        opened = Ticket.objects.filter(shop=mail_world.tea).count() - before
    assert (summary["tickets_created"], opened) == (2, 2)


@pytest.mark.parametrize(
    "subject",
    [
        "Re: 注文について",
        "RE: 注文について",
        "Fwd: 注文について",
        "FW: 注文について",
        "AW: 注文について",
        "WG: 注文について",
        "SV: 注文について",
        "TR: 注文について",
        "返信: 注文について",
        "Re[2]: 注文について",
        "Re(3): 注文について",
        "［Re］注文について",
        "[Fwd] 注文について",
        "【転送】注文について",
        "Ｒｅ：ＲＥ：注文について",
        "回复：注文について",
        "Re: Fwd: [shop:00123] 返信：注文について",
    ],
)
def test_japanese_and_western_reply_prefixes_are_stripped(subject):
    assert strip_reply_prefixes(subject) == "注文について"


@pytest.mark.parametrize(
    "subject", ["Review: 注文について", "Trade: 注文", "[重要] 注文について", "Return: 品"]
)
def test_words_that_only_start_like_a_prefix_stay(subject):
    assert strip_reply_prefixes(subject) == subject


def test_subject_threading_of_old_mail_measures_the_window_from_its_date(
    mail_world, tmp_path, capsys
):
    with scopes_disabled():
        MailSettings.objects.update_or_create(
            shop=mail_world.tea, defaults={"is_subject_threading_enabled": True}
        )
    summary = _import(
        mail_world.tea,
        tmp_path,
        [
            mail("old1@x", day=1, subject="配送について"),
            # Ten days later, no References: the same conversation by subject.
            mail("old2@x", day=11, subject="RE: 配送について"),
            # Nineteen days after that: past the window, a new ticket.
            mail("old3@x", day=30, subject="Re: 配送について"),
        ],
        "window",
        capsys,
    )
    assert (summary["tickets_created"], summary["messages_appended"]) == (2, 1)
    assert grouping(mail_world.tea) == [
        (["old1@x", "old2@x"], "配送について"),
        (["old3@x"], "Re: 配送について"),
    ]


def test_the_smtp_task_takes_up_the_shops_waiting_rows(mail_world):
    tea = mail_world.tea
    ids = store(tea, *(mail(f"w{i}@x", minute=i, sender=f"w{i}@example.com") for i in range(3)),
                source="smtp")  # fmt: skip
    retry, imported = (
        store(tea, mail("retry@x"), source="smtp")[0],
        store(tea, mail("imp@x"), source="import")[0],
    )
    with scopes_disabled():
        RawMail.objects.filter(pk=retry).update(attempts=1)
        RawMail.objects.filter(pk=imported).update(attempts=0)

    assert process_raw_mail_task.call(tea.id, ids[0]) == "processed"

    with scopes_disabled():
        statuses = dict(RawMail.objects.values_list("id", "status"))
    assert [statuses[i] for i in [*ids, retry, imported]] == [
        "processed",
        "processed",
        "processed",
        "received",  # waits for its retry delay
        "received",  # the import processes its own rows
    ]
    # The tasks queued for the rows taken up find them done.
    assert process_raw_mail_task.call(tea.id, ids[2]) == "processed"


def test_a_lone_smtp_mail_is_processed_alone_at_once(
    mail_world, django_capture_on_commit_callbacks
):
    tea = mail_world.tea
    with in_shop(tea.id), django_capture_on_commit_callbacks(execute=True):
        (stored,) = ingest_raw(shop_ids=[tea.id], raw=mail("lone@x"), source="smtp")
    with scopes_disabled():
        assert RawMail.objects.get(pk=stored.raw_mail_id).status == "processed"
    assert grouping(tea) == [(["lone@x"], "注文した商品について")]


def test_two_replies_to_an_unknown_parent_share_a_ticket_when_one_customer_wrote_them(
    mail_world,
):
    tea = mail_world.tea
    process(tea, store(tea, mail("r1@x", minute=10, in_reply_to="p@x")))
    process(tea, store(tea, mail("r2@x", minute=20, in_reply_to="p@x")))
    # Someone else answering the same old mail (a newsletter sent by another tool) stays apart.
    process(tea, store(tea, mail("other@x", minute=30, in_reply_to="p@x", sender="o@example.com")))
    process(tea, store(tea, mail("p@x", minute=0)))

    assert grouping(tea) == [
        (["other@x"], "注文した商品について"),
        (["p@x", "r1@x", "r2@x"], "注文した商品について"),
    ]


def test_sibling_replies_before_their_parent_in_one_batch_share_a_ticket(mail_world):
    tea = mail_world.tea
    ids = store(
        tea,
        mail("p@x", minute=50),  # its clock is wrong: dated after both replies
        mail("r1@x", minute=10, in_reply_to="p@x"),
        mail("r2@x", minute=20, in_reply_to="p@x"),
    )
    process(tea, ids)

    assert grouping(tea) == [(["p@x", "r1@x", "r2@x"], "注文した商品について")]
