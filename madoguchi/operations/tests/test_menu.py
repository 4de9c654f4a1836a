"""The operations pages in the one menu: each role sees exactly the pages that let it in."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from madoguchi.core import navigation
from madoguchi.core.testing import factories
from madoguchi.operations.menu import ENTRIES
from madoguchi.operations.models import ReplyDraft
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Membership
from madoguchi.tenancy.scoping import in_shop

STAFF_PAGES = [
    "operations:templates",
    "operations:after_hours",
    "operations:shifts",
    "operations:coverage",
    "operations:calendar",
    "operations:sla_policies",
    "operations:routing",
]
LEAD_PAGES = ["operations:approvals", "operations:alerts", "operations:attainment"]


def _trainee(world):
    membership = factories.MembershipFactory(
        workspace=world.agency, role=Membership.Role.OPERATOR, is_trainee=True
    )
    factories.ShopAssignmentFactory(membership=membership, shop=world.tea)
    return membership.user


def _operations_links(user, shop) -> set[str]:
    request = RequestFactory().get("/")
    sections = navigation.build_menu(request, actor_for_user(user), shop.id, shop.slug)
    return {
        link.url
        for section in sections
        for link in section.links
        if link.url.startswith("/operations/")
    }


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin", STAFF_PAGES + LEAD_PAGES),
        ("supervisor", STAFF_PAGES + LEAD_PAGES),
        ("operator_tea", STAFF_PAGES),
        ("trainee", STAFF_PAGES),
        ("client_tea", ["operations:attainment"]),
    ],
)
def test_each_role_sees_the_operations_pages_it_may_open_and_no_other(world, who, expected):
    user = _trainee(world) if who == "trainee" else getattr(world, who)
    client = Client()
    client.force_login(user)
    seen = _operations_links(user, world.tea)
    assert seen == {reverse(name, args=[world.tea.slug]) for name in expected}
    for entry in ENTRIES:
        url = reverse(entry.url_name, args=[world.tea.slug])
        status = client.get(url).status_code
        if url in seen:
            assert status == 200, f"{who}: {url} answered {status}"
        else:
            assert status in (403, 404), f"{who}: {url} hidden but answered {status}"


def test_the_menu_is_registered_in_its_sections(world):
    sections = {entry.url_name: entry.section for entry in ENTRIES}
    assert sections == {
        "operations:templates": navigation.OPERATIONS,
        "operations:after_hours": navigation.OPERATIONS,
        "operations:approvals": navigation.OPERATIONS,
        "operations:alerts": navigation.OPERATIONS,
        "operations:shifts": navigation.OPERATIONS,
        "operations:coverage": navigation.OPERATIONS,
        "operations:calendar": navigation.SHOP_SETTINGS,
        "operations:sla_policies": navigation.SHOP_SETTINGS,
        "operations:routing": navigation.SHOP_SETTINGS,
        "operations:attainment": navigation.REPORTS,
    }


def test_another_shops_pages_are_not_offered(world):
    assert _operations_links(world.operator_tea, world.ceramics) == set()


def test_the_approvals_count_goes_to_the_shops_leads_only(world):
    trainee = _trainee(world)
    with in_shop(world.tea.id):
        for _ in range(2):
            ReplyDraft.objects.create(
                shop=world.tea,
                ticket=world.tea_ticket,
                author=trainee,
                body_text="お待たせしました。",
                created_at=world.tea_ticket.created_at,
            )
    url = reverse("menu_counts") + f"?shop={world.tea.slug}"
    client = Client()
    client.force_login(world.supervisor)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    approvals = reverse("operations:approvals", args=[world.tea.slug])
    assert (
        f'<a class="menu__count" href="{approvals}">Replies to approve'
        ' <span class="badge badge--alert">2</span></a>'
    ) in page
    client.force_login(world.operator_tea)
    assert approvals not in client.get(url).content.decode()
    client.force_login(world.client_tea)
    assert approvals not in client.get(url).content.decode()
