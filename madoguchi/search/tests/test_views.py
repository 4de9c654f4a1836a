from collections.abc import Callable
from typing import Any

from django.test import Client
from django.urls import reverse

from madoguchi.conversations.models import Ticket

MakeTicket = Callable[..., Ticket]


def get(client: Client, user: Any, **params: str) -> Any:
    client.force_login(user)
    return client.get(reverse("search:results"), params)


def test_results_page_lists_highlighted_tickets_and_links_them(
    client: Client, world: Any, make_ticket: MakeTicket
) -> None:
    ticket = make_ticket("返品の相談", "ﾍﾝﾋﾟﾝをお願いします")
    response = get(client, world.operator_tea, q="ヘンピン")
    assert response.status_code == 200
    html = response.content.decode()
    url = reverse("conversations:ticket", args=[world.tea.slug, ticket.number])
    assert f'href="{url}"' in html
    assert "<mark>ヘンピン</mark>をお願いします" in html
    assert f'data-testid="hit-ticket-{ticket.id}"' in html


def test_other_shops_tickets_are_not_listed(
    client: Client, world: Any, make_ticket: MakeTicket
) -> None:
    tea = make_ticket("返品の相談", "返品したい")
    ceramics = make_ticket("返品の相談", "返品したい", shop=world.ceramics)
    html = get(client, world.operator_tea, q="返品").content.decode()
    assert f'data-testid="hit-ticket-{tea.id}"' in html
    assert f'data-testid="hit-ticket-{ceramics.id}"' not in html


def test_a_shop_the_user_does_not_see_is_not_found(client: Client, world: Any) -> None:
    response = get(client, world.operator_tea, q="返品", shop=world.ceramics.slug)
    assert response.status_code == 404


def test_notes_are_not_found_by_a_client(
    client: Client, world: Any, make_ticket: MakeTicket
) -> None:
    ticket = make_ticket("配送の件", "配送はいつですか", notes=("返金額を確認中",))
    staff_html = get(client, world.operator_tea, q="返金額").content.decode()
    assert f'data-testid="hit-ticket-{ticket.id}"' in staff_html
    client_html = get(client, world.client_tea, q="返金額").content.decode()
    assert f'data-testid="hit-ticket-{ticket.id}"' not in client_html


def test_user_text_is_escaped(client: Client, world: Any, make_ticket: MakeTicket) -> None:
    make_ticket("<img src=x onerror=alert(1)>返品", "返品")
    html = get(client, world.operator_tea, q="返品").content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;<mark>返品</mark>" in html
    echoed = get(client, world.operator_tea, q="<script>返品").content.decode()
    assert "<script>返品" not in echoed
    assert "&lt;script&gt;返品" in echoed


def test_anonymous_is_sent_to_login(client: Client, world: Any) -> None:
    response = client.get(reverse("search:results"), {"q": "返品"})
    assert response.status_code == 302


def test_times_are_the_shops_local_time(
    client: Client, world: Any, make_ticket: MakeTicket
) -> None:
    import datetime as dt

    from madoguchi.tenancy.models import Shop
    from madoguchi.tenancy.scoping import unscoped

    with unscoped("test setup"):
        Shop.objects.filter(id=world.ceramics.id).update(time_zone="America/New_York")
    at = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    make_ticket("返品の相談", "返品したい", last_activity_at=at)
    make_ticket("返品の相談", "返品したい", shop=world.ceramics, last_activity_at=at)
    html = get(client, world.admin, q="返品").content.decode()
    # Tokyo is 9 hours ahead of UTC (the next day), New York 5 hours behind.
    assert '<time datetime="2026-12-01T08:30:00+09:00">2026-12-01 08:30</time>' in html
    assert '<time datetime="2026-11-30T18:30:00-05:00">2026-11-30 18:30</time>' in html
    assert "2026-11-30 23:30" not in html


def test_the_title_is_shown_as_written_with_the_match_marked(
    client: Client, world: Any, make_ticket: MakeTicket
) -> None:
    make_ticket("ﾍﾝﾋﾟﾝ　のお願い（注文ＮＯ．１２３）<b>", "本文")
    html = get(client, world.operator_tea, q="へんぴん 123").content.decode()
    title = html.split('class="search__title"', 1)[1].split("</a>", 1)[0]
    written = "<mark>ﾍﾝﾋﾟﾝ</mark>　のお願い（注文ＮＯ．<mark>１２３</mark>）&lt;b&gt;"
    assert title.strip().endswith(f"</span> {written}")
