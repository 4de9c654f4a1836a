"""Billable contacts from the event log: one per answered ticket in the shop's month."""

from __future__ import annotations

from typing import Any

import pytest

from madoguchi.billing.metering import metered_usage
from madoguchi.billing.tests.rows import event, jst, received, replied, ticket

pytestmark = pytest.mark.django_db

NOVEMBER = (jst(2026, 11, 1, 0), jst(2026, 12, 1, 0))


def _usage(shop: Any, **kwargs: Any) -> dict[str, int]:
    start, end = NOVEMBER
    return metered_usage(shop_id=shop.id, start=start, end=end, **kwargs).by_channel


def test_the_default_definition(world: Any) -> None:
    shop = world.tea
    answered = ticket(shop, "email", jst(2026, 11, 2))
    replied(answered, jst(2026, 11, 3))
    replied(answered, jst(2026, 11, 4))  # a second reply is the same contact
    last_month = ticket(shop, "email", jst(2026, 10, 30))
    replied(last_month, jst(2026, 10, 31, 23))  # October in Tokyo
    late = ticket(shop, "email", jst(2026, 11, 30))
    replied(late, jst(2026, 11, 30, 23, 30))  # 14:30 UTC: still November in Tokyo
    next_month = ticket(shop, "email", jst(2026, 11, 30))
    replied(next_month, jst(2026, 12, 1, 0, 10))
    unanswered = ticket(shop, "email", jst(2026, 11, 5))
    received(unanswered, jst(2026, 11, 5))
    target = ticket(shop, "email", jst(2026, 11, 4))
    source = ticket(shop, "email", jst(2026, 11, 4))
    replied(source, jst(2026, 11, 4, 15))
    replied(target, jst(2026, 11, 5))
    event(target, "ticket.merged", jst(2026, 11, 10), source_id=source.id, target_id=target.id)
    spam = ticket(shop, "web_form", jst(2026, 11, 6))
    replied(spam, jst(2026, 11, 6))
    event(spam, "ticket.tags_changed", jst(2026, 11, 7), added=["spam"], removed=[])
    auto = ticket(shop, "email", jst(2026, 11, 8))
    event(auto, "message.auto_replied", jst(2026, 11, 8), message_id=0, channel="email")
    bounced = ticket(shop, "email", jst(2026, 11, 9))
    event(bounced, "mail.bounced", jst(2026, 11, 9), raw_mail_id=0, kind="bounce")
    phone = ticket(shop, "phone", jst(2026, 11, 12))
    replied(phone, jst(2026, 11, 12))
    # answered, late, target (with its merged source): 3 email; the phone call: 1.
    assert _usage(shop, excluded_tags=frozenset({"spam"})) == {"email": 3, "phone": 1}
    # Without the exclusion the spam ticket counts on its channel.
    assert _usage(shop) == {"email": 3, "phone": 1, "web_form": 1}


def test_a_tag_removed_before_the_month_ends_counts_again(world: Any) -> None:
    row = ticket(world.tea, "email", jst(2026, 11, 6))
    replied(row, jst(2026, 11, 6))
    event(row, "ticket.tags_changed", jst(2026, 11, 7), added=["spam"], removed=[])
    event(row, "ticket.tags_changed", jst(2026, 11, 8), added=[], removed=["spam"])
    assert _usage(world.tea, excluded_tags=frozenset({"spam"})) == {"email": 1}


def test_a_chat_quiet_longer_than_the_contract_says_counts_anew(world: Any) -> None:
    chat = ticket(world.tea, "chat", jst(2026, 11, 1))
    received(chat, jst(2026, 11, 1, 10))
    replied(chat, jst(2026, 11, 1, 10, 5))
    received(chat, jst(2026, 11, 3, 9))  # 2 days later: the same conversation
    replied(chat, jst(2026, 11, 3, 9, 5))
    received(chat, jst(2026, 11, 20, 9))  # 17 days later: a new contact
    replied(chat, jst(2026, 11, 20, 9, 5))
    continued = ticket(world.tea, "chat", jst(2026, 10, 25))
    received(continued, jst(2026, 10, 25))
    replied(continued, jst(2026, 10, 25))
    received(continued, jst(2026, 11, 2))  # 8 days later
    replied(continued, jst(2026, 11, 2))
    assert _usage(world.tea, reopen_after_days=7) == {"chat": 3}
    assert _usage(world.tea, reopen_after_days=20) == {"chat": 2}
    assert _usage(world.tea, reopen_after_days=0) == {"chat": 2}  # 0: never counts anew


def test_another_shops_events_never_count(world: Any) -> None:
    row = ticket(world.ceramics, "email", jst(2026, 11, 2))
    replied(row, jst(2026, 11, 2))
    assert _usage(world.tea) == {}
    assert _usage(world.ceramics) == {"email": 1}
