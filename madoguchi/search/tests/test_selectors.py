import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from madoguchi.conversations.models import Ticket
from madoguchi.customers.models import Customer
from madoguchi.search import fulltext
from madoguchi.search.selectors import SearchFilters, SearchResults, search
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import shop_scope

MakeTicket = Callable[..., Ticket]
MakeCustomer = Callable[..., Customer]


def run(user: Any, query: str, **filters: Any) -> SearchResults:
    actor = actor_for_user(user)
    with shop_scope(actor.shop_ids):
        return search(actor=actor, query=query, filters=SearchFilters(**filters))


def ticket_subjects(results: SearchResults) -> list[str]:
    return [str(hit.title_html) for hit in results.tickets.hits]


def found_ticket_ids(user: Any, query: str, **filters: Any) -> list[int]:
    return [hit.object_id for hit in run(user, query, **filters).tickets.hits]


def found_customer_ids(user: Any, query: str) -> list[int]:
    return [hit.object_id for hit in run(user, query).customers.hits]


@pytest.fixture
def tickets(world: Any, make_ticket: MakeTicket) -> dict[str, Ticket]:
    now = timezone.now()
    return {
        "henpin": make_ticket(
            "返品の手続きについて",
            "先日購入した湯呑みを返品したいです。注文番号12345の件です。",
            last_activity_at=now - dt.timedelta(hours=5),
        ),
        "haiso": make_ticket(
            "配送日の変更",
            "配送日を10～12日に変更できますか。電話は090-1234-5678です。",
            last_activity_at=now - dt.timedelta(hours=4),
        ),
        "koukan": make_ticket(
            "iPhoneケースの交換",
            "届いたiPhoneケースの色が違うので交換をお願いします。ﾍﾝﾋﾟﾝも可。",
            last_activity_at=now - dt.timedelta(hours=3),
        ),
        "order": make_ticket(
            "注文内容の確認",
            "注文番号５４３２１の在庫を確認してください。返品ではありません。",
            last_activity_at=now - dt.timedelta(hours=2),
            notes=("社内メモ: 返金額は要確認、髙橋さん担当",),
        ),
        "other_shop": make_ticket(
            "返品と交換の相談",
            "返品か交換をお願いしたいです。注文番号12345です。",
            shop=world.ceramics,
            last_activity_at=now - dt.timedelta(hours=1),
        ),
    }


def test_two_character_query_finds_every_ticket_of_the_shop_newest_first(
    world: Any, tickets: dict[str, Ticket]
) -> None:
    assert found_ticket_ids(world.operator_tea, "返品") == [
        tickets["order"].id,
        tickets["henpin"].id,
    ]
    assert found_ticket_ids(world.operator_tea, "配送") == [tickets["haiso"].id]
    assert found_ticket_ids(world.operator_tea, "交換") == [tickets["koukan"].id]


def test_one_character_query(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_tea, "色") == [tickets["koukan"].id]


def test_longer_cjk_query_must_occur_as_written(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_tea, "返品したい") == [tickets["henpin"].id]
    assert found_ticket_ids(world.operator_tea, "品返") == []


def test_mixed_japanese_and_latin(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_tea, "iPhoneケース") == [tickets["koukan"].id]
    assert found_ticket_ids(world.operator_tea, "ＩＰＨＯＮＥ") == [tickets["koukan"].id]


def test_width_variants_match_both_ways(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_tea, "54321") == [tickets["order"].id]
    assert found_ticket_ids(world.operator_tea, "５４３２１") == [tickets["order"].id]
    assert found_ticket_ids(world.operator_tea, "ヘンピン") == [tickets["koukan"].id]
    assert found_ticket_ids(world.operator_tea, "ﾍﾝﾋﾟﾝ") == [tickets["koukan"].id]


def test_kana_reading_in_hiragana_finds_katakana(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_tea, "へんぴん") == [tickets["koukan"].id]


def test_wave_dash_variants(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_tea, '"10〜12日"') == [tickets["haiso"].id]
    assert found_ticket_ids(world.operator_tea, '"10～12日"') == [tickets["haiso"].id]
    assert found_ticket_ids(world.operator_tea, '"10-12日"') == []


