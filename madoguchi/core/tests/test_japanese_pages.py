"""Every page in Japanese: no msgid without a Japanese translation, no stray English words.

Each GET page that the tenancy matrix describes is rendered for its right user (and, for the
shop's pages, also for the shop's own client) with the two-shop world and rows of every kind
(tickets of each channel, orders in each state, payments, deposits). While it renders, every
lookup in the Japanese catalog is watched: a msgid that the catalog lacks is reported with the
page. A cheap second pass reads the page's visible text for English words that reached it
without any lookup (a raw choice value, a Python-formatted sentence).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from madoguchi.core.testing.japanese import english_words, untranslated_msgids
from madoguchi.core.tests import test_tenancy_matrix as matrix
from madoguchi.tenancy.scoping import unscoped

# Words of the tenancy matrix's rows: a failed reply's error, a raw mail's header.
MATRIX_DATA_WORDS = {"connection", "refused", "Subject"}

# Rows of every kind the pages show.


def _every_kind_of_row(world: Any) -> None:
    from madoguchi.commerce.models import Deposit, Order, PaymentStatus
    from madoguchi.commerce.services import (
        AddressInput,
        LineInput,
        OrderInput,
        order_create,
        payment_record,
        shipment_add,
    )
    from madoguchi.commerce.ticket_orders import ticket_link_orders
    from madoguchi.connectors.line.models import LineOutbound
    from madoguchi.conversations.models import Channel, Ticket
    from madoguchi.core.testing import factories
    from madoguchi.operations.models import ReplyTemplate

    placed_at = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)
    with unscoped("test setup"):
        customer = world.tea_ticket.customer
        for index, (status, payment_status, method) in enumerate(
            [
                (Order.Status.PENDING, PaymentStatus.UNPAID, "bank_transfer"),
                (Order.Status.CONFIRMED, PaymentStatus.PARTIALLY_PAID, "bank_transfer"),
                (Order.Status.SHIPPED, PaymentStatus.PAID, "card"),
                (Order.Status.DELIVERED, PaymentStatus.PAID, "cod"),
                (Order.Status.CANCELLED, PaymentStatus.REFUNDED, "konbini"),
                (Order.Status.RETURNED, PaymentStatus.UNPAID, "deferred"),
            ]
        ):
            order = order_create(
                shop=world.tea,
                data=OrderInput(
                    number=f"YE-2026{index:04d}",
                    placed_at=placed_at,
                    payment_method=method,
                    lines=[
                        LineInput(name="煎茶 100g", unit_price=1080, quantity=2, tax_rate=8),
                        LineInput(name="急須", unit_price=3300, tax_rate=10),
                    ],
                    customer=customer,
                    address=AddressInput(
                        postal_code="150-0001",
                        prefecture="東京都",
                        address1="渋谷区神宮前1-1-1",
                        name="山田 花子",
                    ),
                    shipping_fee=550,
                    payment_due_on=dt.date(2026, 11, 8),
                ),
            )
            if payment_status in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_PAID):
                payment_record(
                    order=order,
                    amount=order.total if payment_status == PaymentStatus.PAID else 1000,
                    paid_on=dt.date(2026, 11, 2),
                )
            if status in (Order.Status.SHIPPED, Order.Status.DELIVERED):
                shipment_add(order=order, carrier="yamato", tracking_number="1234-5678-9012")
            Order.objects.filter(id=order.id).update(status=status, payment_status=payment_status)
        ticket_link_orders(ticket=world.tea_ticket, text="YE-20260000 YE-20260002")
        Deposit.objects.create(
            shop=world.tea,
            dedup_key="every-kind",
            received_on=dt.date(2026, 11, 3),
            amount=2710,
            remitter_name="ﾔﾏﾀﾞ ﾊﾅｺ",
        )
        for channel in Channel.values:
            ticket = factories.TicketFactory(
                shop=world.tea, customer=customer, channel=channel, subject="商品についての質問"
            )
            message = factories.MessageFactory(ticket=ticket, body_text="注文 YE-20260001 について")
            if channel == Channel.LINE:
                reply = factories.MessageFactory(
                    ticket=ticket, direction="outbound", body_text="確認いたします"
                )
                LineOutbound.objects.create(
                    shop=world.tea,
                    ticket=ticket,
                    message=reply,
                    status=LineOutbound.Status.FAILED,
                    http_status=400,
                    last_error="LINE answered 400: The request body has 1 error(s)",
                    created_at=message.created_at,
                )
        ReplyTemplate.objects.create(
            shop=world.tea, name="返品のご案内", body="本文", set_status=Ticket.Status.PENDING
        )


def _signed_in(client: Client, route: matrix.Route, world: Any, user: str) -> None:
    matrix.sign_in(client, matrix.Route(route.method, route.url, user=user), world)


def _pages() -> list[tuple[str, str]]:
    """(route name, user) of every GET page: its right user, and the shop's client too."""
    pages = []
    for name in matrix.present({**matrix.PUBLIC, **matrix.SIGNED_IN_ROUTES}):
        route = {**matrix.PUBLIC, **matrix.SIGNED_IN_ROUTES}[name]
        if route.method != "GET":
            continue
        if name in matrix.PUBLIC:
            pages.append((name, ""))
            continue
        pages.append((name, route.user))
        if name in matrix.SHOP_ROUTES and route.user != "client_tea":
            pages.append((name, "client_tea"))
    return pages


