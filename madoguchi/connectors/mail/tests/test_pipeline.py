"""The inbound pipeline: store raw first, process per mail, thread, dedupe, loops and bounces.

The must-show cases of reference/security.md checklist A (1-7, 14, 15) are here, on real rows.
"""

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from madoguchi.connectors.mail import parsing, pipeline
from madoguchi.connectors.mail.models import AutoReplyLog, OutboundMail, RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw, raw_mail_process, raw_mail_reprocess
from madoguchi.connectors.mail.tests.mail_builders import (
    CERAMICS_ADDRESS,
    TEA_ADDRESS,
    mail_setup,
    make_dsn,
    make_mail,
)
from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.customers.models import ContactIdentity
from madoguchi.customers.normalize import identity_digest
from madoguchi.events.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_world(world, settings):
    settings.EMAIL_PORT = 9  # nothing listens: queued mail stays queued, nothing leaves
    mail_setup(world)
    return world


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    def deliver(raw, *shops, source="imap"):
        with django_capture_on_commit_callbacks(execute=True):
            return ingest_raw(shop_ids=[shop.id for shop in shops], raw=raw, source=source)

    return deliver


def tickets_of(shop):
    with scopes_disabled():
        return list(Ticket.objects.filter(shop=shop).order_by("number"))


def rows_of(shop):
    with scopes_disabled():
        return list(RawMail.objects.filter(shop=shop).order_by("id"))


def acks_of(shop):
    with scopes_disabled():
        return list(
            OutboundMail.objects.filter(shop=shop, kind="ack")
            .order_by("id")
            .values_list("to_address", "ticket__number")
        )


def test_new_mail_opens_a_ticket_and_queues_one_acknowledgement(mail_world, deliver):
    deliver(make_mail(), mail_world.tea)

    (_, ticket) = tickets_of(mail_world.tea)  # the world's own ticket comes first
    with scopes_disabled():
        message = Message.objects.get(ticket=ticket)
        row = RawMail.objects.get(shop=mail_world.tea)
        ack = OutboundMail.objects.get(ticket=ticket)
        identity = ContactIdentity.objects.get(customer=ticket.customer)
    assert (ticket.subject, ticket.channel, ticket.status) == (
        "注文した商品について",
        "email",
        "new",
    )
    assert (message.external_id, message.body_text) == (
        "first@mail.example.com",
        "注文番号 1001 の商品がまだ届きません。",
    )
    assert (identity.value, ticket.customer.name) == ("hanako@example.com", "佐藤 花子")
    assert (row.status, row.outcome, row.ticket_id, row.message_id, row.attempts) == (
        "processed",
        "created",
        ticket.id,
        message.id,
        1,
    )
    assert bytes(row.raw) == make_mail()
    assert (ack.kind, ack.to_address, ack.from_address, ack.status) == (
        "ack",
        "hanako@example.com",
        TEA_ADDRESS,
        "queued",
    )
    raw_ack = bytes(ack.raw).decode()
    assert "Auto-Submitted: auto-replied" in raw_ack
    assert "X-Auto-Response-Suppress: All" in raw_ack
    assert "In-Reply-To: <first@mail.example.com>" in raw_ack
    assert ack.subject == f"【山田園 茶舗】お問い合わせを受け付けました [#TEA-{ticket.number}]"


def test_a_reply_to_our_acknowledgement_continues_the_ticket(mail_world, deliver):
    deliver(make_mail(), mail_world.tea)
    (_, ticket) = tickets_of(mail_world.tea)
    with scopes_disabled():
        ack_id = OutboundMail.objects.get(ticket=ticket).internet_message_id
    reply = make_mail(
        subject="Re: 【山田園 茶舗】お問い合わせを受け付けました",
        body="追加で質問です。",
        message_id="second@mail.example.com",
        in_reply_to=ack_id,
        references=f"<first@mail.example.com> <{ack_id}>",
    )
    deliver(reply, mail_world.tea)

    assert len(tickets_of(mail_world.tea)) == 2
    with scopes_disabled():
        bodies = list(
            Message.objects.filter(ticket=ticket).order_by("id").values_list("body_text", flat=True)
        )
    assert bodies == ["注文番号 1001 の商品がまだ届きません。", "追加で質問です。"]
    assert [row.outcome for row in rows_of(mail_world.tea)] == ["created", "appended"]
    assert len(acks_of(mail_world.tea)) == 1


