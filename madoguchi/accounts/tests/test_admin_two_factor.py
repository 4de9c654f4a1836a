"""Checklist 70: every admin signs in with a second factor, whatever their workspace's policy; an
admin without one sets it up at their next sign-in before any other page opens."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.selectors import Step, sign_in_step
from madoguchi.config.settings import base

from .conftest import code_for, post_password

SETUP = reverse("accounts:two_factor_setup")

pytestmark = pytest.mark.django_db


@pytest.fixture
def admins_need_it(settings: Any) -> None:
    settings.MADOGUCHI = {**settings.MADOGUCHI, "TWO_FACTOR_FOR_ADMINS": True}


def test_the_rule_is_on_outside_the_test_suite() -> None:
    # Production and local settings take MADOGUCHI from base unchanged (only test.py turns it off).
    assert base.MADOGUCHI["TWO_FACTOR_FOR_ADMINS"] is True


def test_an_admin_without_an_authenticator_sets_one_up_at_the_next_sign_in(
    world: Any, admins_need_it: None
) -> None:
    assert world.agency.requires_two_factor is False  # the workspace does not ask for it
    admin = world.admin
    client = Client()
    response = post_password(client, admin.email, next="/search/?q=x")
    assert response.status_code == 302
    # Every page, a fragment and the shops' pages send the admin to the set-up first.
    for url in (
        reverse("conversations:inbox"),
        reverse("accounts:profile"),
        f"/shops/tea/tickets/{world.tea_ticket.number}/",
        "/search/?q=x",
    ):
        page = client.get(url)
        assert page.status_code == 302, url
        assert page["Location"].startswith(SETUP), url
    fragment = client.get(reverse("conversations:inbox"), headers={"HX-Request": "true"})
    assert fragment["HX-Redirect"] == SETUP
    setup = client.get(SETUP)
    assert setup.status_code == 200
    assert 'data-testid="two-factor-required"' in setup.text
    device = TOTPDevice.objects.get(user=admin)
    confirmed = client.post(SETUP, {"code": code_for(device)})
    assert confirmed["Location"] == reverse("accounts:recovery_codes")
    assert client.get(reverse("conversations:inbox")).status_code == 200

    # From now on, the code is asked at every sign-in.
    again = Client()
    post_password(again, admin.email)
    assert again.get(reverse("conversations:inbox"))["Location"].startswith(
        reverse("accounts:sign_in_code")
    )


def test_other_roles_follow_their_workspaces_policy(world: Any, admins_need_it: None) -> None:
    for user in (world.supervisor, world.operator_tea, world.client_tea):
        assert sign_in_step(user, is_verified=False) is None, user
        client = Client()
        post_password(client, user.email)
        assert client.get(reverse("accounts:profile")).status_code == 200
    assert sign_in_step(world.admin, is_verified=False) == Step.SET_UP
    world.agency.requires_two_factor = True
    world.agency.save()
    assert sign_in_step(world.supervisor, is_verified=False) == Step.SET_UP


def test_a_former_admin_is_not_held(world: Any, admins_need_it: None) -> None:
    membership = world.admin.memberships.get()
    membership.is_active = False
    membership.save()
    assert sign_in_step(world.admin, is_verified=False) is None


def test_the_admins_socket_is_refused_until_the_set_up(world: Any, admins_need_it: None) -> None:
    from madoguchi.accounts.websockets import _signed_in_completely

    assert _signed_in_completely(world.admin, {}) is False
    assert _signed_in_completely(world.supervisor, {}) is True


def test_a_new_workspace_requires_two_steps_of_its_operators_too(settings: Any) -> None:
    from madoguchi.accounts.models import User
    from madoguchi.tenancy.models import Membership
    from madoguchi.tenancy.scoping import unscoped
    from madoguchi.tenancy.services import workspace_setup

    assert base.MADOGUCHI["NEW_WORKSPACES_REQUIRE_TWO_FACTOR"] is True  # outside the suite
    settings.MADOGUCHI = {**settings.MADOGUCHI, "NEW_WORKSPACES_REQUIRE_TWO_FACTOR": True}
    with unscoped("setup of an empty database"):
        made = workspace_setup(
            workspace_name="窓口サポート",
            kind="agency",
            admin_email="admin@agency.example",
            admin_password="a long pass phrase 2026",
        )
        operator = User.objects.create_user("op@agency.example", "another pass phrase 2026")
        Membership.objects.create(
            user=operator, workspace=made.workspace, role=Membership.Role.OPERATOR
        )
    assert made.workspace.requires_two_factor is True
    assert sign_in_step(operator, is_verified=False) == Step.SET_UP
