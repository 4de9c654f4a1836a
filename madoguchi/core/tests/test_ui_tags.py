"""The operator UI's template helpers: relative times and the inbox rows' escaping."""

import datetime as dt

import pytest
from django.utils import timezone, translation

from madoguchi.conversations.models import Ticket
from madoguchi.core.templatetags.madoguchi_ui import relative_time, ticket_rows
from madoguchi.customers.models import Customer
from madoguchi.tenancy.models import Shop

NOW = dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("ago", "english", "japanese"),
    [
        (dt.timedelta(seconds=20), "just now", "たった今"),
        (dt.timedelta(minutes=1), "1 minute ago", "1分前"),
        (dt.timedelta(minutes=59, seconds=59), "59 minutes ago", "59分前"),
        (dt.timedelta(hours=2, minutes=30), "2 hours ago", "2時間前"),
        (dt.timedelta(days=1), "1 day ago", "1日前"),
        (dt.timedelta(days=29, hours=23), "29 days ago", "29日前"),
        # Older than a month: the date in Tokyo (2026-10-27 03:00 UTC is 12:00 JST).
        (dt.timedelta(days=31), "2026-10-27", "2026-10-27"),
    ],
)
def test_relative_time(ago, english, japanese):
    with translation.override("en"):
        assert relative_time(NOW - ago, NOW) == english
    with translation.override("ja"), timezone.override("Asia/Tokyo"):
        assert relative_time(NOW - ago, NOW) == japanese


def test_ticket_rows_escape_every_value():
    shop = Shop(id=1, name="<b>Tea</b>", slug="tea", ticket_prefix="TEA")
    ticket = Ticket(
        id=1,
        shop=shop,
        number=7,
        subject='"><script>alert(1)</script>',
        status="new",
        priority="high",
        channel="email",
        customer=Customer(id=1, shop=shop, name="山田 & 'Sons'"),
        last_activity_at=timezone.now(),
    )
    with translation.override("en"):
        html = ticket_rows([ticket])
    assert "<script>" not in html and "<b>" not in html
    assert "&quot;&gt;&lt;script&gt;" in html
    assert "山田 &amp; &#x27;Sons&#x27;" in html
    assert 'href="/shops/tea/tickets/7/"' in html
    assert 'class="ticket-row is-new"' in html
    assert "Unassigned" in html


def test_stored_messages_of_ours_are_translated_and_others_shown_as_they_are() -> None:
    from django.utils import translation

    from madoguchi.core.templatetags.madoguchi_ui import stored_message

    with translation.override("ja"):
        assert stored_message("The shop has no active LINE channel.") == (
            "この店舗には有効な LINE チャネルがありません。"
        )
        assert stored_message("550 5.1.1 User unknown") == "550 5.1.1 User unknown"
        assert stored_message("") == ""
