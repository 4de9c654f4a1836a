"""SLA shown beside the ticket and at the top of the inbox; never to clients or other shops."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.operations.models import SlaMeasureRecord, SlaPolicy
from madoguchi.operations.services import sla_refresh
from madoguchi.tenancy.scoping import in_shop


@pytest.fixture
def breached_tea_ticket(world):
    ticket = world.tea_ticket
    with in_shop(world.tea.id):
        SlaPolicy.objects.create(
            shop=world.tea, name="標準", first_response_minutes=1, in_business_hours=False
        )
        type(ticket).objects.filter(pk=ticket.pk).update(
            created_at=timezone.now() - dt.timedelta(hours=2)
        )
        ticket.refresh_from_db()
        sla_refresh(ticket_id=ticket.id)
        assert SlaMeasureRecord.objects.get(ticket=ticket, metric="first_response").is_breached
    return ticket


def _ticket_url(ticket):
    return reverse(
        "conversations:ticket", kwargs={"shop_slug": ticket.shop.slug, "number": ticket.number}
    )


def test_ticket_page_shows_the_sla_to_staff(client, world, breached_tea_ticket):
    client.force_login(world.operator_tea)
    response = client.get(_ticket_url(breached_tea_ticket), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    panel = response.content.decode()
    assert 'data-testid="sla-panel"' in panel
    assert "First response" in panel and "Breached" in panel


def test_ticket_page_hides_the_sla_from_the_client(client, world, breached_tea_ticket):
    client.force_login(world.client_tea)
    response = client.get(_ticket_url(breached_tea_ticket))
    assert response.status_code == 200
    assert 'data-testid="sla-panel"' not in response.content.decode()


def test_breaching_tickets_rise_above_the_inbox(client, world, breached_tea_ticket):
    client.force_login(world.operator_tea)
    inbox = client.get(reverse("conversations:inbox")).content.decode()
    assert '<div id="sla-at-risk">' in inbox  # filled by the counts request below
    page = client.get(reverse("conversations:inbox_counts")).content.decode()
    assert '<div id="sla-at-risk" hx-swap-oob="true">' in page
    strip = page.split('data-testid="sla-at-risk"', 1)[1].split("</section>", 1)[0]
    assert breached_tea_ticket.reference in strip


def test_other_shop_operator_never_sees_the_breach(client, world, breached_tea_ticket):
    client.force_login(world.operator_ceramics)
    page = client.get(reverse("conversations:inbox_counts")).content.decode()
    assert 'data-testid="sla-at-risk"' not in page
    assert client.get(_ticket_url(breached_tea_ticket)).status_code == 404
