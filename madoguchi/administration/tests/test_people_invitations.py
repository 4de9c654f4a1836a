"""Invitations: invite by mail, accept as a new or known person, resend, revoke, expiry."""

import datetime as dt
import re
import socket

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.administration.models import Invitation
from madoguchi.administration.people_selectors import token_hash
from madoguchi.audit.models import AuditEntry
from madoguchi.core.testing import factories
from madoguchi.operations.models import OperatorProfile
from madoguchi.tenancy.models import Membership, ShopAssignment
from madoguchi.tenancy.scoping import unscoped

INVITE_URL = reverse("administration:people_invite")
PEOPLE_URL = reverse("administration:people")
LINK = re.compile(r"http://testserver/settings/invitations/([A-Za-z0-9_-]+)/")


def invite_form(email, role="operator", shops=(), languages=("ja",), is_trainee=False):
    data = {"email": email, "role": role, "shops": [str(s.id) for s in shops]}
    data["languages"] = list(languages)
    if is_trainee:
        data["is_trainee"] = "on"
    return data


def invite(client, capture, world, email, **fields):
    """Post the invitation form as the agency's admin; the mail goes out at the commit."""
    if fields.get("role", "operator") == "operator":
        fields.setdefault("shops", (world.tea,))  # an operator needs a shop
    client.force_login(world.admin)
    with capture(execute=True):
        response = client.post(
            f"{INVITE_URL}?workspace={world.agency.id}", invite_form(email, **fields)
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def link_of(message):
    match = LINK.search(message.body)
    assert match is not None, message.body
    return match.group(0), match.group(1)


def path_of(link):
    return link.removeprefix("http://testserver")


NEW_PASSWORD = "kyusu-to-yunomi-42"


def new_person_form(name="新人 花子", password=NEW_PASSWORD):
    return {"display_name": name, "password1": password, "password2": password}


def test_admin_invites_an_operator_and_the_mail_carries_the_link(
    english, world, django_capture_on_commit_callbacks
):
    response = invite(
        english,
        django_capture_on_commit_callbacks,
        world,
        "  New.Person@Example.JP ",
        shops=[world.tea],
        languages=("ja", "en"),
        is_trainee=True,
    )
    assert response["Location"] == f"{PEOPLE_URL}?workspace={world.agency.id}"
    invitation = Invitation.objects.get()
    assert invitation.email == "new.person@example.jp"
    assert (invitation.role, invitation.is_trainee) == ("operator", True)
    assert list(invitation.shops.values_list("slug", flat=True)) == ["tea"]
    assert invitation.languages == ["ja", "en"]
    assert invitation.invited_by == world.admin
    assert invitation.expires_at - invitation.created_at == dt.timedelta(days=7)
    assert invitation.last_sent_at is not None
    assert invitation.last_send_error == ""

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.jp"]
    assert message.reply_to == [world.admin.email]
    assert message.subject == "【窓口】窓口サポート への招待"
    assert "窓口の 窓口サポート に招待されました。" in message.body
    assert "役割: オペレーター" in message.body
    _link, token = link_of(message)
    # Only the hash of the token is stored.
    assert invitation.token_hash == token_hash(token)
    assert token not in invitation.token_hash

    entry = AuditEntry.objects.get(action="invitation.sent")
    assert entry.actor == world.admin
    assert entry.changes == {
        "email": [None, "new.person@example.jp"],
        "role": [None, "operator"],
        "is_trainee": [None, True],
        "shop_ids": [None, [world.tea.id]],
        "languages": [None, ["ja", "en"]],
    }
    page = english.get(response["Location"]).content.decode()
    assert 'data-email="new.person@example.jp"' in page


def test_new_person_accepts_and_is_signed_in_with_role_and_shops(
    english, world, django_capture_on_commit_callbacks
):
    invite(
        english,
        django_capture_on_commit_callbacks,
        world,
        "new@example.jp",
        shops=[world.tea],
        languages=("ja", "en"),
        is_trainee=True,
    )
    link, _token = link_of(mail.outbox[0])
    visitor = Client()  # anonymous, Japanese
    page = visitor.get(path_of(link))
    assert page.status_code == 200
    text = page.content.decode()
    assert "窓口サポート にオペレーターとして招待されています。" in text
    assert 'data-state="new"' in text

    response = visitor.post(path_of(link), new_person_form())
    assert response.status_code == 302
    assert response["Location"] == reverse("conversations:inbox")
    user = User.objects.get(email="new@example.jp")
    assert user.display_name == "新人 花子"
    assert user.check_password(NEW_PASSWORD)
    assert int(visitor.session["_auth_user_id"]) == user.id
    membership = Membership.objects.get(user=user)
    assert (membership.workspace, membership.role, membership.is_trainee) == (
        world.agency,
        "operator",
        True,
    )
    assert list(
        ShopAssignment.objects.filter(membership=membership).values_list("shop__slug", flat=True)
    ) == ["tea"]
    with unscoped("test assertion"):
        assert OperatorProfile.objects.get(membership=membership).languages == ["ja", "en"]
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == user
    assert invitation.accepted_at is not None
    entry = AuditEntry.objects.get(action="invitation.accepted")
    assert entry.actor == user
    assert entry.changes["shop_ids"] == [None, [world.tea.id]]
    # The new operator works the tea shop, not the ceramics shop.
    inbox = visitor.get(reverse("conversations:inbox")).content.decode()
    assert "お茶が届きません" in inbox
    assert "器が割れていました" not in inbox
    # The link worked once.
    again = Client().get(path_of(link))
    assert again.status_code == 410
    assert "この招待リンクは使えません" in again.content.decode()


def test_new_person_form_errors_are_japanese_and_create_nothing(
    english, world, django_capture_on_commit_callbacks
):
    invite(english, django_capture_on_commit_callbacks, world, "new@example.jp")
    link, _token = link_of(mail.outbox[0])
    visitor = Client()
    response = visitor.post(
        path_of(link),
        {"display_name": "新人 花子", "password1": "kyusu-42-abc", "password2": "other-42-abc"},
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "2つのパスワードが一致しません。" in text
    assert 'value="新人 花子"' in text  # what was typed stays
    response = visitor.post(path_of(link), new_person_form(password="1234"))
    assert response.status_code == 200
    assert "このパスワードは短すぎます。最低 8 文字以上必要です。" in response.content.decode()
    assert not User.objects.filter(email="new@example.jp").exists()
    assert Invitation.objects.get().accepted_at is None


def test_known_person_signs_in_first_then_accepts(
    english, world, django_capture_on_commit_callbacks
):
    # The tea shop's owner also joins the agency as a supervisor.
    invite(
        english,
        django_capture_on_commit_callbacks,
        world,
        world.client_tea.email.upper(),
        role="supervisor",
    )
    link, _token = link_of(mail.outbox[0])
    visitor = Client()
    response = visitor.get(path_of(link))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={path_of(link)}"

    visitor.force_login(world.client_tea)
    page = visitor.get(path_of(link))
    assert page.status_code == 200
    assert 'data-state="confirm"' in page.content.decode()
    response = visitor.post(path_of(link))
    assert response.status_code == 302
    membership = Membership.objects.get(user=world.client_tea, workspace=world.agency)
    assert (membership.role, membership.is_active) == ("supervisor", True)
    # The first membership is untouched.
    assert Membership.objects.filter(user=world.client_tea).count() == 2
    assert (
        AuditEntry.objects.filter(action="invitation.accepted", actor=world.client_tea).count() == 1
    )


def test_another_signed_in_person_cannot_accept(english, world, django_capture_on_commit_callbacks):
    invite(english, django_capture_on_commit_callbacks, world, "new@example.jp")
    link, _token = link_of(mail.outbox[0])
    visitor = Client()
    visitor.force_login(world.operator_ceramics)
    response = visitor.post(path_of(link), new_person_form())
    assert response.status_code == 403
    assert "別のアカウントでログインしています。" in response.content.decode()
    assert not User.objects.filter(email="new@example.jp").exists()
    assert Invitation.objects.get().accepted_at is None


def test_resend_makes_a_new_link_and_kills_the_old_one(
    english, world, django_capture_on_commit_callbacks
):
    invite(english, django_capture_on_commit_callbacks, world, "new@example.jp")
    old_link, _token = link_of(mail.outbox[0])
    invitation = Invitation.objects.get()
    first_expiry = invitation.expires_at
    with django_capture_on_commit_callbacks(execute=True):
        response = english.post(reverse("administration:invitation_resend", args=[invitation.id]))
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    new_link, _token = link_of(mail.outbox[1])
    assert new_link != old_link
    invitation.refresh_from_db()
    assert invitation.expires_at > first_expiry
    assert Client().get(path_of(old_link)).status_code == 404
    assert Client().get(path_of(new_link)).status_code == 200
    entry = AuditEntry.objects.get(action="invitation.resent")
    assert entry.changes["expires_at"][0] == first_expiry.isoformat()


def test_revoked_invitation_link_is_gone(english, world, django_capture_on_commit_callbacks):
    invite(english, django_capture_on_commit_callbacks, world, "new@example.jp")
    link, _token = link_of(mail.outbox[0])
    invitation = Invitation.objects.get()
    response = english.post(reverse("administration:invitation_revoke", args=[invitation.id]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    visitor = Client()
    assert visitor.get(path_of(link)).status_code == 410
    assert visitor.post(path_of(link), new_person_form()).status_code == 410
    assert not User.objects.filter(email="new@example.jp").exists()
    assert AuditEntry.objects.filter(action="invitation.revoked").count() == 1
    page = english.get(f"{PEOPLE_URL}?workspace={world.agency.id}").content.decode()
    assert 'data-testid="no-invitations"' in page


def test_expired_invitation_shows_one_clear_japanese_page(
    english, world, django_capture_on_commit_callbacks
):
    invite(english, django_capture_on_commit_callbacks, world, "new@example.jp")
    link, _token = link_of(mail.outbox[0])
    Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    visitor = Client()
    response = visitor.post(path_of(link), new_person_form())
    assert response.status_code == 410
    text = response.content.decode()
    assert "この招待リンクは使えません" in text
    assert "招待した人に新しい招待を送ってもらってください。" in text
    assert not User.objects.filter(email="new@example.jp").exists()
    # The people page marks it expired; a resend revives it.
    page = english.get(f"{PEOPLE_URL}?workspace={world.agency.id}").content.decode()
    assert 'data-testid="expired"' in page


def test_unknown_link_is_a_404_with_the_same_page(world):
    response = Client().get(reverse("administration:invitation_accept", args=["nope" * 8]))
    assert response.status_code == 404
    assert "この招待リンクは使えません" in response.content.decode()


def test_member_of_the_workspace_cannot_be_invited_again(client, world):
    client.force_login(world.admin)
    response = client.post(
        f"{INVITE_URL}?workspace={world.agency.id}",
        invite_form(world.operator_tea.email.upper(), shops=[world.tea]),
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert f"{world.operator_tea.email} は既にこのワークスペースのメンバーです。" in text
    assert f'value="{world.operator_tea.email.upper()}"' in text
    assert not Invitation.objects.exists()
    assert len(mail.outbox) == 0


def test_second_open_invitation_to_one_address_is_refused(
    client, world, django_capture_on_commit_callbacks
):
    invite(client, django_capture_on_commit_callbacks, world, "new@example.jp")
    response = client.post(
        f"{INVITE_URL}?workspace={world.agency.id}",
        invite_form("new@example.jp", shops=[world.tea]),
    )
    assert response.status_code == 200
    assert (
        "new@example.jp への招待はまだ有効です。再送するか取り消してください。"
        in response.content.decode()
    )
    assert Invitation.objects.count() == 1


def test_agency_has_no_client_role_and_errors_are_japanese(client, world):
    client.force_login(world.admin)
    response = client.post(
        f"{INVITE_URL}?workspace={world.agency.id}", invite_form("x@example.jp", role="client")
    )
    assert response.status_code == 200
    assert "正しく選択してください。 client は候補にありません。" in response.content.decode()
    response = client.post(f"{INVITE_URL}?workspace={world.agency.id}", invite_form("not-an-email"))
    assert response.status_code == 200
    assert "有効なメールアドレスを入力してください。" in response.content.decode()
    assert not Invitation.objects.exists()


def test_shop_company_admin_invites_a_client_of_its_own_shop(
    english, world, django_capture_on_commit_callbacks
):
    owner_admin = factories.MembershipFactory(workspace=world.tea.workspace, role="admin").user
    english.force_login(owner_admin)
    page = english.get(f"{INVITE_URL}?workspace={world.tea.workspace_id}").content.decode()
    assert 'value="client"' in page
    # The shop company works its own shop only.
    assert world.tea.name in page
    assert world.ceramics.name not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = english.post(
            f"{INVITE_URL}?workspace={world.tea.workspace_id}",
            invite_form("owner2@example.jp", role="client"),
        )
    assert response.status_code == 302
    assert Invitation.objects.get().role == "client"
    # A shop of another company is not offered, and refused when posted.
    response = english.post(
        f"{INVITE_URL}?workspace={world.tea.workspace_id}",
        invite_form("op@example.jp", shops=[world.ceramics]),
    )
    assert response.status_code == 200
    assert Invitation.objects.count() == 1


def test_supervisor_may_not_invite_resend_or_revoke(
    english, world, django_capture_on_commit_callbacks
):
    invite(english, django_capture_on_commit_callbacks, world, "new@example.jp")
    invitation = Invitation.objects.get()
    english.force_login(world.supervisor)
    assert english.get(f"{INVITE_URL}?workspace={world.agency.id}").status_code == 403
    assert english.post(INVITE_URL, invite_form("other@example.jp")).status_code == 403
    resend = reverse("administration:invitation_resend", args=[invitation.id])
    revoke = reverse("administration:invitation_revoke", args=[invitation.id])
    assert english.post(resend).status_code == 403
    assert english.post(revoke).status_code == 403
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("who", ["operator_tea", "client_tea"])
def test_operators_and_clients_get_404(english, world, who, django_capture_on_commit_callbacks):
    invite(english, django_capture_on_commit_callbacks, world, "new@example.jp")
    invitation = Invitation.objects.get()
    english.force_login(getattr(world, who))
    assert english.get(INVITE_URL).status_code == 404
    assert english.post(INVITE_URL, invite_form("x@example.jp")).status_code == 404
    assert (
        english.post(reverse("administration:invitation_revoke", args=[invitation.id])).status_code
        == 404
    )
    assert Invitation.objects.get().revoked_at is None


def test_admin_of_another_workspace_gets_404(english, world, django_capture_on_commit_callbacks):
    invite(english, django_capture_on_commit_callbacks, world, "new@example.jp")
    invitation = Invitation.objects.get()
    stranger = factories.MembershipFactory(
        workspace=factories.WorkspaceFactory(kind="agency"), role="admin"
    ).user
    english.force_login(stranger)
    assert english.get(f"{INVITE_URL}?workspace={world.agency.id}").status_code == 404
    assert (
        english.post(reverse("administration:invitation_resend", args=[invitation.id])).status_code
        == 404
    )
    assert (
        english.post(reverse("administration:invitation_revoke", args=[invitation.id])).status_code
        == 404
    )
    assert Invitation.objects.get().revoked_at is None
    assert len(mail.outbox) == 1


def test_deactivated_account_is_reopened_to_sign_in_and_accept(
    english, world, django_capture_on_commit_callbacks
):
    leaver = factories.UserFactory(email="leaver@example.jp", is_active=False)
    invite(english, django_capture_on_commit_callbacks, world, "leaver@example.jp")
    link, _token = link_of(mail.outbox[0])
    visitor = Client()
    page = visitor.get(path_of(link))
    assert page.status_code == 200
    assert 'data-state="reopen"' in page.content.decode()
    leaver.refresh_from_db()
    assert leaver.is_active is False  # a GET changes nothing
    response = visitor.post(path_of(link))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={path_of(link)}"
    leaver.refresh_from_db()
    assert leaver.is_active is True
    assert not Membership.objects.filter(user=leaver).exists()  # nothing granted yet
    visitor.force_login(leaver)
    assert visitor.post(path_of(link)).status_code == 302
    assert Membership.objects.get(user=leaver).workspace == world.agency


def _closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_send_failure_is_reported_and_the_invitation_can_be_resent(english, world):
    english.force_login(world.admin)
    smtp = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": _closed_port(),
        "EMAIL_TIMEOUT": 5,
    }
    with override_settings(**smtp):
        response = english.post(
            f"{INVITE_URL}?workspace={world.agency.id}",
            invite_form("new@example.jp", shops=[world.tea]),
            follow=True,
        )
    text = response.content.decode()
    assert "The invitation to new@example.jp was saved, but the mail could not be sent" in text
    invitation = Invitation.objects.get()
    assert invitation.last_sent_at is None
    assert invitation.last_send_error != ""
    assert 'data-testid="send-error"' in text
    # With the mail server back, a resend goes out and clears the error.
    response = english.post(
        reverse("administration:invitation_resend", args=[invitation.id]), follow=True
    )
    assert "The invitation was mailed to new@example.jp." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.last_send_error == ""
    assert invitation.last_sent_at is not None
    assert len(mail.outbox) == 1


def test_an_operator_without_a_shop_is_refused_in_japanese(world, client) -> None:
    client.force_login(world.admin)
    response = client.post(
        f"{INVITE_URL}?workspace={world.agency.id}", invite_form("noshop@example.jp")
    )
    assert response.status_code == 200
    assert "オペレーターには担当する店舗を1つ以上選んでください。" in response.text
    assert 'value="noshop@example.jp"' in response.text
    with unscoped("test assertion"):
        assert not Invitation.objects.filter(email="noshop@example.jp").exists()
