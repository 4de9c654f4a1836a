"""Checklist 41 (server side): the stored-XSS payload set in every field a customer controls on
every channel, rendered by every console page that shows them, comes back escaped.

Each payload goes into the customer's name, the contact's display name, the subject and the
body of a message on each channel (mail, web form, chat, LINE), through the same service the
connectors use. The inbox, the ticket page, the customer page and the search results are
rendered for the shop's operator; no payload's markup survives unescaped, no `javascript:` URL
becomes a link and no template syntax is evaluated.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from madoguchi.conversations.services import InboundMessage, receive_inbound
from madoguchi.customers.services import IdentityInput
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db

PAYLOADS = (
    "<svg onload=alert(1)>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{7*7}}{% now 'Y' %}",
    "\u202eexe.txt",
    "'-alert(1)-'",
    "</textarea><script>alert(1)</script>",
)
# channel: the contact's kind and value, and whether the channel gives a display name.
CHANNELS = {
    "email": ("email", "x{n}@example.jp", True),
    "web_form": ("email", "w{n}@example.jp", False),
    "chat": ("email", "c{n}@example.jp", False),
    "line": ("line", "U{n:032x}", True),
}
# What a payload would bring if it were not escaped (the page's own tags are not payloads).
LEAKS = re.compile(
    r"<svg onload|<img src=x onerror|<script>alert|</textarea><script|href=\"\s*javascript:", re.I
)


def _inject(world: Any) -> list[tuple[str, int, int]]:
    made = []
    with in_shop(world.tea.id):
        for n, payload in enumerate(PAYLOADS):
            for channel, (kind, value, named) in CHANNELS.items():
                number = n * 10 + len(channel)
                given = IdentityInput(kind, value.format(n=number), payload if named else "")
                result = receive_inbound(
                    InboundMessage(
                        shop_id=world.tea.id,
                        channel=channel,
                        external_id=f"xss-{n}-{channel}",
                        body_text=f"本文 {payload} 届きません",
                        subject=f"件名 {payload}",
                        customer_name=f"{payload} 花子",
                        identities=[given],
                    )
                )
                made.append((channel, result.ticket.number, result.ticket.customer_id))
    return made


def _assert_inert(html: str, where: str) -> None:
    leak = LEAKS.search(html)
    assert leak is None, f"{where}: {html[max(0, leak.start() - 80) : leak.end() + 80]}"
    assert "49{%" not in html and "49 花子" not in html, f"{where}: template syntax evaluated"


def _shown_inert(client: Any, pages: dict[str, str]) -> int:
    """Render each page, check it is inert; return how often the first payload was shown."""
    shown = 0
    for where, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, where
        html = response.content.decode()
        _assert_inert(html, where)
        shown += html.count("&lt;svg onload=alert(1)&gt;")
    return shown


def test_every_payload_in_every_customer_field_renders_escaped(
    client: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        made = _inject(world)
    client.force_login(world.operator_tea)
    pages = {"inbox": reverse("conversations:inbox") + "?shop=tea"}
    for channel, number, customer_id in made:
        pages[f"ticket {channel} {number}"] = reverse(
            "conversations:ticket", kwargs={"shop_slug": "tea", "number": number}
        )
        pages[f"customer {customer_id}"] = reverse(
            "customers:detail", kwargs={"shop_slug": "tea", "pk": customer_id}
        )
    for word in ("svg", "onerror", "javascript", "本文", "件名", "花子"):
        pages[f"search {word}"] = reverse("search:results") + f"?q={word}"
    # The payloads were on the pages (escaped), not dropped: the sweep saw them.
    assert _shown_inert(client, pages) >= len(CHANNELS)
    ticket_page = client.get(pages[f"ticket email {made[0][1]}"]).content.decode()
    assert "&lt;svg onload=alert(1)&gt; 花子" in ticket_page
    assert "本文 &lt;svg onload=alert(1)&gt; 届きません" in ticket_page


def test_another_shops_operator_sees_none_of_it(
    client: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        made = _inject(world)
    client.force_login(world.operator_ceramics)
    _, number, _ = made[0]
    url = reverse("conversations:ticket", kwargs={"shop_slug": "tea", "number": number})
    assert client.get(url).status_code == 404


def _payload_mail(payload: str, n: int) -> bytes:
    """A real mail whose display name, subject, body and attachment name carry the payload,
    encoded as mail programs encode them (RFC 2047 words, an RFC 2231 file name)."""
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.policy import SMTP

    from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS

    mail = EmailMessage(policy=SMTP)
    mail["From"] = Address(display_name=f"{payload} 花子", addr_spec=f"raw{n}@example.jp")
    mail["To"] = TEA_ADDRESS
    mail["Subject"] = f"件名 {payload}"
    mail["Message-ID"] = f"<xss-raw-{n}@example.jp>"
    mail.set_content(f"本文 {payload} 届きません")
    mail.add_attachment(
        b"%PDF-1.4", maintype="application", subtype="pdf", filename=f"{payload}.pdf"
    )
    return mail.as_bytes()


def _order_with(world: Any, payload: str, n: int) -> str:
    import datetime as dt

    from madoguchi.commerce.services import AddressInput, LineInput, OrderInput, order_create
    from madoguchi.customers.models import Customer

    number = f"XSS-{n}"
    customer = Customer.objects.create(shop=world.tea, name=f"{payload} 花子")
    order_create(
        shop=world.tea,
        data=OrderInput(
            number=number,
            placed_at=dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC),
            payment_method="bank_transfer",
            lines=[LineInput(name=f"煎茶 {payload}", unit_price=1000, sku=payload[:40])],
            customer=customer,
            address=AddressInput(
                postal_code="150-0001",
                prefecture="東京都",
                address1=f"渋谷区 {payload}",
                address2=payload,
                name=f"{payload} 花子",
                phone="03-1234-5678",
            ),
            email=f"order{n}@example.jp",
            note=f"備考 {payload}",
        ),
    )
    return number


def test_payloads_from_raw_mail_orders_surveys_and_the_help_center_render_escaped(
    client: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from madoguchi.analytics.services import analytics_apply_new_events
    from madoguchi.connectors.mail.pipeline import ingest_raw
    from madoguchi.connectors.mail.tests.mail_builders import mail_setup
    from madoguchi.conversations.models import Ticket
    from madoguchi.csat.services import survey_answer, survey_send
    from madoguchi.csat.tests.helpers import email_ticket, enable_csat, solve

    mail_setup(world)
    enable_csat(world, delay_minutes=0)
    orders, surveyed = [], []
    for n, payload in enumerate(PAYLOADS):
        with django_capture_on_commit_callbacks(execute=True):
            ingest_raw(shop_ids=[world.tea.id], raw=_payload_mail(payload, n), source="imap")
        with in_shop(world.tea.id):
            orders.append(_order_with(world, payload, n))
        ticket = solve(world, email_ticket(world.tea, email=f"csat{n}@example.jp"))
        with in_shop(world.tea.id):
            survey = survey_send(ticket_id=ticket.id)
            assert survey is not None
            survey_answer(survey=survey, score=2, comment=f"感想 {payload}")
        surveyed.append(ticket.number)
    analytics_apply_new_events()
    with in_shop(world.tea.id):
        mailed = list(
            Ticket.objects.filter(channel="email", subject__startswith="件名").values_list(
                "number", "customer_id"
            )
        )
    assert len(mailed) == len(PAYLOADS)

    client.force_login(world.supervisor)
    pages = {"inbox": reverse("conversations:inbox") + "?shop=tea"}
    for number, customer_id in mailed:
        pages[f"mail ticket {number}"] = reverse("conversations:ticket", args=["tea", number])
        pages[f"mail customer {customer_id}"] = reverse(
            "customers:detail", args=["tea", customer_id]
        )
    for number in surveyed:
        pages[f"surveyed ticket {number}"] = reverse("conversations:ticket", args=["tea", number])
    for number in orders:
        pages[f"order {number}"] = reverse("commerce:order", args=["tea", number])
    pages["orders"] = reverse("commerce:order_list", args=["tea"])
    drilldown = reverse("analytics:tickets") + "?shop=tea&figure="
    pages["drill-down tickets"] = drilldown + "tickets"
    pages["drill-down answered"] = drilldown + "csat_answered"
    pages["dashboard"] = reverse("analytics:dashboard") + "?shop=tea"
    assert _shown_inert(client, pages) >= 10  # the payloads were on the pages, escaped
    first_mail = client.get(pages[f"mail ticket {mailed[0][0]}"]).content.decode()
    # The attachment's name, with the characters Windows forbids in names replaced.
    assert "_svg onload=alert(1)_.pdf" in first_mail
    assert "&lt;svg onload=alert(1)&gt; 花子" in first_mail  # the sender's display name
    first_order = client.get(pages[f"order {orders[0]}"]).content.decode()
    assert "備考 &lt;svg onload=alert(1)&gt;" in first_order
    first_survey = client.get(pages[f"surveyed ticket {surveyed[0]}"]).content.decode()
    assert "感想 &lt;svg onload=alert(1)&gt;" in first_survey

    # The public help center echoes the visitor's search, escaped.
    client.logout()
    for payload in PAYLOADS:
        response = client.get(reverse("knowledge:help_search", args=["tea"]), {"q": payload})
        assert response.status_code == 200
        _assert_inert(response.content.decode(), f"help search {payload!r}")
