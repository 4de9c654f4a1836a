"""The workspace security page: its admins require 2FA of the staff, supervisors read it,
everyone else gets 404; the menu links it for those who may open it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.core.testing import factories
from madoguchi.tenancy.models import Membership

from .conftest import enable_two_factor, signed_in_with_code

PAGE = reverse("accounts:workspace_security")


def as_user(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def edit_url(workspace) -> str:  # type: ignore[no-untyped-def]
    return reverse("accounts:workspace_security_edit", args=[workspace.slug])


def test_an_admin_requires_two_factor_of_the_staff_audited(world):
    enable_two_factor(world.supervisor)
    client = as_user(world.admin)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert world.agency.name in page.text
    assert "スタッフ 4 人のうち 1 人が2段階認証を設定済みです。" in page.text
    assert 'data-testid="workspace-security-form"' in page.text
    response = client.post(edit_url(world.agency), {"requires_two_factor": "on"})
    assert response["Location"] == PAGE
    world.agency.refresh_from_db()
    assert world.agency.requires_two_factor is True
    entry = AuditEntry.objects.get(action="workspace.security_changed")
    assert (entry.actor, entry.target_id, entry.changes) == (
        world.admin,
        str(world.agency.pk),
        {"requires_two_factor": [False, True]},
    )
    # The admin has no authenticator yet: the next page is the set-up.
    assert client.get(PAGE)["Location"].startswith(reverse("accounts:two_factor_setup"))


def test_turning_it_off_again_is_audited_and_saving_unchanged_is_not(world):
    world.agency.requires_two_factor = True
    world.agency.save(update_fields=["requires_two_factor"])
    device, _ = enable_two_factor(world.admin)
    client = signed_in_with_code(world.admin, device)
    client.post(edit_url(world.agency), {"requires_two_factor": "on"})
    assert not AuditEntry.objects.filter(action="workspace.security_changed").exists()
    client.post(edit_url(world.agency), {})
    world.agency.refresh_from_db()
    assert world.agency.requires_two_factor is False
    assert AuditEntry.objects.get(action="workspace.security_changed").changes == {
        "requires_two_factor": [True, False]
    }


def test_a_supervisor_reads_it_and_may_not_change_it(world):
    client = as_user(world.supervisor)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'data-testid="workspace-security-form"' not in page.text
    assert "この設定を変更できるのはワークスペースの管理者だけです。" in page.text
    response = client.post(edit_url(world.agency), {"requires_two_factor": "on"})
    assert response.status_code == 403
    world.agency.refresh_from_db()
    assert world.agency.requires_two_factor is False
    assert not AuditEntry.objects.filter(action="workspace.security_changed").exists()


@pytest.mark.parametrize("who", ["operator_tea", "client_tea", "client_ceramics"])
def test_other_roles_get_404(world, who):
    client = as_user(getattr(world, who))
    assert client.get(PAGE).status_code == 404
    assert client.post(edit_url(world.agency), {"requires_two_factor": "on"}).status_code == 404
    world.agency.refresh_from_db()
    assert world.agency.requires_two_factor is False


def test_an_admin_of_another_workspace_gets_404_for_this_one(world):
    tea_owner = world.tea.workspace
    owner_admin = factories.MembershipFactory(workspace=tea_owner, role=Membership.Role.ADMIN)
    client = as_user(owner_admin.user)
    page = client.get(PAGE)
    assert tea_owner.name in page.text
    assert world.agency.name not in page.text
    assert client.post(edit_url(world.agency), {"requires_two_factor": "on"}).status_code == 404
    world.agency.refresh_from_db()
    assert world.agency.requires_two_factor is False


def test_an_inactive_membership_leads_nothing(world):
    Membership.objects.filter(user=world.admin).update(is_active=False)
    assert as_user(world.admin).get(PAGE).status_code == 404


@pytest.mark.parametrize(
    ("who", "sees"),
    [("admin", True), ("supervisor", True), ("operator_tea", False), ("client_tea", False)],
)
def test_the_menu_links_the_page_for_admins_and_supervisors(world, who, sees):
    page = as_user(getattr(world, who)).get(reverse("conversations:inbox"))
    assert (f'href="{PAGE}"' in page.text) is sees