def test_phone_number_with_and_without_hyphens(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_tea, "090-1234-5678") == [tickets["haiso"].id]
    assert found_ticket_ids(world.operator_tea, "09012345678") == [tickets["haiso"].id]
    full_width = "０９０－１２３４－５６７８"
    assert found_ticket_ids(world.operator_tea, full_width) == [tickets["haiso"].id]


def test_order_number_inside_a_sentence(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_tea, "12345") == [tickets["henpin"].id]
    assert found_ticket_ids(world.operator_tea, "注文番号12345") == [tickets["henpin"].id]


def test_and_phrase_and_exclusion(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_tea, "返品 在庫") == [tickets["order"].id]
    assert found_ticket_ids(world.operator_tea, "返品 -在庫") == [tickets["henpin"].id]
    assert found_ticket_ids(world.operator_tea, '"在庫を確認"') == [tickets["order"].id]
    assert found_ticket_ids(world.operator_tea, '"確認を在庫"') == []
    assert found_ticket_ids(world.operator_tea, "-返品") == []


def test_results_never_include_another_shops_data(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_ceramics, "返品") == [tickets["other_shop"].id]
    assert found_ticket_ids(world.client_ceramics, "12345") == [tickets["other_shop"].id]
    assert found_ticket_ids(world.client_tea, "12345") == [tickets["henpin"].id]
    # The supervisor sees both shops; the shop filter narrows to one.
    assert found_ticket_ids(world.supervisor, "12345") == [
        tickets["other_shop"].id,
        tickets["henpin"].id,
    ]
    assert found_ticket_ids(world.supervisor, "12345", shop_id=world.ceramics.id) == [
        tickets["other_shop"].id
    ]
    assert found_ticket_ids(world.operator_tea, "12345", shop_id=world.ceramics.id) == []


def test_search_stays_inside_the_active_scope(world: Any, tickets: dict[str, Ticket]) -> None:
    actor = actor_for_user(world.supervisor)
    with shop_scope([world.tea.id]):
        results = search(actor=actor, query="12345")
    assert [hit.object_id for hit in results.tickets.hits] == [tickets["henpin"].id]


def test_internal_notes_are_found_by_staff_only(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_tea, "返金額") == [tickets["order"].id]
    assert found_ticket_ids(world.client_tea, "返金額") == []


def test_kanji_variants_stay_distinct(world: Any, tickets: dict[str, Ticket]) -> None:
    assert found_ticket_ids(world.operator_tea, "髙橋") == [tickets["order"].id]
    assert found_ticket_ids(world.operator_tea, "高橋") == []


def test_filters_for_status_channel_and_dates(
    world: Any, make_ticket: MakeTicket, tickets: dict[str, Ticket]
) -> None:
    solved = make_ticket(
        "返品完了", "返品を受け付けました。", status=Ticket.Status.SOLVED, channel="line"
    )
    assert found_ticket_ids(world.operator_tea, "返品", status="solved") == [solved.id]
    assert found_ticket_ids(world.operator_tea, "返品", channel="line") == [solved.id]
    today = timezone.localdate()
    old = make_ticket(
        "返品の古い相談", "昔の返品です。", last_activity_at=timezone.now() - dt.timedelta(days=40)
    )
    assert found_ticket_ids(world.operator_tea, "返品", date_to=today - dt.timedelta(days=30)) == [
        old.id
    ]
    assert old.id not in found_ticket_ids(
        world.operator_tea, "返品", date_from=today - dt.timedelta(days=1)
    )


def test_snippets_escape_text_and_mark_matches(world: Any, make_ticket: MakeTicket) -> None:
    make_ticket("<b>返品</b>の件", "<script>alert(1)</script>返品希望です")
    results = run(world.operator_tea, "返品")
    hit = results.tickets.hits[0]
    assert str(hit.title_html) == "&lt;b&gt;<mark>返品</mark>&lt;/b&gt;の件"
    assert str(hit.snippet_html) == (
        "&lt;b&gt;<mark>返品</mark>&lt;/b&gt;の件 "
        "&lt;script&gt;alert(1)&lt;/script&gt;<mark>返品</mark>希望です"
    )


def test_snippet_marks_a_number_typed_without_hyphens(
    world: Any, tickets: dict[str, Ticket]
) -> None:
    hit = run(world.operator_tea, "09012345678").tickets.hits[0]
    assert "<mark>090-1234-5678</mark>" in str(hit.snippet_html)


