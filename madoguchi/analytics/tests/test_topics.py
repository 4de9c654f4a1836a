"""Rising topics: the terms of a ticket's first customer message, their counts against the
previous period on a hand-made history, the facts kept by the periodic job equal to a rebuild,
and the dashboard's table with its drill-down."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.urls import reverse

from madoguchi.analytics.models import TopicDayCount, TopicTermFact
from madoguchi.analytics.selectors import Filters
from madoguchi.analytics.services import analytics_apply_new_events, analytics_rebuild
from madoguchi.analytics.tests.history import TOKYO, at, event
from madoguchi.analytics.topics import RisingTopic, rising_topics, topic_terms
from madoguchi.conversations.models import Category, Ticket
from madoguchi.core.testing import factories
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

# The period: 16-30 November; the previous one: 1-15 November (15 days each).
START = dt.datetime(2026, 11, 16, tzinfo=TOKYO)
END = dt.datetime(2026, 12, 1, tzinfo=TOKYO)
PERIOD = "date_from=2026-11-16&date_to=2026-11-30"


def test_cjk_bigrams_skip_kana_only_pairs_and_keep_katakana_words() -> None:
    # 返品したいです: 返品 and 品し; した, たい, いで, です are hiragana only (grammar).
    assert topic_terms("返品したいです") == ["返品", "品し"]
    # Half-width katakana is normalised (NFKC) and stays katakana.
    assert topic_terms("ﾍﾝﾋﾟﾝ") == ["ヘン", "ンピ", "ピン"]
    # Punctuation, digits and symbols end a run; a one-character run gives nothing.
    assert topic_terms("箱。2026年、破損!") == ["破損"]


def test_latin_words_and_word_pairs_without_stop_words_or_numbers() -> None:
    assert topic_terms("Where is my Tracking Number? Order 12345") == [
        "tracking",
        "number",
        "tracking number",
        "order",
    ]
    # A stop word breaks a pair; digits-only words are skipped.
    assert topic_terms("refund for the order 99") == ["refund", "order"]


def test_terms_are_distinct_and_bounded() -> None:
    text = "".join(chr(0x4E00 + index) for index in range(400))
    terms = topic_terms(text)
    assert len(terms) == 150
    assert len(set(terms)) == 150
    assert topic_terms("返品返品返品") == ["返品", "品返"]


def _ticket(
    shop: Shop, created: dt.datetime, subject: str, body: str, category: Category | None = None
) -> Ticket:
    made = factories.TicketFactory(
        shop=shop, created_at=created, subject=subject, channel="email", category=category
    )
    factories.MessageFactory(ticket=made, body_text=body, created_at=created)
    # A later customer message does not count: topics come from the first one.
    factories.MessageFactory(
        ticket=made, body_text="在庫在庫", created_at=created + dt.timedelta(1)
    )
    event(made, "ticket.created", created, channel="email", subject=subject, via="test")
    event(made, "message.received", created, message_id=0, channel="email")
    return made


def build_topics(world) -> dict[str, list[Ticket]]:
    """返品: 4 tickets now, 1 before; 配送: 3 and 3; tracking number: 3 and 0; 破損: 2 and 0;
    在庫: 3 now, 4 before (only in first messages); and the ceramics shop's 返品 x5 now."""
    tea = world.tea
    made: dict[str, list[Ticket]] = {}
    with unscoped("test setup"):
        # The world's own tea ticket enters the log too, so the periodic job sees every ticket.
        event(world.tea_ticket, "ticket.created", world.tea_ticket.created_at, via="test")
        made["返品"] = [_ticket(tea, at(11, 16 + day, 10), "返品", "返品") for day in range(4)]
        made["返品"].append(_ticket(tea, at(11, 3, 10), "返品", ""))
        made["配送"] = [_ticket(tea, at(11, 20, 11), "配送", "") for _ in range(3)]
        made["配送"] += [_ticket(tea, at(11, 5, 11), "", "配送") for _ in range(3)]
        made["tracking"] = [_ticket(tea, at(11, 25, 9), "Tracking number?", "") for _ in range(3)]
        made["破損"] = [_ticket(tea, at(11, 28, 9), "破損", "") for _ in range(2)]
        made["在庫"] = [_ticket(tea, at(11, 29, 9), "", "在庫") for _ in range(3)]
        made["在庫"] += [_ticket(tea, at(11, 10, 9), "在庫", "") for _ in range(4)]
        # The last minute of the previous period and the first of the next: outside.
        made["edge"] = [
            _ticket(tea, START - dt.timedelta(minutes=1), "返品", ""),
            _ticket(tea, END, "返品", ""),
        ]
        made["ceramics"] = [
            _ticket(world.ceramics, at(11, 20, 10), "返品", "返品") for _ in range(5)
        ]
    return made


@pytest.fixture
def topics_world(world):
    made = build_topics(world)
    analytics_apply_new_events()
    return made


def _rising(shop_ids, **dimensions) -> list[RisingTopic]:
    with in_shop(shop_ids[0]) if len(shop_ids) == 1 else unscoped("test reads two shops"):
        return rising_topics(Filters(shop_ids=tuple(shop_ids), start=START, end=END, **dimensions))


def _triples(topics: list[RisingTopic]) -> list[tuple[str, int, int]]:
    return [(topic.term, topic.count, topic.previous) for topic in topics]


