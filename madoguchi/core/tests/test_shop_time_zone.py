"""Pages show times in the local time of the shop they are about."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client
from django.urls import reverse

from madoguchi.conversations.models import Message
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import unscoped

AT = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)


def _message_at(world: Any, time_zone: str) -> str:
    with unscoped("test setup"):
        Shop.objects.filter(id=world.tea.id).update(time_zone=time_zone)
        Message.objects.filter(ticket=world.tea_ticket).update(created_at=AT)
    return reverse("conversations:ticket", args=[world.tea.slug, world.tea_ticket.number])


def test_the_ticket_page_shows_the_shops_local_time(client: Client, world: Any) -> None:
    url = _message_at(world, "America/New_York")
    client.force_login(world.admin)  # an agency admin: two shops, two time zones
    html = client.get(url).content.decode()
    assert 'datetime="2026-11-30T18:30:00-05:00"' in html
    assert ">2026-11-30 18:30</time>" in html
    assert "2026-12-01 08:30" not in html


def test_a_shop_in_tokyo_shows_tokyo_time(client: Client, world: Any) -> None:
    url = _message_at(world, "Asia/Tokyo")
    client.force_login(world.operator_tea)
    html = client.get(url).content.decode()
    assert ">2026-12-01 08:30</time>" in html


def test_pages_of_a_user_of_one_shop_follow_that_shop(client: Client, world: Any) -> None:
    from django.utils import timezone

    _message_at(world, "America/New_York")
    with unscoped("test setup"):
        world.tea_ticket.__class__.objects.filter(id=world.tea_ticket.id).update(
            last_activity_at=AT
        )
    client.force_login(world.client_tea)  # the tea shop's client sees only the tea shop
    html = client.get(reverse("conversations:inbox")).content.decode()
    assert '<time datetime="2026-11-30T18:30:00-05:00" title="2026-11-30 18:30">' in html
    assert timezone.get_current_timezone_name() == "Asia/Tokyo"  # reset after the request


def test_another_shops_ticket_is_not_found(client: Client, world: Any) -> None:
    url = _message_at(world, "America/New_York")
    client.force_login(world.operator_ceramics)
    response = client.get(url)
    assert response.status_code == 404
    assert "18:30" not in response.content.decode()