def test_customers_by_name_kana_email_phone_and_line_name(
    world: Any, make_customer: MakeCustomer
) -> None:
    taro = make_customer(
        "山田太郎",
        name_kana="ヤマダタロウ",
        identities=(
            ("email", "Taro.Yamada@Example.jp", ""),
            ("phone", "03-1234-5678", ""),
            ("line", "U1234abcd", "たろう🍵"),
        ),
    )
    make_customer("髙田花子", name_kana="タカダハナコ")
    make_customer("山田一郎", shop=world.ceramics)
    assert found_customer_ids(world.operator_tea, "山田") == [taro.id]
    assert found_customer_ids(world.operator_tea, "やまだ") == [taro.id]
    assert found_customer_ids(world.operator_tea, "taro.yamada@example.jp") == [taro.id]
    assert found_customer_ids(world.operator_tea, "0312345678") == [taro.id]
    assert found_customer_ids(world.operator_tea, "03-1234-5678") == [taro.id]
    assert found_customer_ids(world.operator_tea, "たろう") == [taro.id]
    assert found_customer_ids(world.operator_tea, "高田") == []


def test_customer_names_match_with_or_without_the_space(
    world: Any, make_customer: MakeCustomer
) -> None:
    hanako = make_customer("佐藤　花子", name_kana="サトウ ハナコ")
    assert found_customer_ids(world.operator_tea, "佐藤花子") == [hanako.id]
    assert found_customer_ids(world.operator_tea, "佐藤 花子") == [hanako.id]
    assert found_customer_ids(world.operator_tea, "さとうはなこ") == [hanako.id]
    assert found_customer_ids(world.operator_tea, "藤花") == [hanako.id]


def test_status_filter_lists_no_customers(world: Any, make_customer: MakeCustomer) -> None:
    make_customer("山田太郎")
    assert run(world.operator_tea, "山田", status="open").customers.hits == []


@pytest.mark.parametrize(
    ("holds_word", "postgresql_steps"),
    [
        pytest.param(lambda i: True, ["walk"], id="every-ticket: the first walk fills the page"),
        pytest.param(lambda i: i % 2 == 1, ["walk", "walk"], id="every-second: a longer walk"),
        pytest.param(lambda i: i < 2, ["walk", "index"], id="oldest-two: every index match"),
    ],
)
def test_each_postgresql_step_returns_the_newest_matches(
    world: Any,
    make_ticket: MakeTicket,
    monkeypatch: pytest.MonkeyPatch,
    holds_word: Any,
    postgresql_steps: list[str],
) -> None:
    # Small windows so that a dozen tickets take each step of `_postgres_candidates` (SQLite
    # answers in one FTS5 walk and must give the same answer).
    monkeypatch.setattr("madoguchi.search.fulltext.RECENT_WINDOW", 3)
    monkeypatch.setattr("madoguchi.search.fulltext.WINDOW_PER_ROW", 2)
    steps: list[str] = []
    rows = fulltext._rows

    def recorded(sql: str, params: Any) -> list[fulltext.Candidate]:
        steps.append("index" if "WITH hits" in sql else "walk")
        return rows(sql, params)

    monkeypatch.setattr("madoguchi.search.fulltext._rows", recorded)
    start = timezone.now() - dt.timedelta(days=1)
    made = [
        make_ticket(
            f"問い合わせ{i}",
            "急須の注ぎ口が欠けていました。" if holds_word(i) else "お茶の淹れ方を教えてください。",
            last_activity_at=start + dt.timedelta(minutes=i),
        )
        for i in range(12)
    ]
    expected = [ticket.id for ticket in reversed(made) if holds_word(made.index(ticket))]
    actor = actor_for_user(world.operator_tea)
    with shop_scope(actor.shop_ids):
        results = search(actor=actor, query="急須", limit=2)
    assert [hit.object_id for hit in results.tickets.hits] == expected[:2]
    assert results.tickets.has_more == (len(expected) > 2)
    expected_steps = postgresql_steps if connection.vendor == "postgresql" else ["walk"]
    assert steps[: len(expected_steps)] == expected_steps  # then customers and orders
