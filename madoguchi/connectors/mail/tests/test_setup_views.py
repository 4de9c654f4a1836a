"""The email channel's set-up pages: addresses, IMAP mailboxes, outgoing SMTP servers.

Leads (admin, supervisor) edit; the shop's operators read and get 403 on every change; its
client and other shops' staff get 404. Secrets are encrypted in the database and never shown.
Connection tests run against a real Dovecot and real SMTP servers on loopback.
"""

import pytest
from django.db import connection
from django.urls import reverse
from django_scopes import scopes_disabled

from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.mail.models import MailAddress, Mailbox, SmtpServer
from madoguchi.connectors.mail.tests.mail_builders import (
    CERAMICS_ADDRESS,
    TEA_ADDRESS,
    mail_setup,
    make_mail,
)
from madoguchi.core.testing.mailservers import free_port

pytestmark = pytest.mark.django_db

SAVED_HINT = "保存済み（変更するときだけ入力）"
HTMX = {"HTTP_HX_REQUEST": "true"}


def raw_column(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def tea_mail(world):
    """The tea shop's address, an IMAP mailbox and an outgoing server."""
    mail_setup(world)
    with scopes_disabled():
        mailbox = Mailbox.objects.create(
            shop=world.tea,
            name="サポート受信箱",
            host="imap.tea.example.jp",
            port=993,
            security="ssl",
            username="support",
            password="imap-secret-1",
            last_seen_uid=42,
            uid_validity=7,
        )
        server = SmtpServer.objects.create(
            shop=world.tea,
            name="provider",
            host="smtp.provider.example",
            port=587,
            security="starttls",
            username="tea",
            password="smtp-secret-1",
        )
        address = MailAddress.objects.get(address=TEA_ADDRESS)
        address.mailbox, address.outbound_server = mailbox, server
        address.save()
    return address, mailbox, server


def page_urls(address, mailbox, server):
    return {
        "addresses": reverse("mail:addresses", args=["tea"]),
        "address": reverse("mail:address_edit", args=["tea", address.id]),
        "mailboxes": reverse("mail:mailboxes", args=["tea"]),
        "mailbox": reverse("mail:mailbox_edit", args=["tea", mailbox.id]),
        "smtp_servers": reverse("mail:smtp_servers", args=["tea"]),
        "smtp_server": reverse("mail:smtp_server_edit", args=["tea", server.id]),
    }


def change_urls(address, mailbox, server):
    return [
        reverse("mail:addresses", args=["tea"]),
        reverse("mail:address_edit", args=["tea", address.id]),
        reverse("mail:address_delete", args=["tea", address.id]),
        reverse("mail:mailboxes", args=["tea"]),
        reverse("mail:mailbox_edit", args=["tea", mailbox.id]),
        reverse("mail:mailbox_test", args=["tea", mailbox.id]),
        reverse("mail:mailbox_delete", args=["tea", mailbox.id]),
        reverse("mail:smtp_servers", args=["tea"]),
        reverse("mail:smtp_server_edit", args=["tea", server.id]),
        reverse("mail:smtp_server_test", args=["tea", server.id]),
        reverse("mail:smtp_server_delete", args=["tea", server.id]),
    ]


# Who may see and change what --------------------------------------------------------------------


@pytest.mark.parametrize("user", ["operator_ceramics", "client_tea", "client_ceramics"])
def test_strangers_and_clients_get_404_everywhere(client, world, tea_mail, user):
    client.force_login(getattr(world, user))

    reads = [client.get(url).status_code for url in page_urls(*tea_mail).values()]
    writes = [client.post(url, {}).status_code for url in change_urls(*tea_mail)]

    assert reads == [404] * 6
    assert writes == [404] * 11
    with scopes_disabled():
        assert (MailAddress.objects.count(), Mailbox.objects.count()) == (2, 1)


def test_the_shops_operator_reads_without_forms_and_may_change_nothing(client, world, tea_mail):
    client.force_login(world.operator_tea)

    pages = {name: client.get(url) for name, url in page_urls(*tea_mail).items()}
    writes = [client.post(url, {"name": "x"}).status_code for url in change_urls(*tea_mail)]

    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(pages, 200)
    assert 'data-testid="address-form"' not in pages["addresses"].content.decode()
    assert 'data-testid="mailbox-form"' not in pages["mailboxes"].content.decode()
    assert 'data-testid="smtp-test"' not in pages["smtp_server"].content.decode()
    assert "<fieldset disabled>" in pages["mailbox"].content.decode()
    assert writes == [403] * 11
    with scopes_disabled():
        assert MailAddress.objects.filter(address=TEA_ADDRESS).exists()
        assert AuditEntry.objects.filter(action__startswith="mail.").count() == 0


def test_another_shops_objects_are_not_found_through_this_shop(client, world, tea_mail):
    address, mailbox, server = tea_mail
    client.force_login(world.supervisor)  # sees both shops

    answers = [
        client.get(reverse("mail:address_edit", args=["ceramics", address.id])).status_code,
        client.get(reverse("mail:mailbox_edit", args=["ceramics", mailbox.id])).status_code,
        client.post(reverse("mail:mailbox_test", args=["ceramics", mailbox.id])).status_code,
        client.get(reverse("mail:smtp_server_edit", args=["ceramics", server.id])).status_code,
        client.post(reverse("mail:smtp_server_delete", args=["ceramics", server.id])).status_code,
    ]

    assert answers == [404] * 5


# Addresses --------------------------------------------------------------------------------------


def test_a_lead_adds_an_address_sending_through_the_shops_server(client, world, tea_mail):
    _address, mailbox, server = tea_mail
    client.force_login(world.admin)

    response = client.post(
        reverse("mail:addresses", args=["tea"]),
        {
            "address": " Shop@Tea.Example.JP ",
            "display_name": "山田園  茶舗",
            "is_default_sender": "on",
            "is_verified": "on",
            "inbound_method": "smtp",
            "mailbox": str(mailbox.id),  # ignored for the SMTP receiver
            "outbound_server": str(server.id),
        },
    )

    assert response.status_code == 302
    with scopes_disabled():
        added = MailAddress.objects.get(address="shop@tea.example.jp")
        previous = MailAddress.objects.get(address=TEA_ADDRESS)
        created = AuditEntry.objects.get(action="mail.address_created")
        moved = AuditEntry.objects.get(action="mail.address_changed")
    assert (added.shop_id, added.display_name, added.is_default_sender, added.is_verified) == (
        world.tea.id,
        "山田園 茶舗",
        True,
        True,
    )
    assert (added.inbound_method, added.mailbox_id, added.outbound_server_id) == (
        "smtp",
        None,
        server.id,
    )
    assert previous.is_default_sender is False
    assert created.changes["address"] == [None, "shop@tea.example.jp"]
    assert created.changes["outbound_server"] == [None, "provider (smtp.provider.example:587)"]
    assert (moved.target_id, moved.changes) == (
        str(previous.id),
        {"is_default_sender": [True, False]},
    )


def test_an_invalid_address_form_comes_back_in_japanese_with_what_was_typed(
    client, world, tea_mail
):
    client.force_login(world.supervisor)

    response = client.post(
        reverse("mail:addresses", args=["tea"]),
        {"address": "not-an-address", "display_name": "山田園", "inbound_method": "imap"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "有効なメールアドレスを入力してください。" in page
    assert (
        "このアドレスのメールが届くメールボックスを選んでください（なければ先に追加してください）。"
        in page
    )
    assert 'value="not-an-address"' in page
    assert 'value="山田園"' in page
    with scopes_disabled():
        assert MailAddress.objects.filter(shop=world.tea).count() == 1


def test_an_address_of_another_shop_cannot_be_taken(client, world, tea_mail):
    client.force_login(world.admin)

    response = client.post(
        reverse("mail:addresses", args=["tea"]),
        {"address": CERAMICS_ADDRESS.upper(), "inbound_method": "smtp"},
    )

    assert response.status_code == 200
    assert "このアドレスはすでにいずれかのショップで使われています。" in response.content.decode()
    with scopes_disabled():
        assert MailAddress.objects.get(address=CERAMICS_ADDRESS).shop_id == world.ceramics.id


def test_a_lead_edits_and_removes_an_address_with_before_and_after_in_the_audit(
    client, world, tea_mail
):
    address, mailbox, _server = tea_mail
    client.force_login(world.supervisor)

    edited = client.post(
        reverse("mail:address_edit", args=["tea", address.id]),
        {
            "address": TEA_ADDRESS,
            "display_name": "山田園",
            "is_verified": "on",
            "inbound_method": "imap",
            "mailbox": str(mailbox.id),
            "outbound_server": "",
        },
    )
    removed = client.post(reverse("mail:address_delete", args=["tea", address.id]))

    assert (edited.status_code, removed.status_code) == (302, 302)
    with scopes_disabled():
        changed = AuditEntry.objects.get(action="mail.address_changed")
        deleted = AuditEntry.objects.get(action="mail.address_deleted")
        assert MailAddress.objects.filter(shop=world.tea).exists() is False
    assert changed.changes == {
        "display_name": ["山田園 サポート", "山田園"],
        "is_default_sender": [True, False],
        "outbound_server": ["provider (smtp.provider.example:587)", None],
    }
    assert deleted.changes["address"] == [TEA_ADDRESS, None]
    assert deleted.target_id == str(address.id)


def test_the_addresses_page_shows_how_mail_arrives_and_the_dns_records(client, world, tea_mail):
    with scopes_disabled():
        MailAddress.objects.create(
            shop=world.tea, address="forward@tea.example.jp", inbound_method="smtp"
        )
    client.force_login(world.admin)

    page = client.get(reverse("mail:addresses", args=["tea"])).content.decode()

    assert (
        "このアドレスのメールは、メールボックス「サポート受信箱」"
        "（imap.tea.example.jp の support、フォルダー INBOX）から Madoguchi が取得します。"
    ) in page
    assert "転送：お使いのメールサーバーから forward@tea.example.jp 宛てのメールを SMTP で " in page
    assert "127.0.0.1:2525" in page
    assert "tea.example.jp. MX 10 testserver." in page
    # forward@ sends through the system's server, 127.0.0.1: this machine's public address.
    assert (
        'tea.example.jp. TXT "v=spf1 ip4:&lt;このサーバーの公開IPアドレス&gt; '
        'a:smtp.provider.example ~all"'
    ) in page
    assert "送信サーバーがこのマシン上にあります。" in page
    assert (
        '_dmarc.tea.example.jp. TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@tea.example.jp"'
    ) in page
    assert "&lt;selector&gt;._domainkey.tea.example.jp." in page


def test_spf_names_the_outgoing_hosts_of_the_domain(client, world, tea_mail, settings):
    settings.EMAIL_HOST = "203.0.113.25"
    with scopes_disabled():
        MailAddress.objects.create(shop=world.tea, address="info@tea.example.jp")
    client.force_login(world.admin)

    page = client.get(reverse("mail:addresses", args=["tea"])).content.decode()

    assert 'tea.example.jp. TXT "v=spf1 ip4:203.0.113.25 a:smtp.provider.example ~all"' in page


# Mailboxes --------------------------------------------------------------------------------------


def mailbox_form(**overrides):
    data = {
        "name": "受信箱",
        "host": "imap.tea.example.jp",
        "port": "993",
        "security": "ssl",
        "username": "support@tea.example.jp",
        "password": "app-pass-123",
        "folder": "INBOX",
        "processed_folder": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_a_lead_adds_a_mailbox_whose_password_is_encrypted_and_never_shown(client, world):
    client.force_login(world.admin)

    response = client.post(reverse("mail:mailboxes", args=["tea"]), mailbox_form())

    with scopes_disabled():
        mailbox = Mailbox.objects.get(shop=world.tea)
        entry = AuditEntry.objects.get(action="mail.mailbox_created")
    assert response.status_code == 302
    assert response["Location"] == reverse("mail:mailbox_edit", args=["tea", mailbox.id])
    stored = raw_column("mail_mailbox", "password", mailbox.id)
    assert stored.startswith("fernet:")
    assert "app-pass-123" not in stored
    assert mailbox.password == "app-pass-123"
    assert entry.changes["password"] == "changed"
    assert entry.changes["host"] == [None, "imap.tea.example.jp"]
    assert "app-pass-123" not in str(entry.changes)
    edit_page = client.get(response["Location"]).content.decode()
    assert "app-pass-123" not in edit_page and "fernet:" not in edit_page
    assert SAVED_HINT in edit_page
    assert 'name="password"' in edit_page and 'name="password" value' not in edit_page


def test_an_empty_password_keeps_the_stored_one_and_a_new_account_starts_afresh(
    client, world, tea_mail
):
    _address, mailbox, _server = tea_mail
    client.force_login(world.supervisor)

    response = client.post(
        reverse("mail:mailbox_edit", args=["tea", mailbox.id]),
        mailbox_form(
            name="サポート受信箱", host="imap2.tea.example.jp", username="support", password=""
        ),
    )

    with scopes_disabled():
        mailbox.refresh_from_db()
        entry = AuditEntry.objects.get(action="mail.mailbox_changed")
    assert response.status_code == 302
    assert (mailbox.host, mailbox.password) == ("imap2.tea.example.jp", "imap-secret-1")
    assert (mailbox.last_seen_uid, mailbox.uid_validity) == (0, None)
    assert entry.changes == {"host": ["imap.tea.example.jp", "imap2.tea.example.jp"]}


def test_a_new_mailbox_needs_a_password_and_plain_text_only_on_this_machine(client, world):
    client.force_login(world.admin)

    response = client.post(
        reverse("mail:mailboxes", args=["tea"]),
        mailbox_form(password="", security="none", port="143", host="imap.tea.example.jp"),
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "パスワードを入力してください。" in page
    assert "暗号化なしではパスワードが平文で送られます。" in page
    assert 'value="imap.tea.example.jp"' in page
    with scopes_disabled():
        assert Mailbox.objects.exists() is False


def test_the_connection_test_signs_in_to_dovecot_and_counts_folders(client, world, dovecot):
    dovecot.create_folder("Processed")
    dovecot.append(make_mail(message_id="a@x.example"), make_mail(message_id="b@x.example"))
    with scopes_disabled():
        mailbox = Mailbox.objects.create(
            shop=world.tea,
            name="dovecot",
            host="127.0.0.1",
            port=dovecot.port,
            security="none",
            username=dovecot.user,
            password=dovecot.password,
            processed_folder="Processed",
        )
    client.force_login(world.admin)

    fragment = client.post(reverse("mail:mailbox_test", args=["tea", mailbox.id]), **HTMX)
    full_page = client.post(reverse("mail:mailbox_test", args=["tea", mailbox.id]))

    words = "ログインできました。フォルダーは 2 個あり、「INBOX」には 2 通のメールがあります。"
    assert fragment.status_code == 200
    assert words in fragment.content.decode()
    assert "check-result--ok" in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    assert words in full_page.content.decode() and "<html" in full_page.content.decode()
    assert dovecot.count() == 2  # a test only looks
    with scopes_disabled():
        entries = AuditEntry.objects.filter(action="mail.mailbox_tested")
        tests = list(entries.values_list("actor_id", "target_id", "changes"))
    assert tests == [(world.admin.id, str(mailbox.id), {"is_ok": True, "error": ""})] * 2


def test_the_connection_test_reports_a_wrong_password_and_a_missing_folder(client, world, dovecot):
    with scopes_disabled():
        wrong = Mailbox.objects.create(
            shop=world.tea,
            name="wrong",
            host="127.0.0.1",
            port=dovecot.port,
            security="none",
            username=dovecot.user,
            password="not-the-password",
        )
        missing = Mailbox.objects.create(
            shop=world.tea,
            name="missing",
            host="127.0.0.1",
            port=dovecot.port,
            security="none",
            username=dovecot.user,
            password=dovecot.password,
            folder="Support",
        )
    client.force_login(world.supervisor)

    refused = client.post(reverse("mail:mailbox_test", args=["tea", wrong.id]), **HTMX)
    no_folder = client.post(reverse("mail:mailbox_test", args=["tea", missing.id]), **HTMX)

    refused_page = refused.content.decode()
    assert "check-result--failed" in refused_page
    assert (
        "ユーザー名またはパスワードが受け付けられませんでした。"
        "アプリ パスワードが必要なサービスもあります。"
    ) in refused_page
    assert "サーバーの応答：" in refused_page and "Authentication failed" in refused_page
    assert "not-the-password" not in refused_page
    assert (
        "ログインできましたが、フォルダー「Support」がありません。このアカウントのフォルダー：INBOX"
    ) in no_folder.content.decode()


def test_a_password_stored_before_encryption_still_signs_in(client, world, dovecot):
    with scopes_disabled():
        mailbox = Mailbox.objects.create(
            shop=world.tea,
            name="legacy",
            host="127.0.0.1",
            port=dovecot.port,
            security="none",
            username=dovecot.user,
            password="placeholder",
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE mail_mailbox SET password = %s WHERE id = %s", [dovecot.password, mailbox.id]
        )
    client.force_login(world.admin)

    response = client.post(reverse("mail:mailbox_test", args=["tea", mailbox.id]), **HTMX)

    assert raw_column("mail_mailbox", "password", mailbox.id) == dovecot.password
    assert "ログインできました。フォルダーは 1 個あり" in response.content.decode()


def test_a_closed_imap_port_is_reported_in_words(client, world):
    with scopes_disabled():
        mailbox = Mailbox.objects.create(
            shop=world.tea,
            name="closed",
            host="127.0.0.1",
            port=free_port(),
            security="none",
            username="u",
            password="p",
        )
    client.force_login(world.admin)

    response = client.post(reverse("mail:mailbox_test", args=["tea", mailbox.id]), **HTMX)

    assert "接続を拒否されました。" in response.content.decode()


def test_the_mailbox_list_shows_the_last_poll_error_in_words(client, world, tea_mail):
    _address, mailbox, _server = tea_mail
    with scopes_disabled():
        Mailbox.objects.filter(pk=mailbox.pk).update(
            last_error="LoginError: b'[AUTHENTICATIONFAILED] Authentication failed.'"
        )
    client.force_login(world.operator_tea)

    page = client.get(reverse("mail:mailboxes", args=["tea"])).content.decode()

    assert "ユーザー名またはパスワードが受け付けられませんでした。" in page
    assert "imap-secret-1" not in page


# Outgoing servers -------------------------------------------------------------------------------


def server_form(**overrides):
    data = {
        "name": "プロバイダー",
        "host": "127.0.0.1",
        "port": "587",
        "security": "none",
        "username": "",
        "password": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_a_lead_adds_a_server_and_a_test_mail_goes_out(client, world, smtp_capture_factory):
    mail_setup(world)
    capture = smtp_capture_factory(login=("tea", "smtp-pass-9"))
    client.force_login(world.admin)

    added = client.post(
        reverse("mail:smtp_servers", args=["tea"]),
        server_form(port=str(capture.port), username="tea", password="smtp-pass-9"),
    )
    with scopes_disabled():
        server = SmtpServer.objects.get(shop=world.tea)
    tested = client.post(
        reverse("mail:smtp_server_test", args=["tea", server.id]),
        {"to_address": "owner@example.org"},
    )

    page = tested.content.decode()
    assert added["Location"] == reverse("mail:smtp_server_edit", args=["tea", server.id])
    assert raw_column("mail_smtpserver", "password", server.id).startswith("fernet:")
    assert tested.status_code == 200
    assert "サーバーは owner@example.org 宛てのテストメールを受け付けました。" in page
    assert "サーバーの応答：250 2.0.0 Ok: queued as TEST1" in page
    assert "smtp-pass-9" not in page and SAVED_HINT in page
    assert [mail.rcpt_tos for mail in capture.received] == [["owner@example.org"]]
    assert capture.received[0].mail_from == TEA_ADDRESS  # the shop's default sender
    with scopes_disabled():
        server.refresh_from_db()
        created = AuditEntry.objects.get(action="mail.smtp_server_created")
    assert server.verified_at is not None
    assert created.changes["password"] == "changed"
    assert "smtp-pass-9" not in str(created.changes)


def test_a_test_send_to_a_closed_port_answers_in_japanese(client, world):
    with scopes_disabled():
        server = SmtpServer.objects.create(
            shop=world.tea, name="closed", host="127.0.0.1", port=free_port(), security="none"
        )
    client.force_login(world.supervisor)

    response = client.post(
        reverse("mail:smtp_server_test", args=["tea", server.id]),
        {"to_address": "owner@example.org"},
        **HTMX,
    )

    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment
    assert "check-result--failed" in fragment
    assert (
        "接続を拒否されました。このホストとポートで待ち受けているメールサーバーがありません。"
        "ホスト名とポート番号を確認してください。"
    ) in fragment


def test_a_test_send_needs_an_address(client, world, tea_mail):
    _address, _mailbox, server = tea_mail
    client.force_login(world.admin)

    response = client.post(
        reverse("mail:smtp_server_test", args=["tea", server.id]), {"to_address": "nope"}, **HTMX
    )

    assert "有効なメールアドレスを入力してください。" in response.content.decode()
    with scopes_disabled():
        assert AuditEntry.objects.filter(action="mail.smtp_server_tested").exists() is False


def test_editing_a_server_keeps_the_password_and_a_new_host_needs_a_new_test(
    client, world, tea_mail
):
    _address, _mailbox, server = tea_mail
    with scopes_disabled():
        SmtpServer.objects.filter(pk=server.pk).update(verified_at="2026-01-01T00:00:00Z")
    client.force_login(world.admin)

    response = client.post(
        reverse("mail:smtp_server_edit", args=["tea", server.id]),
        server_form(
            name="provider", host="smtp2.provider.example", security="starttls", username="tea"
        ),
    )

    with scopes_disabled():
        server.refresh_from_db()
        entry = AuditEntry.objects.get(action="mail.smtp_server_changed")
    assert response.status_code == 302
    assert (server.host, server.password, server.verified_at) == (
        "smtp2.provider.example",
        "smtp-secret-1",
        None,
    )
    assert entry.changes == {
        "host": ["smtp.provider.example", "smtp2.provider.example"],
        "verified_at": ["2026-01-01T00:00:00+00:00", None],
    }


def test_server_names_are_unique_per_shop_and_hosts_are_host_names(client, world, tea_mail):
    client.force_login(world.admin)

    duplicate = client.post(
        reverse("mail:smtp_servers", args=["tea"]), server_form(name="provider")
    )
    url_host = client.post(
        reverse("mail:smtp_servers", args=["tea"]),
        server_form(name="other", host="smtp://mail.example.jp:587"),
    )

    assert "この名前の送信サーバーはすでにあります。" in duplicate.content.decode()
    assert (
        "ホスト名だけを入力してください（例：imap.example.jp。ポート番号や URL は不要です）。"
        in url_host.content.decode()
    )
    with scopes_disabled():
        assert SmtpServer.objects.filter(shop=world.tea).count() == 1


def test_removing_a_server_sends_its_addresses_through_the_system(client, world, tea_mail):
    address, _mailbox, server = tea_mail
    client.force_login(world.admin)

    response = client.post(reverse("mail:smtp_server_delete", args=["tea", server.id]))

    with scopes_disabled():
        address.refresh_from_db()
        entry = AuditEntry.objects.get(action="mail.smtp_server_deleted")
    assert response.status_code == 302
    assert address.outbound_server_id is None
    assert entry.changes["host"] == ["smtp.provider.example", None]
    assert "smtp-secret-1" not in str(entry.changes)


def test_no_page_shows_a_stored_secret(client, world, tea_mail):
    client.force_login(world.admin)

    pages = [client.get(url).content.decode() for url in page_urls(*tea_mail).values()]

    for page in pages:
        assert "imap-secret-1" not in page
        assert "smtp-secret-1" not in page
        assert "fernet:" not in page