def test_rising_topics_exact_counts(world, topics_world) -> None:
    topics = _rising([world.tea.id])
    # Ranked by rise (3, 3, 3, 2), then count, then term; 配送 did not rise, 破損 is under the
    # minimum of 3 tickets, 在庫 fell (later messages do not count).
    # 返品: 4 now; before: 3 Nov and 15 Nov 23:59 (1 Dec 00:00 is after the period).
    assert _triples(topics) == [
        ("number", 3, 0),
        ("tracking", 3, 0),
        ("tracking number", 3, 0),
        ("返品", 4, 2),
    ]
    assert [topic.rise for topic in topics] == [3, 3, 3, 2]
    assert topics[-1].drilldown == {"figure": "topic:返品"}


def test_limit_min_count_and_the_per_ticket_path_agree(world, topics_world) -> None:
    with in_shop(world.tea.id):
        filters = Filters(shop_ids=(world.tea.id,), start=START, end=END)
        assert _triples(rising_topics(filters, limit=1)) == [("number", 3, 0)]
        # With a minimum of 2, 破損 (2 now, 0 before) joins, after the rise-3 terms.
        with_small = _triples(rising_topics(filters, min_count=2))
        assert ("破損", 2, 0) in with_small
        assert with_small.index(("破損", 2, 0)) == 4
        # A channel filter counts the per-ticket terms: the same figures (all are email).
        by_channel = Filters(shop_ids=(world.tea.id,), start=START, end=END, channel="email")
        assert rising_topics(by_channel) == rising_topics(filters)
        # A period not aligned on days also counts the per-ticket terms.
        shifted = Filters(
            shop_ids=(world.tea.id,),
            start=START + dt.timedelta(seconds=1),
            end=END + dt.timedelta(seconds=1),
        )
        # 15 Nov 23:59 is still before the shifted start; 1 Dec 00:00 now falls inside.
        assert ("返品", 5, 2) in _triples(rising_topics(shifted))
        assert (
            rising_topics(Filters(shop_ids=(world.tea.id,), start=START, end=END, channel="chat"))
            == []
        )


def test_agency_wide_adds_the_shops(world, topics_world) -> None:
    topics = _rising([world.tea.id, world.ceramics.id])
    assert ("返品", 9, 2) in _triples(topics)
    assert _triples(topics)[0] == ("返品", 9, 2)


def _facts(shop_id: int):
    with in_shop(shop_id):
        terms = sorted(
            TopicTermFact.objects.values_list(
                "fact__ticket_id",
                "term",
                "created_at",
                "created_on",
                "channel",
                "category_id",
                "assignee_id",
            )
        )
        days = sorted(TopicDayCount.objects.values_list("day", "term", "tickets"))
    return terms, days


def test_incremental_facts_equal_a_rebuild_and_a_recount(world, topics_world) -> None:
    # A change after the first run: a ticket is re-categorised and a new ticket arrives.
    with unscoped("test setup"):
        category = Category.objects.create(shop=world.tea, name="返品")
        changed = topics_world["返品"][0]
        changed.category = category
        changed.save(update_fields=["category"])
        event(changed, "ticket.category_changed", at(11, 17, 12), old=None, new=category.id)
        _ticket(world.tea, at(11, 18, 12), "返品の件", "返品")
    analytics_apply_new_events()
    incremental = _facts(world.tea.id)
    terms, days = incremental
    assert [row[5] for row in terms if row[0] == changed.id] == [category.id]
    # The day counts are a recount of the per-ticket terms.
    recount: dict[tuple[dt.date, str], int] = {}
    for _ticket_id, term, _at, day, *_rest in terms:
        recount[(day, term)] = recount.get((day, term), 0) + 1
    assert days == sorted((day, term, count) for (day, term), count in recount.items())
    assert (at(11, 16, 0).date(), "返品", 1) in days
    analytics_rebuild(shop_ids=[world.tea.id])
    assert _facts(world.tea.id) == incremental
    # 返品 now rises by 3 with 5 tickets: first.
    assert _triples(_rising([world.tea.id]))[0] == ("返品", 5, 2)


def test_dashboard_lists_rising_topics_linked_to_their_tickets(english, world, topics_world):
    english.force_login(world.supervisor)
    url = reverse("analytics:shop_dashboard", args=[world.tea.slug])
    html = english.get(f"{url}?{PERIOD}").content.decode()
    table = html.split('data-testid="topics-table"')[1].split("</table>")[0]
    assert table.count('data-testid="topic-row"') == 4
    assert "tracking number" in table
    assert f"figure=topic%3A{quote('返品')}" in table
    drill = english.get(f"{reverse('analytics:tickets')}?shop={world.tea.slug}&{PERIOD}")
    assert drill.status_code == 200
    listed = english.get(
        f"{reverse('analytics:tickets')}?shop={world.tea.slug}&{PERIOD}"
        f"&figure=topic%3A{quote('返品')}"
    )
    text = listed.content.decode()
    assert text.count('data-testid="drilldown-row"') == 4
    # The other shop's tickets with the same term are not listed.
    assert "4 tickets" in text


def test_client_sees_topics_of_their_shop_only(english, world, topics_world):
    english.force_login(world.client_tea)
    html = english.get(f"{reverse('analytics:dashboard')}?{PERIOD}").content.decode()
    table = html.split('data-testid="topics-table"')[1].split("</table>")[0]
    # 返品 counts the tea shop's 4 tickets, not the ceramics shop's 5.
    assert ">4</a>" in table
    assert ">9</a>" not in table
    other = english.get(f"{reverse('analytics:shop_dashboard', args=[world.ceramics.slug])}")
    assert other.status_code == 404


def test_the_agency_wide_dashboard_points_to_one_shop_for_topics(english, world, topics_world):
    english.force_login(world.supervisor)
    html = english.get(f"{reverse('analytics:dashboard')}?{PERIOD}").content.decode()
    assert 'data-testid="topics-table"' not in html
    assert "Choose one shop to see its rising topics." in html
