"""Security case 12: mail claiming the shop's own domain whose DMARC did not pass is flagged,
never taken for the shop's own (or staff) mail, and the ticket shows a warning."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from madoguchi.connectors.mail.authentication import own_domain_warning, topmost_dmarc
from madoguchi.connectors.mail.models import RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.sending import make_message_id
from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS, mail_setup, make_mail
from madoguchi.conversations.models import Message, Ticket

pytestmark = pytest.mark.django_db

OWN = {"tea.example.jp"}


def with_results(raw: bytes, *values: str) -> bytes:
    """`raw` with Authentication-Results headers on top, the first one topmost."""
    added = b"".join(f"Authentication-Results: {value}\r\n".encode() for value in values)
    return added + raw


def test_only_the_topmost_result_counts() -> None:
    raw = with_results(
        make_mail(sender=TEA_ADDRESS),
        "mx.tea.example.jp; dmarc=fail (p=reject dis=none) header.from=tea.example.jp",
        "forger.example; dmarc=pass header.from=tea.example.jp",
    )
    assert topmost_dmarc(raw) == ("fail", "tea.example.jp")
    assert own_domain_warning(raw=raw, from_address=TEA_ADDRESS, own_domains=OWN) == (
        "dmarc_failed"
    )


@pytest.mark.parametrize(
    ("results", "sender", "expected"),
    [
        (["mx.tea.example.jp; dmarc=pass header.from=tea.example.jp"], TEA_ADDRESS, ""),
        (["mx.tea.example.jp; dmarc=pass header.from=tea.example.jp"], "a@TEA.example.jp", ""),
        # A pass for another domain vouches for nothing of ours.
        (["mx.tea.example.jp; dmarc=pass header.from=evil.example"], TEA_ADDRESS, "unverified"),
        (["mx.tea.example.jp; dmarc=permerror header.from=tea.example.jp"], TEA_ADDRESS,
         "dmarc_failed"),
        (["mx.tea.example.jp; dmarc=none header.from=tea.example.jp"], TEA_ADDRESS, "unverified"),
        ([], TEA_ADDRESS, "unverified"),
        (["garbage ;;; =="], TEA_ADDRESS, "unverified"),
        # Not our domain: a customer's own mail is not ours to judge.
        (["mx.tea.example.jp; dmarc=fail header.from=example.com"], "hanako@example.com", ""),
        ([], "hanako@example.com", ""),
    ],
)  # fmt: skip
def test_the_warning_of_a_mail(results: list[str], sender: str, expected: str) -> None:
    raw = with_results(make_mail(sender=sender), *results)
    assert own_domain_warning(raw=raw, from_address=sender, own_domains=OWN) == expected


@pytest.fixture
def mail_world(world: Any, settings: Any) -> Any:
    settings.EMAIL_PORT = 9  # nothing listens: queued mail stays queued, nothing leaves
    mail_setup(world)
    return world


@pytest.fixture
def deliver(django_capture_on_commit_callbacks: Any) -> Any:
    def deliver(raw: bytes, *shops: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return ingest_raw(shop_ids=[shop.id for shop in shops], raw=raw, source="imap")

    return deliver


def test_a_spoofed_mail_of_the_shop_itself_is_a_flagged_customer_message(
    mail_world: Any, deliver: Any, client: Any
) -> None:
    world = mail_world
    # Our own Message-ID format and the shop's address: what our own mail coming back looks
    # like, which is dropped as a loop. Forged, with DMARC failing, it must not vanish.
    raw = with_results(
        make_mail(
            sender=TEA_ADDRESS,
            sender_name="山田園 サポート",
            subject="返金を承認しました",
            body="口座番号を返信してください。",
            message_id=make_message_id().strip("<>"),
        ),
        "mx.tea.example.jp; dmarc=fail (p=reject) header.from=tea.example.jp; spf=fail",
    )
    deliver(raw, world.tea)
    with scopes_disabled():
        row = RawMail.objects.get(shop=world.tea, from_address=TEA_ADDRESS)
        assert (row.status, row.authentication_warning) == ("processed", "dmarc_failed")
        message = Message.objects.get(pk=row.message_id)
        assert message.direction == Message.Direction.INBOUND
        assert message.author_user_id is None
        ticket = Ticket.objects.get(pk=row.ticket_id)
        assert ticket.assignee_id is None
    client.force_login(world.operator_tea)
    url = reverse("conversations:ticket", kwargs={"shop_slug": "tea", "number": ticket.number})
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="sender-warning"' in html
    assert TEA_ADDRESS in html


def test_a_verified_mail_of_the_shop_and_a_customers_mail_show_no_warning(
    mail_world: Any, deliver: Any, client: Any
) -> None:
    world = mail_world
    deliver(
        with_results(
            make_mail(sender="staff@tea.example.jp", message_id="ok@tea.example.jp"),
            "mx.tea.example.jp; dmarc=pass header.from=tea.example.jp",
        ),
        world.tea,
    )
    deliver(make_mail(message_id="customer@example.com"), world.tea)
    with scopes_disabled():
        rows = list(RawMail.objects.filter(shop=world.tea).order_by("id"))
        assert [row.authentication_warning for row in rows] == ["", ""]
        numbers = list(
            Ticket.objects.filter(pk__in=[row.ticket_id for row in rows]).values_list(
                "number", flat=True
            )
        )
    client.force_login(world.operator_tea)
    for number in numbers:
        url = reverse("conversations:ticket", kwargs={"shop_slug": "tea", "number": number})
        assert 'data-testid="sender-warning"' not in client.get(url).content.decode()


def test_another_shops_flagged_mail_is_not_shown_through_this_shop(
    mail_world: Any, deliver: Any, client: Any
) -> None:
    world = mail_world
    raw = with_results(
        make_mail(sender="info@ceramics.example.jp", to="info@ceramics.example.jp"),
        "mx.ceramics.example.jp; dmarc=fail header.from=ceramics.example.jp",
    )
    deliver(raw, world.ceramics)
    with scopes_disabled():
        row = RawMail.objects.get(shop=world.ceramics)
        assert row.authentication_warning == "dmarc_failed"
        ticket = Ticket.objects.get(pk=row.ticket_id)
    client.force_login(world.operator_tea)
    url = reverse("conversations:ticket", kwargs={"shop_slug": "ceramics", "number": ticket.number})
    assert client.get(url).status_code == 404
