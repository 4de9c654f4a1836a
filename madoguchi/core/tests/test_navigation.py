"""The one menu: each role sees the pages it may use, and every link it sees opens."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.core.testing import factories
from madoguchi.tenancy.models import Membership

pytestmark = pytest.mark.django_db

_MENU_LINK = re.compile(r'<ul class="menu__list">(.*?)</ul>', re.S)
_HREF = re.compile(r'href="([^"]+)"')


def _menu_links(client: Client, path: str = "/") -> list[str]:
    html = client.get(path).content.decode()
    menu = html[
        html.index('<nav class="menu"') : html.index("</nav>", html.index('<nav class="menu"'))
    ]
    return [
        href.replace("&amp;", "&")
        for block in _MENU_LINK.findall(menu)
        for href in _HREF.findall(block)
    ]


def _client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _trainee(world):  # type: ignore[no-untyped-def]
    membership = factories.MembershipFactory(
        workspace=world.agency, role=Membership.Role.OPERATOR, is_trainee=True
    )
    factories.ShopAssignmentFactory(membership=membership, shop=world.tea)
    return membership.user


@pytest.mark.parametrize(
    "who", ["admin", "supervisor", "operator_tea", "trainee", "client_tea", "client_ceramics"]
)
def test_every_menu_link_opens_for_the_user_who_sees_it(world, who) -> None:
    user = _trainee(world) if who == "trainee" else getattr(world, who)
    client = _client_for(user)
    for shop in (world.tea, world.ceramics):
        links = _menu_links(client, f"/?shop={shop.slug}")
        assert links, f"{who} sees an empty menu"
        for url in links:
            response = client.get(url)
            assert response.status_code == 200, f"{who}: {url} answered {response.status_code}"


def test_the_switcher_lists_only_the_shops_the_user_may_see(world) -> None:
    html = _client_for(world.operator_tea).get("/").content.decode()
    switcher = html[html.index('class="menu__switcher"') : html.index("</details>")]
    assert "?shop=tea" in switcher
    assert "?shop=ceramics" not in switcher


def test_the_menu_follows_the_shop_of_the_page(world) -> None:
    client = _client_for(world.admin)
    client.get("/?shop=ceramics")
    html = client.get(f"/shops/tea/tickets/{world.tea_ticket.number}/").content.decode()
    summary = html[html.index('class="menu__switcher"') :]
    assert summary.split("<summary>", 1)[1].startswith(world.tea.name)
    # The explicit choice is remembered for pages of no shop.
    html = client.get("/search/?q=x").content.decode()
    summary = html[html.index('class="menu__switcher"') :]
    assert summary.split("<summary>", 1)[1].startswith(world.ceramics.name)


def test_anonymous_visitors_get_no_menu(client) -> None:
    html = client.get(reverse("accounts:login")).content.decode()
    assert 'class="menu"' not in html


def test_counts_of_another_shop_are_not_found(world) -> None:
    client = _client_for(world.operator_tea)
    assert client.get(reverse("menu_counts"), {"shop": "ceramics"}).status_code == 404
    assert client.get(reverse("menu_counts"), {"shop": "tea"}).status_code == 200


def test_counts_need_a_signed_in_user(world, client) -> None:
    response = client.get(reverse("menu_counts"), {"shop": "tea"})
    assert response.status_code == 302
