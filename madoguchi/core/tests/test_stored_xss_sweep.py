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
    shown = 0
    for where, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, where
        html = response.content.decode()
        _assert_inert(html, where)
        shown += html.count("&lt;svg onload=alert(1)&gt;")
    # The payloads were on the pages (escaped), not dropped: the sweep saw them.
    assert shown >= len(CHANNELS)
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