def test_subject_tag_threads_only_for_the_tickets_customer(mail_world, deliver):
    deliver(make_mail(), mail_world.tea)
    (_, ticket) = tickets_of(mail_world.tea)
    tag = f"[#TEA-{ticket.number}]"
    deliver(
        make_mail(subject=f"Ｒｅ：{tag} 続き", message_id="tagged@mail.example.com"), mail_world.tea
    )
    deliver(
        make_mail(
            sender="stranger@evil.example",
            subject=f"RE: {tag}",
            message_id="stranger@evil.example",
        ),
        mail_world.tea,
    )

    assert [row.outcome for row in rows_of(mail_world.tea)] == ["created", "appended", "created"]
    tickets = tickets_of(mail_world.tea)
    assert len(tickets) == 3
    assert tickets[2].customer.name == "佐藤 花子"  # the stranger's mail has its own ticket
    assert rows_of(mail_world.tea)[1].ticket_id == ticket.id


def test_a_reference_to_another_shops_ticket_never_crosses_shops(mail_world, deliver):
    deliver(
        make_mail(to=CERAMICS_ADDRESS, message_id="ceramics@mail.example.com"), mail_world.ceramics
    )
    (_, ceramics_ticket) = tickets_of(mail_world.ceramics)
    hijack = make_mail(
        subject=f"Re: [#CER-{ceramics_ticket.number}] 注文",
        message_id="hijack@mail.example.com",
        in_reply_to="ceramics@mail.example.com",
    )
    deliver(hijack, mail_world.tea)

    (_, new_ticket) = tickets_of(mail_world.tea)
    assert rows_of(mail_world.tea)[0].outcome == "created"
    assert new_ticket.subject == f"Re: [#CER-{ceramics_ticket.number}] 注文"
    with scopes_disabled():
        assert Message.objects.filter(ticket=ceramics_ticket).count() == 1


def test_mail_without_message_id_is_keyed_by_content(mail_world, deliver):
    first = make_mail(message_id=None, body="一通目")
    second = make_mail(message_id=None, body="二通目")
    deliver(first, mail_world.tea)
    deliver(second, mail_world.tea)
    again = deliver(first, mail_world.tea)

    assert len(tickets_of(mail_world.tea)) == 3
    assert [row.idempotency_key[:7] for row in rows_of(mail_world.tea)] == ["sha256:"] * 2
    assert again[0].is_duplicate is True


def test_the_same_mail_to_two_shops_makes_one_ticket_in_each(mail_world, deliver):
    raw = make_mail(to=f"{TEA_ADDRESS}, {CERAMICS_ADDRESS}")
    shop_ids = pipeline.shops_for_recipients([TEA_ADDRESS, CERAMICS_ADDRESS.upper()])
    assert shop_ids == [mail_world.tea.id, mail_world.ceramics.id]
    deliver(raw, mail_world.tea, mail_world.ceramics)
    deliver(raw, mail_world.tea, mail_world.ceramics)

    for shop in (mail_world.tea, mail_world.ceramics):
        assert len(tickets_of(shop)) == 2
        assert [(row.status, row.outcome) for row in rows_of(shop)] == [("processed", "created")]


def test_unknown_recipient_is_quarantined_not_given_to_a_default_shop(mail_world, deliver):
    stored = deliver(make_mail(to="nobody@example.org"))

    with scopes_disabled():
        row = RawMail.objects.get(pk=stored[0].raw_mail_id)
    assert (row.shop_id, row.status) == (None, "quarantined")
    assert pipeline.shops_for_recipients(["nobody@example.org"]) == []
    assert len(tickets_of(mail_world.tea)) == 1


def test_poison_mail_between_two_good_ones(mail_world, deliver, monkeypatch):
    real_parse = parsing.parse_mail

    def parse(raw):
        if b"POISON" in raw:
            raise RecursionError("maximum recursion depth exceeded")
        return real_parse(raw)

    monkeypatch.setattr(parsing, "parse_mail", parse)
    mails = [
        make_mail(message_id="good1@mail.example.com", subject="一通目"),
        make_mail(message_id="bad@mail.example.com", subject="POISON"),
        make_mail(message_id="good2@mail.example.com", subject="三通目", sender="b@example.com"),
    ]
    for raw in mails:
        deliver(raw, mail_world.tea)

    rows = rows_of(mail_world.tea)
    assert [(row.status, row.outcome) for row in rows] == [
        ("processed", "created"),
        ("failed", ""),
        ("processed", "created"),
    ]
    assert rows[1].last_error == (
        "The parser failed: RecursionError: maximum recursion depth exceeded"
    )
    assert bytes(rows[1].raw) == mails[1]
    assert [ticket.subject for ticket in tickets_of(mail_world.tea)][1:] == ["一通目", "三通目"]

    # The next run sees the same three mails again: nothing is imported twice.
    again = [deliver(raw, mail_world.tea)[0].is_duplicate for raw in mails]
    assert again == [True, True, True]
    assert len(rows_of(mail_world.tea)) == 3
    assert len(acks_of(mail_world.tea)) == 2

    # Once the parser is fixed, the failed mail is reprocessed from the list.
    monkeypatch.setattr(parsing, "parse_mail", real_parse)
    with scopes_disabled():
        raw_mail_reprocess(raw_mail=rows[1])
        assert raw_mail_process(raw_mail_id=rows[1].id) == "processed"
    assert [ticket.subject for ticket in tickets_of(mail_world.tea)][1:] == [
        "一通目",
        "三通目",
        "POISON",
    ]


