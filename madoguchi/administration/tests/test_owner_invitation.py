"""The shop page: an engaged agency's admin invites the shop company's first admin.

The agency created the client company with nobody in it; the person who runs it joins as its
admin and manages its people from then on, after which the agency may no longer invite into it.
"""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from madoguchi.accounts.models import User
from madoguchi.administration.models import Invitation
from madoguchi.audit.models import AuditEntry
from madoguchi.core.testing import factories
from madoguchi.tenancy import services
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.models import Membership

Role = Membership.Role
LINK = re.compile(r"http://testserver(/settings/invitations/[A-Za-z0-9_-]+/)")
PASSWORD = "kyusu-to-yunomi-42"


def shop_url(shop):
    return reverse("administration:shop_edit", args=[shop.slug])


def invite_url(shop):
    return reverse("administration:owner_invite", args=[shop.slug])


def owner_form(email, name=""):
    return {"owner-email": email, "owner-display_name": name}


def invite_owner(client, capture, world, email, name=""):
    client.force_login(world.admin)
    with capture(execute=True):
        return client.post(invite_url(world.tea), owner_form(email, name))


def link_path(message):
    match = LINK.search(message.body)
    assert match is not None, message.body
    return match.group(1)


def html(response):
    return response.content.decode()


def test_the_agency_invites_the_owner_who_joins_as_the_companys_admin(
    client, world, django_capture_on_commit_callbacks
):
    client.force_login(world.admin)
    page = html(client.get(shop_url(world.tea)))
    assert 'data-testid="owner-form"' in page
    assert "ここから最初に招待した人は 山田園 の管理者として参加します。" in page

    response = invite_owner(
        client,
        django_capture_on_commit_callbacks,
        world,
        " Owner@Yamada-en.example.jp ",
        "山田 一郎",
    )
    assert response.status_code == 302
    assert response["Location"] == shop_url(world.tea)
    invitation = Invitation.objects.get()
    assert (invitation.workspace_id, invitation.email, invitation.role) == (
        world.tea.workspace_id,
        "owner@yamada-en.example.jp",
        "admin",
    )
    assert (invitation.display_name, invitation.invited_by) == ("山田 一郎", world.admin)
    assert list(invitation.shops.all()) == []
    # The mail is the people pages' invitation mail, greeting the owner by name.
    (message,) = mail.outbox
    assert message.to == ["owner@yamada-en.example.jp"]
    assert message.subject == "【窓口】山田園 への招待"
    assert message.body.startswith("山田 一郎 様\n\n窓口の 山田園 に招待されました。")
    assert "役割: 管理者" in message.body
    entry = AuditEntry.objects.get(action="invitation.sent")
    assert (entry.actor, entry.shop) == (world.admin, world.tea)
    assert entry.changes == {
        "email": [None, "owner@yamada-en.example.jp"],
        "role": [None, "admin"],
        "is_trainee": [None, False],
        "shop_ids": [None, []],
        "languages": [None, []],
        "display_name": [None, "山田 一郎"],
    }
    page = html(client.get(shop_url(world.tea)))
    assert "owner@yamada-en.example.jp への招待は" in page
    assert "招待メールを送信できませんでした。" not in page

    # The owner accepts: the name is filled in, they choose a password and are signed in.
    owner = Client()
    path = link_path(message)
    accept = html(owner.get(path))
    assert "山田園 に管理者として招待されています。" in accept
    assert 'value="山田 一郎"' in accept
    response = owner.post(
        path, {"display_name": "山田 一郎", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    user = User.objects.get(email="owner@yamada-en.example.jp")
    membership = Membership.objects.get(user=user)
    assert (membership.workspace_id, membership.role) == (world.tea.workspace_id, "admin")
    # They see their shop's tickets, not the other shop's, and run their company's people.
    inbox = html(owner.get(reverse("conversations:inbox")))
    assert "お茶が届きません" in inbox
    assert "器が割れていました" not in inbox
    assert 'data-testid="shop-form"' in html(owner.get(shop_url(world.tea)))
    people = f"{reverse('administration:people_invite')}?workspace={world.tea.workspace_id}"
    assert owner.get(people).status_code == 200
    assert owner.get(shop_url(world.ceramics)).status_code == 404

    # The company has an admin now: the agency's form is gone, and a second try is refused.
    page = html(client.get(shop_url(world.tea)))
    assert 'data-testid="owner-form"' not in page
    assert "山田園 には管理者がいます。メンバーの招待はその管理者が行います。" in page
    again = invite_owner(client, django_capture_on_commit_callbacks, world, "second@example.jp")
    assert again.status_code == 200
    assert "山田園 にはすでに管理者がいます。今後のメンバー招待はその管理者が行います。" in html(
        again
    )
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_new_invitation_replaces_the_open_one(client, world, django_capture_on_commit_callbacks):
    invite_owner(client, django_capture_on_commit_callbacks, world, "owner@yamada-en.exmple.jp")
    invite_owner(client, django_capture_on_commit_callbacks, world, "owner@yamada-en.example.jp")
    first, second = Invitation.objects.order_by("id")
    assert first.revoked_at is not None and second.is_open
    revoked = AuditEntry.objects.get(action="invitation.revoked")
    assert (revoked.actor, revoked.shop, revoked.target_id) == (
        world.admin,
        world.tea,
        str(first.id),
    )
    # The mistyped address's link no longer works; the right one does.
    assert Client().get(link_path(mail.outbox[0])).status_code == 410
    assert Client().get(link_path(mail.outbox[1])).status_code == 200


def test_the_agencys_own_people_are_not_the_owner(client, world):
    client.force_login(world.admin)
    response = client.post(invite_url(world.tea), owner_form(world.supervisor.email.upper()))
    assert response.status_code == 200
    refusal = "は代行会社のメンバーです。山田園 を運営している方を招待してください。"
    assert f"{world.supervisor.email} {refusal}" in html(response)
    assert not Invitation.objects.exists()


def test_an_invalid_address_rerenders_in_japanese(client, world):
    client.force_login(world.admin)
    response = client.post(invite_url(world.tea), owner_form("owner-at-yamada-en"))
    assert response.status_code == 200
    assert "有効なメールアドレスを入力してください。" in html(response)
    assert 'value="owner-at-yamada-en"' in html(response)
    assert not Invitation.objects.exists()


def test_another_agencys_admin_gets_404(client, world):
    other = factories.WorkspaceFactory(name="北海サポート", slug="hokkai", kind="agency")
    stranger = factories.MembershipFactory(workspace=other, role=Role.ADMIN).user
    client.force_login(stranger)
    assert client.post(invite_url(world.tea), owner_form("owner@example.jp")).status_code == 404
    # Nor through their own shop's URL does the tea company become reachable.
    client.force_login(world.operator_ceramics)
    assert client.post(invite_url(world.tea), owner_form("owner@example.jp")).status_code == 404
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("who", ["operator_tea", "supervisor", "client_tea", "owner_admin"])
def test_only_the_agencys_admin_may_invite_the_owner(client, world, who):
    if who == "owner_admin":
        # The company's own admin invites on the people page, not here.
        user = factories.MembershipFactory(workspace=world.tea.workspace, role=Role.ADMIN).user
    else:
        user = getattr(world, who)
    client.force_login(user)
    response = client.post(invite_url(world.tea), owner_form("owner@example.jp"))
    assert response.status_code == 403
    if who in ("supervisor", "owner_admin"):
        assert 'data-testid="owner-invitation"' not in html(client.get(shop_url(world.tea)))
    assert not Invitation.objects.exists()


def test_an_archived_shop_offers_no_owner_invitation(client, world):
    services.shop_archive(actor=actor_for_user(world.admin), shop=world.tea)
    client.force_login(world.admin)
    assert 'data-testid="owner-invitation"' not in html(client.get(shop_url(world.tea)))
    assert client.post(invite_url(world.tea), owner_form("owner@example.jp")).status_code == 403
    assert not Invitation.objects.exists()
