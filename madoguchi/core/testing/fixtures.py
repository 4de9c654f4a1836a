"""The two-shop world every view test starts from, and a test client that reads English.

An agency works two client shops (tea, ceramics). `operator_tea` is assigned only to the tea
shop, `client_tea` owns the tea shop, `client_ceramics` owns the ceramics shop.
"""

from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client
from django_scopes import scopes_disabled

from madoguchi.accounts.models import User
from madoguchi.conversations.models import Ticket
from madoguchi.core.testing import factories
from madoguchi.tenancy.models import Membership, Shop, Workspace


@dataclass
class World:
    agency: Workspace
    tea: Shop
    ceramics: Shop
    admin: User
    supervisor: User
    operator_tea: User
    operator_ceramics: User
    client_tea: User
    client_ceramics: User
    tea_ticket: Ticket
    ceramics_ticket: Ticket


@pytest.fixture
def world(db: None) -> World:
    with scopes_disabled():
        agency = factories.WorkspaceFactory(name="窓口サポート", slug="agency", kind="agency")
        tea_owner = factories.WorkspaceFactory(name="山田園", slug="yamada-en")
        ceramics_owner = factories.WorkspaceFactory(name="青木陶房", slug="aoki")
        tea = factories.ShopFactory(
            workspace=tea_owner, name="山田園 茶舗", slug="tea", ticket_prefix="TEA"
        )
        ceramics = factories.ShopFactory(
            workspace=ceramics_owner,
            name="青木陶房 オンライン",
            slug="ceramics",
            ticket_prefix="CER",
        )
        factories.EngagementFactory(agency=agency, shop=tea)
        factories.EngagementFactory(agency=agency, shop=ceramics)
        role = Membership.Role
        admin = factories.MembershipFactory(workspace=agency, role=role.ADMIN).user
        supervisor = factories.MembershipFactory(workspace=agency, role=role.SUPERVISOR).user
        operator_tea_membership = factories.MembershipFactory(workspace=agency, role=role.OPERATOR)
        factories.ShopAssignmentFactory(membership=operator_tea_membership, shop=tea)
        operator_ceramics_membership = factories.MembershipFactory(
            workspace=agency, role=role.OPERATOR
        )
        factories.ShopAssignmentFactory(membership=operator_ceramics_membership, shop=ceramics)
        client_tea = factories.MembershipFactory(workspace=tea_owner, role=role.CLIENT).user
        client_ceramics = factories.MembershipFactory(
            workspace=ceramics_owner, role=role.CLIENT
        ).user
        tea_ticket = factories.TicketFactory(shop=tea, subject="お茶が届きません")
        factories.MessageFactory(ticket=tea_ticket)
        ceramics_ticket = factories.TicketFactory(shop=ceramics, subject="器が割れていました")
        factories.MessageFactory(ticket=ceramics_ticket, body_text="届いた器にひびがありました。")
    return World(
        agency=agency,
        tea=tea,
        ceramics=ceramics,
        admin=admin,
        supervisor=supervisor,
        operator_tea=operator_tea_membership.user,
        operator_ceramics=operator_ceramics_membership.user,
        client_tea=client_tea,
        client_ceramics=client_ceramics,
        tea_ticket=tea_ticket,
        ceramics_ticket=ceramics_ticket,
    )


@pytest.fixture
def english(client: Client) -> Client:
    """The test client with the language cookie set to English (pages are Japanese by default)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client