@pytest.fixture
def world(world: Any) -> Any:
    from madoguchi.core.testing import factories
    from madoguchi.tenancy.models import Membership

    admin = Membership.Role.ADMIN
    world.tea_owner_admin = factories.MembershipFactory(
        workspace=world.tea.workspace, role=admin
    ).user
    other_agency = factories.WorkspaceFactory(name="別の代行会社", slug="other", kind="agency")
    world.other_admin = factories.MembershipFactory(workspace=other_agency, role=admin).user
    world.ceramics_owner_admin = factories.MembershipFactory(
        workspace=world.ceramics.workspace, role=admin
    ).user
    _every_kind_of_row(world)
    return world


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize(("name", "user"), _pages())
def test_every_page_is_all_japanese(client: Client, world: Any, name: str, user: str) -> None:
    routes = {**matrix.PUBLIC, **matrix.SIGNED_IN_ROUTES}
    route = routes[name]
    route.setup(world)
    if user:
        _signed_in(client, route, world, user)
    url = route.url(world)
    with untranslated_msgids() as missing:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
        html = matrix.text(response)  # a refusal's page (403, 404) too
    assert response.status_code in (200, 302, 403, 404, 410), url
    page = f"{name} as {user or 'anonymous'} ({url})"
    assert sorted(missing) == [], f"{page}: untranslated msgids {sorted(missing)}"
    if response.get("Content-Type", "").startswith("text/html"):
        # The world's own words (people's e-mail names, a shop's slug) are data, not UI.
        data = {world.tea.slug, world.ceramics.slug, world.agency.slug, "other", "yamada-en"}
        data |= MATRIX_DATA_WORDS
        english = english_words(html, allowed=data)
        assert english == [], f"{page}: English words {english}"


def _actions() -> list[str]:
    """Every POST the matrix describes for a signed-in user."""
    return [
        name
        for name in matrix.present(matrix.SIGNED_IN_ROUTES)
        if matrix.SIGNED_IN_ROUTES[name].method == "POST"
    ]


@pytest.mark.parametrize("name", _actions())
def test_every_action_answers_in_japanese(client: Client, world: Any, name: str) -> None:
    """A form's messages, errors and the flash on the page it leads to: all looked up in the
    Japanese catalog."""
    route = matrix.SIGNED_IN_ROUTES[name]
    route.setup(world)
    matrix.sign_in(client, route, world)
    url = route.url(world)
    with untranslated_msgids() as missing:
        response = client.post(url, route.data(world), HTTP_ACCEPT_LANGUAGE="ja", follow=True)
    assert response.status_code < 500, url
    assert sorted(missing) == [], f"{name} ({url}): untranslated msgids {sorted(missing)}"


def test_the_watch_reports_a_msgid_without_translation() -> None:
    from django.utils import translation

    with translation.override("ja"), untranslated_msgids() as missing:
        assert translation.gettext("Inbox") != "Inbox"
        assert translation.gettext("No such msgid, surely") == "No such msgid, surely"
        translation.pgettext("no such context", "Inbox")
        translation.ngettext("%(count)s apple nobody has", "%(count)s apples", 2)
    assert missing == {
        "No such msgid, surely",
        "no such context | Inbox",
        "%(count)s apple nobody has",
    }


def test_visible_english_words_are_found_and_data_is_not() -> None:
    html = (
        '<p>受信箱 <span title="Open">pending</span> TEA-12 LINE</p>'
        "<script>var english = 'ignored';</script>"
        '<a href="https://example.jp/x">user1@example.jp</a><input type="submit" value="Save">'
    )
    assert english_words(html, allowed=set()) == ["Open", "Save", "pending"]


def test_the_public_web_form_is_all_japanese(client: Client, world: Any) -> None:
    """The page a shop's customers see, and its answer to an empty submission."""
    from django.urls import reverse

    from madoguchi.connectors.webform.services import web_form_for

    with unscoped("test setup"):
        key = web_form_for(world.tea).public_key
    url = reverse("webform:public", args=[key])
    with untranslated_msgids() as missing:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
        refused = client.post(url, {}, HTTP_ACCEPT_LANGUAGE="ja")
    assert (page.status_code, refused.status_code) == (200, 400)  # the form, with its errors
    assert sorted(missing) == []
    for response in (page, refused):
        assert english_words(response.text, allowed=set()) == []
