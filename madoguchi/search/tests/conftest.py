from collections.abc import Callable
from typing import Any

import pytest

from madoguchi.conversations.models import Message, Ticket
from madoguchi.core.testing import factories
from madoguchi.customers.models import Customer
from madoguchi.customers.normalize import normalize_identity
from madoguchi.search.services import search_index_customer, search_index_ticket
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import unscoped


@pytest.fixture
def make_ticket(world: Any) -> Callable[..., Ticket]:
    """Create a ticket with messages in `shop` (default tea) and index it."""

    def make(
        subject: str,
        *bodies: str,
        shop: Shop | None = None,
        notes: tuple[str, ...] = (),
        **fields: Any,
    ) -> Ticket:
        with unscoped("test setup"):
            ticket = factories.TicketFactory(shop=shop or world.tea, subject=subject, **fields)
            for body in bodies:
                factories.MessageFactory(ticket=ticket, body_text=body)
            for note in notes:
                factories.MessageFactory(
                    ticket=ticket, body_text=note, direction=Message.Direction.NOTE
                )
        search_index_ticket(ticket.id)
        return ticket

    return make


@pytest.fixture
def make_customer(world: Any) -> Callable[..., Customer]:
    """Create a customer with contact identities in `shop` (default tea) and index it."""

    def make(
        name: str,
        *,
        name_kana: str = "",
        shop: Shop | None = None,
        identities: tuple[tuple[str, str, str], ...] = (),
    ) -> Customer:
        with unscoped("test setup"):
            customer = factories.CustomerFactory(
                shop=shop or world.tea, name=name, name_kana=name_kana
            )
            for kind, value, display_name in identities:
                factories.ContactIdentityFactory(
                    customer=customer,
                    kind=kind,
                    value=normalize_identity(kind, value),
                    display_value=value,
                    display_name=display_name,
                )
        search_index_customer(customer.id)
        return customer

    return make
