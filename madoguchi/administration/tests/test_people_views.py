"""The people list and a person's page: roles, shops, languages, deactivation, who may do what."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.accounts.models import User, UserSession
from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Ticket
from madoguchi.core.testing import factories
from madoguchi.events.models import Event
from madoguchi.operations.models import OperatorProfile
from madoguchi.tenancy.models import Membership, ShopAssignment
from madoguchi.tenancy.scoping import unscoped

PEOPLE_URL = reverse("administration:people")


def membership_of(user, workspace=None):
    memberships = Membership.objects.filter(user=user)
    if workspace is not None:
        memberships = memberships.filter(workspace=workspace)
    return memberships.get()


def person_url(membership, suffix=""):
    name = "administration:person" + (f"_{suffix}" if suffix else "")
    return reverse(name, args=[membership.id])


def person_form(role="operator", shops=(), languages=("ja",), is_trainee=False):
    data = {"role": role, "shops": [str(shop.id) for shop in shops], "languages": list(languages)}
    if is_trainee:
        data["is_trainee"] = "on"
    return data


def assign(ticket, user, status="open"):
    with unscoped("test setup"):
        Ticket.objects.filter(pk=ticket.pk).update(assignee=user, status=status)


def reload(ticket):
    with unscoped("test assertion"):
        return Ticket.objects.get(pk=ticket.pk)


def assignment_events(ticket):
    with unscoped("test assertion"):
        return list(
            Event.objects.filter(ticket=ticket, type="ticket.assigned").values_list(
                "payload", flat=True
            )
        )


def languages_of(membership):
    with unscoped("test assertion"):
        profile = OperatorProfile.objects.filter(membership=membership).first()
    return profile.languages if profile else None


# The list -----------------------------------------------------------------------------------


def test_admin_sees_the_people_of_the_agency_with_roles_and_shops(english, world):
    with unscoped("test setup"):
        OperatorProfile.objects.create(
            workspace=world.agency,
            membership=membership_of(world.operator_tea),
            languages=["ja", "en"],
        )
    english.force_login(world.admin)
    response = english.get(PEOPLE_URL)
    assert response.status_code == 200
    page = response.content.decode()
    emails = [row.user.email for row in response.context["page"].people]
    assert sorted(emails) == sorted(
        [
            world.admin.email,
            world.supervisor.email,
            world.operator_tea.email,
            world.operator_ceramics.email,
        ]
    )
    # Nobody of the shop companies.
    assert world.client_tea.email not in page
    row = next(r for r in response.context["page"].people if r.user == world.operator_tea)
    assert [shop.slug for shop in row.shops] == ["tea"]
    assert row.languages == ["ja", "en"]
    assert row.has_two_factor is False
    assert 'data-testid="invite-link"' in page
    # The menu links the page.
    assert f'href="{PEOPLE_URL}"' in page


def test_supervisor_reads_the_list_and_a_person_without_forms(english, world):
    english.force_login(world.supervisor)
    page = english.get(PEOPLE_URL).content.decode()
    assert world.operator_tea.email in page
    assert 'data-testid="invite-link"' not in page
    assert f'href="{PEOPLE_URL}"' in page
    membership = membership_of(world.operator_tea)
    response = english.get(person_url(membership))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="person-form"' not in text
    assert 'data-testid="deactivate-form"' not in text


def test_supervisor_changes_nothing(english, world):
    english.force_login(world.supervisor)
    membership = membership_of(world.operator_tea)
    assert english.post(person_url(membership), person_form(role="admin")).status_code == 403
    assert english.post(person_url(membership, "deactivate")).status_code == 403
    membership.refresh_from_db()
    assert (membership.role, membership.is_active) == ("operator", True)
    assert not AuditEntry.objects.filter(action__startswith="membership.").exists()


@pytest.mark.parametrize("who", ["operator_tea", "client_tea"])
def test_operators_and_clients_get_404_and_no_menu_link(english, world, who):
    english.force_login(getattr(world, who))
    membership = membership_of(world.operator_ceramics)
    assert english.get(PEOPLE_URL).status_code == 404
    assert english.get(person_url(membership)).status_code == 404
    assert english.post(person_url(membership, "deactivate")).status_code == 404
    assert membership_of(world.operator_ceramics).is_active is True
    inbox = english.get(reverse("conversations:inbox")).content.decode()
    assert f'href="{PEOPLE_URL}"' not in inbox


def test_person_of_another_workspace_is_a_404(english, world):
    english.force_login(world.admin)
    client_membership = membership_of(world.client_tea)
    assert english.get(person_url(client_membership)).status_code == 404
    assert english.post(person_url(client_membership), person_form(role="admin")).status_code == 404
    assert english.post(person_url(client_membership, "deactivate")).status_code == 404
    assert english.get(f"{PEOPLE_URL}?workspace={world.tea.workspace_id}").status_code == 404
    assert english.get(f"{PEOPLE_URL}?workspace=abc").status_code == 404
    client_membership.refresh_from_db()
    assert (client_membership.role, client_membership.is_active) == ("client", True)


def test_admin_of_two_workspaces_switches_between_them(english, world):
    factories.MembershipFactory(user=world.admin, workspace=world.tea.workspace, role="admin")
    english.force_login(world.admin)
    default = english.get(PEOPLE_URL)
    assert default.context["workspace"] == world.tea.workspace  # 山田園 sorts before 窓口サポート
    other = english.get(f"{PEOPLE_URL}?workspace={world.agency.id}")
    assert other.context["workspace"] == world.agency
    assert f"?workspace={world.tea.workspace_id}" in other.content.decode()


# Changing a person ------------------------------------------------------------------------------


def test_admin_changes_role_trainee_shops_and_languages(english, world):
    english.force_login(world.admin)
    membership = membership_of(world.operator_ceramics)
    page = english.get(person_url(membership)).content.decode()
    assert world.tea.name in page and world.ceramics.name in page
    response = english.post(
        person_url(membership),
        person_form(shops=[world.tea, world.ceramics], languages=("ja", "ko"), is_trainee=True),
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.role, membership.is_trainee) == ("operator", True)
    assert sorted(
        ShopAssignment.objects.filter(membership=membership).values_list("shop__slug", flat=True)
    ) == ["ceramics", "tea"]
    assert languages_of(membership) == ["ja", "ko"]
    entry = AuditEntry.objects.get(action="membership.changed")
    assert entry.actor == world.admin
    assert entry.changes == {
        "is_trainee": [False, True],
        "shop_ids": [[world.ceramics.id], sorted([world.tea.id, world.ceramics.id])],
    }
    languages = AuditEntry.objects.get(action="operator.languages_changed")
    assert languages.changes == {"languages": [[], ["ja", "ko"]]}

    response = english.post(person_url(membership), person_form(role="supervisor"))
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.role, membership.is_trainee) == ("supervisor", False)
    last = AuditEntry.objects.filter(action="membership.changed").order_by("-id").first()
    assert last.changes["role"] == ["operator", "supervisor"]


def test_taking_a_shop_hands_the_persons_open_tickets_back(english, world):
    assign(world.tea_ticket, world.operator_tea)
    english.force_login(world.admin)
    membership = membership_of(world.operator_tea)
    response = english.post(
        person_url(membership), person_form(shops=[world.ceramics]), follow=True
    )
    assert "1 open ticket went back to the queue." in response.content.decode()
    assert reload(world.tea_ticket).assignee_id is None
    assert assignment_events(world.tea_ticket) == [
        {"old_user_id": world.operator_tea.id, "new_user_id": None, "reason": "handed-back"}
    ]


def test_invalid_person_form_is_japanese_and_keeps_the_choice(client, world):
    client.force_login(world.admin)
    membership = membership_of(world.operator_tea)
    response = client.post(
        person_url(membership), person_form(role="client", shops=[world.ceramics])
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "正しく選択してください。 client は候補にありません。" in text
    # What was chosen stays chosen.
    checked = re.findall(r'name="shops" value="(\d+)" id="id_shops_\d" checked', text)
    assert checked == [str(world.ceramics.id)]
    membership.refresh_from_db()
    assert membership.role == "operator"
    assert not AuditEntry.objects.filter(action="membership.changed").exists()


def test_last_admin_can_be_neither_demoted_nor_deactivated(client, world):
    client.force_login(world.admin)
    own = membership_of(world.admin)
    response = client.post(person_url(own), person_form(role="supervisor"))
    assert response.status_code == 200
    assert (
        "ワークスペースには有効な管理者が必要です。先に別の人を管理者にしてください。"
        in response.content.decode()
    )
    response = client.post(person_url(own, "deactivate"), follow=True)
    assert (
        "ワークスペースには有効な管理者が必要です。先に別の人を管理者にしてください。"
        in response.content.decode()
    )
    own.refresh_from_db()
    assert (own.role, own.is_active) == ("admin", True)


def test_an_admin_may_step_down_when_another_admin_remains(english, world):
    second = factories.MembershipFactory(workspace=world.agency, role="admin")
    english.force_login(world.admin)
    own = membership_of(world.admin)
    assert english.post(person_url(own), person_form(role="supervisor")).status_code == 302
    own.refresh_from_db()
    assert own.role == "supervisor"
    # A supervisor now, they change nobody any more.
    assert english.post(person_url(second, "deactivate")).status_code == 403
    second.refresh_from_db()
    assert second.is_active is True


def test_admin_with_a_deactivated_co_admin_is_still_the_last(client, world):
    factories.MembershipFactory(workspace=world.agency, role="admin", is_active=False)
    client.force_login(world.admin)
    response = client.post(person_url(membership_of(world.admin), "deactivate"), follow=True)
    assert "ワークスペースには有効な管理者が必要です。" in response.content.decode()
    assert membership_of(world.admin).is_active is True


# Deactivation ---------------------------------------------------------------------------------


def test_deactivation_ends_sessions_and_hands_tickets_back(
    english, world, django_capture_on_commit_callbacks
):
    assign(world.tea_ticket, world.operator_tea)
    solved = factories.TicketFactory(shop=world.tea, assignee=world.operator_tea, status="solved")
    operator_browser = Client()
    operator_browser.force_login(world.operator_tea)
    assert operator_browser.get(reverse("conversations:inbox")).status_code == 200

    english.force_login(world.admin)
    membership = membership_of(world.operator_tea)
    with django_capture_on_commit_callbacks(execute=True):
        response = english.post(person_url(membership, "deactivate"))
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.is_active is False
    assert User.objects.get(pk=world.operator_tea.pk).is_active is False
    # The operator's browser is signed out at once.
    assert not UserSession.objects.filter(user=world.operator_tea).exists()
    after = operator_browser.get(reverse("conversations:inbox"))
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("accounts:login"))
    # The open ticket is back in the queue with its event; the solved one keeps its assignee.
    assert reload(world.tea_ticket).assignee_id is None
    assert reload(solved).assignee_id == world.operator_tea.id
    assert assignment_events(world.tea_ticket) == [
        {"old_user_id": world.operator_tea.id, "new_user_id": None, "reason": "handed-back"}
    ]
    entry = AuditEntry.objects.get(action="membership.deactivated")
    assert entry.actor == world.admin
    assert entry.changes == {
        "is_active": [True, False],
        "user_is_active": [True, False],
        "tickets_handed_back": 1,
    }
    handed = AuditEntry.objects.get(action="ticket.assigned", target_id=str(world.tea_ticket.id))
    assert handed.changes == {"assignee": [world.operator_tea.id, None]}
    page = english.get(person_url(membership)).content.decode()
    assert 'data-testid="reactivate-form"' in page


def test_deactivation_keeps_the_account_of_someone_active_elsewhere(
    english, world, django_capture_on_commit_callbacks
):
    # The operator is also a supervisor of the tea shop's own company.
    factories.MembershipFactory(
        user=world.operator_tea, workspace=world.tea.workspace, role="supervisor"
    )
    assign(world.tea_ticket, world.operator_tea)
    operator_browser = Client()
    operator_browser.force_login(world.operator_tea)
    english.force_login(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        english.post(person_url(membership_of(world.operator_tea, world.agency), "deactivate"))
    assert User.objects.get(pk=world.operator_tea.pk).is_active is True
    # Their sessions end all the same: they sign in again into what is left.
    after = operator_browser.get(reverse("conversations:inbox"))
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("accounts:login"))
    # Still staff of the tea shop through the shop company: the ticket stays theirs.
    assert reload(world.tea_ticket).assignee_id == world.operator_tea.id
    entry = AuditEntry.objects.get(action="membership.deactivated")
    assert entry.changes == {"is_active": [True, False], "tickets_handed_back": 0}


def test_reactivation_lets_the_person_sign_in_again(
    english, world, django_capture_on_commit_callbacks
):
    english.force_login(world.admin)
    membership = membership_of(world.operator_tea)
    with django_capture_on_commit_callbacks(execute=True):
        english.post(person_url(membership, "deactivate"))
    response = english.post(person_url(membership, "reactivate"), follow=True)
    assert "is active again." in response.content.decode()
    membership.refresh_from_db()
    assert membership.is_active is True
    assert User.objects.get(pk=world.operator_tea.pk).is_active is True
    assert AuditEntry.objects.get(action="membership.reactivated").changes == {
        "is_active": [False, True],
        "user_is_active": [False, True],
    }
    browser = Client()
    assert browser.login(username=world.operator_tea.email, password="pass-1234")


def test_deactivating_twice_says_so_in_japanese(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.admin)
    membership = membership_of(world.operator_tea)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(person_url(membership, "deactivate"))
    response = client.post(person_url(membership, "deactivate"), follow=True)
    assert "この人はすでに無効です。" in response.content.decode()
    assert AuditEntry.objects.filter(action="membership.deactivated").count() == 1
