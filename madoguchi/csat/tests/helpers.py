"""Rows the CSAT tests share: a shop with CSAT on, solved tickets on each channel."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from madoguchi.conversations.models import Ticket
from madoguchi.conversations.services import ticket_update
from madoguchi.core.testing import factories
from madoguchi.csat.models import CsatSettings
from madoguchi.csat.services import csat_settings_save
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop

TOKEN_IN_TEXT = re.compile(r"/csat/([A-Za-z0-9_-]+)/")


def enable_csat(world, shop=None, *, delay_minutes: int = 60, **wording: str) -> CsatSettings:
    """Switch CSAT on for the shop as its supervisor would, backdated so tickets count."""
    shop = shop or world.tea
    with in_shop(shop.id):
        settings = csat_settings_save(
            actor=actor_for_user(world.supervisor),
            shop=shop,
            is_enabled=True,
            delay_minutes=delay_minutes,
            wording=wording,
        )
        CsatSettings.objects.filter(pk=settings.pk).update(
            enabled_at=timezone.now() - dt.timedelta(days=1)
        )
        settings.refresh_from_db()
    return settings


def solve(world, ticket: Ticket, user=None) -> Ticket:
    """Mark the ticket solved through the service, as the shop's operator."""
    user = user or (world.operator_tea if ticket.shop_id == world.tea.id else world.supervisor)
    with in_shop(ticket.shop_id):
        return ticket_update(actor=actor_for_user(user), ticket=ticket, status=Ticket.Status.SOLVED)


def email_ticket(shop, *, email: str = "hanako@example.com", language: str = "ja") -> Ticket:
    with in_shop(shop.id):
        customer = factories.CustomerFactory(shop=shop, name="山田花子")
        factories.ContactIdentityFactory(customer=customer, value=email, display_value=email)
        ticket = factories.TicketFactory(
            shop=shop, customer=customer, channel="email", language=language
        )
        factories.MessageFactory(ticket=ticket, author_customer=customer)
    return ticket


def token_of(text: str) -> str:
    match = TOKEN_IN_TEXT.search(text)
    assert match is not None, text
    return match.group(1)