def test_a_parse_over_the_time_limit_fails_only_that_mail(mail_world, deliver, slow_parsing):
    deliver(make_mail(message_id="slow@mail.example.com", subject="SLOW"), mail_world.tea)
    deliver(make_mail(message_id="fast@mail.example.com"), mail_world.tea)

    rows = rows_of(mail_world.tea)
    assert [(row.status, row.last_error) for row in rows] == [
        ("failed", "Parsing took longer than 0.2 s."),
        ("processed", ""),
    ]


def test_crash_after_commit_before_the_flag_makes_no_duplicate(mail_world, deliver):
    raw = make_mail()
    deliver(raw, mail_world.tea)
    # The worker "dies" here: the mailbox was never flagged, so the next run fetches it again.
    again = deliver(raw, mail_world.tea)

    assert again[0].is_duplicate is True
    assert len(tickets_of(mail_world.tea)) == 2
    assert len(acks_of(mail_world.tea)) == 1
    # A processing task that runs twice for the same row does nothing the second time.
    with scopes_disabled():
        assert raw_mail_process(raw_mail_id=again[0].raw_mail_id) == "processed"
    assert len(tickets_of(mail_world.tea)) == 2


def test_the_same_row_claimed_twice_is_processed_once(mail_world):
    with scopes_disabled():
        stored = ingest_raw(
            shop_ids=[mail_world.tea.id], raw=make_mail(), source="imap", process=False
        )
        results = [raw_mail_process(raw_mail_id=stored[0].raw_mail_id) for _ in range(2)]
    assert results == ["processed", "processed"]
    assert len(tickets_of(mail_world.tea)) == 2
    assert rows_of(mail_world.tea)[0].attempts == 1


def test_loop_breaker_stops_acknowledging_an_autoresponder(mail_world, deliver, settings):
    settings.MADOGUCHI = {**settings.MADOGUCHI, "MAIL_ACK_LIMIT_PER_HOUR": 5}
    # A badly behaved autoresponder: no RFC 3834 headers, a new subject every time.
    for number in range(8):
        deliver(
            make_mail(
                sender="bot@autoresponder.example",
                sender_name="",
                subject=f"Thank you for your mail ({number})",
                message_id=f"bot-{number}@autoresponder.example",
            ),
            mail_world.tea,
        )

    assert len(acks_of(mail_world.tea)) == 5
    with scopes_disabled():
        logs = list(
            AutoReplyLog.objects.filter(shop=mail_world.tea)
            .order_by("id")
            .values_list("is_suppressed", flat=True)
        )
        alerts = list(
            Event.objects.filter(shop=mail_world.tea, type="mail.loop_detected").values_list(
                "payload", flat=True
            )
        )
    assert logs == [False] * 5 + [True] * 3
    assert alerts == [{"address": "bot@autoresponder.example", "count": 5, "window_minutes": 60}]


@pytest.mark.parametrize(
    ("headers", "outcome", "acks"),
    [
        ({"Auto-Submitted": "auto-replied"}, "automated", 0),
        ({"Auto-Submitted": "auto-generated"}, "automated", 0),
        ({"Precedence": "bulk"}, "automated", 0),
        ({"X-Auto-Response-Suppress": "OOF"}, "automated", 0),
        ({"List-Id": "<news.example.com>"}, "automated", 0),
        ({"Return-Path": "<>"}, "automated", 0),
        ({"Auto-Submitted": "no"}, "created", 1),
    ],
)
def test_automated_mail_is_stored_but_never_acknowledged(
    mail_world, deliver, headers, outcome, acks
):
    deliver(make_mail(headers=headers), mail_world.tea)

    assert [row.outcome for row in rows_of(mail_world.tea)] == [outcome]
    # Automated mail to no thread we know opens no ticket (issue 18); the world's own is first.
    assert len(tickets_of(mail_world.tea)) == (2 if outcome == "created" else 1)
    assert len(acks_of(mail_world.tea)) == acks


@pytest.mark.parametrize("sender", ["noreply@shop.example", "no-reply+x@shop.example", TEA_ADDRESS])
def test_no_acknowledgement_to_noreply_or_our_own_addresses(mail_world, deliver, sender):
    deliver(make_mail(sender=sender), mail_world.tea)

    assert [row.outcome for row in rows_of(mail_world.tea)] == ["created"]
    assert acks_of(mail_world.tea) == []


def test_our_own_automated_mail_coming_back_is_dropped(mail_world, deliver):
    deliver(
        make_mail(
            sender=TEA_ADDRESS,
            message_id="0123abcd@madoguchi.localhost",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        mail_world.tea,
    )

    assert [(row.status, row.outcome) for row in rows_of(mail_world.tea)] == [
        ("automated", "dropped")
    ]
    assert len(tickets_of(mail_world.tea)) == 1


@pytest.mark.parametrize(("status", "is_undeliverable"), [("5.1.1", True), ("4.4.1", False)])
def test_bounce_is_an_event_on_the_original_ticket(mail_world, deliver, status, is_undeliverable):
    deliver(make_mail(), mail_world.tea)
    (_, ticket) = tickets_of(mail_world.tea)
    with scopes_disabled():
        ack_id = OutboundMail.objects.get(ticket=ticket).internet_message_id

    deliver(
        make_dsn(original_message_id=ack_id, recipient="hanako@example.com", status=status),
        mail_world.tea,
    )

    assert len(tickets_of(mail_world.tea)) == 2
    assert [(row.status, row.outcome) for row in rows_of(mail_world.tea)] == [
        ("processed", "created"),
        ("automated", "bounce"),
    ]
    with scopes_disabled():
        events = list(Event.objects.filter(type="mail.bounced").values_list("ticket_id", "payload"))
        identity = ContactIdentity.objects.get(
            shop=mail_world.tea, value_digest=identity_digest("email", "hanako@example.com")
        )
        bounce_row = rows_of(mail_world.tea)[1]
    assert events == [
        (
            ticket.id,
            {
                "raw_mail_id": bounce_row.id,
                "kind": "delivery_failure",
                "status": status,
                "recipient": "hanako@example.com",
                "is_permanent": status.startswith("5"),
            },
        )
    ]
    assert identity.is_undeliverable is is_undeliverable
    assert len(acks_of(mail_world.tea)) == 1


def test_attachments_are_stored_under_random_names(mail_world, deliver):
    from email.message import EmailMessage
    from email.policy import SMTP

    mail = EmailMessage(policy=SMTP)
    mail["From"] = "hanako@example.com"
    mail["To"] = TEA_ADDRESS
    mail["Subject"] = "請求書"
    mail["Message-ID"] = "<attach@mail.example.com>"
    mail.set_content("添付します。")
    mail.add_attachment(
        b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="請求書.pdf"
    )
    deliver(mail.as_bytes(), mail_world.tea)

    with scopes_disabled():
        attachment = Attachment.objects.get(shop=mail_world.tea)
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "請求書.pdf",
        "application/pdf",
        13,
    )
    assert attachment.file.name.startswith(f"attachments/{mail_world.tea.id}/")
    assert "請求書" not in attachment.file.name
    assert attachment.file.read() == b"%PDF-1.4 test"


def test_mail_import_command_prints_the_contract(mail_world, tmp_path, capsys):
    (tmp_path / "a.eml").write_bytes(make_mail(message_id="a@mail.example.com"))
    (tmp_path / "b.eml").write_bytes(
        make_mail(message_id="b@mail.example.com", in_reply_to="a@mail.example.com")
    )
    (tmp_path / "c.eml").write_bytes(make_mail(message_id="a@mail.example.com"))
    (tmp_path / "d.eml").write_bytes(
        make_mail(message_id="d@mail.example.com", headers={"Auto-Submitted": "auto-replied"})
    )
    call_command("mail", "import", "--shop", "tea", *sorted(map(str, tmp_path.iterdir())))

    import json

    assert json.loads(capsys.readouterr().out) == {
        "messages": 4,
        "tickets_created": 1,
        "messages_appended": 1,
        "duplicates": 1,
        "automated": 1,
        "failed": 0,
        "too_large": 0,
        "resumed": 0,
    }


def test_mail_import_reads_mbox_and_maildir(mail_world, tmp_path, capsys):
    import json
    import mailbox

    box = mailbox.mbox(tmp_path / "old.mbox")
    box.add(make_mail(message_id="mbox1@mail.example.com", subject="mbox 一"))
    box.add(
        make_mail(message_id="mbox2@mail.example.com", subject="mbox 二", sender="z@example.com")
    )
    box.flush()
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    maildir.add(make_mail(message_id="md1@mail.example.com", in_reply_to="mbox1@mail.example.com"))
    maildir.flush()

    call_command(
        "mail", "import", "--shop", "tea", str(tmp_path / "old.mbox"), str(tmp_path / "Maildir")
    )

    assert json.loads(capsys.readouterr().out) == {
        "messages": 3,
        "tickets_created": 2,
        "messages_appended": 1,
        "duplicates": 0,
        "automated": 0,
        "failed": 0,
        "too_large": 0,
        "resumed": 0,
    }
    assert [ticket.subject for ticket in tickets_of(mail_world.tea)][1:] == ["mbox 一", "mbox 二"]
    assert acks_of(mail_world.tea) == []
