"""The outbox: outgoing mail by status with the error in words, retry, a sent mail as text; the
failed-sends count and the mail pages in the menu."""

import datetime as dt

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.mail.models import MailAddress, OutboundMail
from madoguchi.connectors.mail.selectors import failed_send_count
from madoguchi.connectors.mail.sending import compose
from madoguchi.connectors.mail.tests.mail_builders import TEA_ADDRESS, mail_setup
from madoguchi.core import navigation
from madoguchi.core.testing.mailservers import free_port
from madoguchi.tenancy.access import actor_for_user

pytestmark = pytest.mark.django_db


def outbound(world, *, status, subject="お問い合わせの件", to="hanako@example.com", **fields):
    """An outgoing mail of the tea shop's ticket, composed like a real reply."""
    with scopes_disabled():
        raw = compose(
            sender=MailAddress.objects.get(address=TEA_ADDRESS),
            to_address=to,
            subject=subject,
            body_text=fields.pop("body", "ご連絡ありがとうございます。"),
            message_id=f"{status}-{subject.encode().hex()[:12]}@madoguchi.localhost",
        )
        return OutboundMail.objects.create(
            shop=world.tea,
            ticket=world.tea_ticket,
            internet_message_id=f"{status}-{subject.encode().hex()[:12]}@madoguchi.localhost",
            from_address=TEA_ADDRESS,
            to_address=to,
            subject=subject,
            raw=raw if to else b"",
            status=status,
            created_at=fields.pop("created_at", timezone.now()),
            **fields,
        )


@pytest.fixture
def outbox_rows(world):
    mail_setup(world)
    now = timezone.now()
    return {
        "queued": outbound(world, status="queued", subject="待ち", created_at=now),
        "sending": outbound(
            world, status="sending", subject="送信中の件", created_at=now - dt.timedelta(minutes=1)
        ),
        "sent": outbound(
            world,
            status="sent",
            subject="送った件",
            sent_at=now,
            smtp_response="250 2.0.0 Ok",
            created_at=now - dt.timedelta(minutes=2),
        ),
        "failed": outbound(
            world,
            status="failed",
            subject="失敗した件",
            attempts=6,
            last_error="ConnectionRefusedError: [Errno 111] Connection refused",
            created_at=now - dt.timedelta(minutes=3),
        ),
    }


def test_the_outbox_lists_every_status_in_japanese_with_the_error_in_words(
    client, world, outbox_rows
):
    client.force_login(world.operator_tea)

    response = client.get(reverse("mail:outbox", args=["tea"]))

    page = response.content.decode()
    assert response.status_code == 200
    for label in ("送信待ち", "送信中", "送信済み", "失敗"):
        assert f'data-testid="outbox-status">{label}</span>' in page
    assert page.index("待ち") < page.index("送信中の件") < page.index("送った件")
    assert "hanako@example.com" in page
    assert (
        "接続を拒否されました。このホストとポートで待ち受けているメールサーバーがありません。"
    ) in page
    assert reverse("conversations:ticket", args=["tea", world.tea_ticket.number]) in page
    assert page.count(">再送</button>") == 1
    assert reverse("mail:outbound_retry", args=["tea", outbox_rows["failed"].id]) in page
    # The system's own message and the subject are not ours to translate (a Japanese browser
    # must not offer to translate "Connection refused" or "Re:").
    assert 'サーバーの応答 <q translate="no">[Errno 111] Connection refused</q>' in page
    assert page.count('<td translate="no"><a href="/mail/tea/outbox/') == 4


def test_the_outbox_filters_by_status(client, world, outbox_rows):
    client.force_login(world.operator_tea)

    page = client.get(reverse("mail:outbox", args=["tea"]) + "?status=failed").content.decode()

    assert page.count('data-testid="outbox-row"') == 1
    assert "失敗した件" in page and "送った件" not in page


def test_a_failed_mail_is_sent_again_through_the_server(
    client, world, outbox_rows, smtp_capture, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp_capture.host, smtp_capture.port
    failed = outbox_rows["failed"]
    client.force_login(world.operator_tea)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mail:outbound_retry", args=["tea", failed.id]))

    with scopes_disabled():
        failed.refresh_from_db()
        entry = AuditEntry.objects.get(action="mail.outbound_retried")
    assert response.status_code == 302
    assert (failed.status, failed.attempts, failed.last_error) == ("sent", 1, "")
    assert [mail.rcpt_tos for mail in smtp_capture.received] == [["hanako@example.com"]]
    assert str(smtp_capture.received[0].message()["Message-ID"]) == (
        f"<{failed.internet_message_id}>"
    )
    assert (entry.actor, entry.changes) == (world.operator_tea, {"status": ["failed", "queued"]})


def test_a_retry_that_fails_again_stays_in_the_queue(
    client, world, outbox_rows, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_PORT = free_port()
    failed = outbox_rows["failed"]
    client.force_login(world.supervisor)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mail:outbound_retry", args=["tea", failed.id]))

    with scopes_disabled():
        failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("queued", 1)
    assert failed.last_error.startswith("ConnectionRefusedError")


def test_only_failed_composed_mail_can_be_sent_again(client, world, outbox_rows):
    never_composed = outbound(world, status="failed", subject="宛先なし", to="")
    client.force_login(world.operator_tea)

    sent = client.post(reverse("mail:outbound_retry", args=["tea", outbox_rows["sent"].id]))
    empty = client.post(reverse("mail:outbound_retry", args=["tea", never_composed.id]))

    assert (sent.status_code, empty.status_code) == (400, 400)
    with scopes_disabled():
        assert OutboundMail.objects.get(pk=outbox_rows["sent"].id).status == "sent"
        assert AuditEntry.objects.filter(action="mail.outbound_retried").exists() is False


def test_a_sent_mail_shows_as_escaped_text(client, world, outbox_rows):
    mail = outbound(
        world,
        status="sent",
        subject="<script>alert(1)</script>",
        body="<b>太字</b>\n<img src=x onerror=alert(1)>",
        sent_at=timezone.now(),
    )
    client.force_login(world.operator_tea)

    response = client.get(reverse("mail:outbound", args=["tea", mail.id]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;太字&lt;/b&gt;\n&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>太字</b>" not in page
    assert f'<th scope="row">Message-ID</th><td>&lt;{mail.internet_message_id}&gt;</td>' in page
    assert '<th scope="row">To</th><td>hanako@example.com</td>' in page


@pytest.mark.parametrize("user", ["operator_ceramics", "client_tea"])
def test_strangers_and_clients_get_404(client, world, outbox_rows, user):
    failed = outbox_rows["failed"]
    client.force_login(getattr(world, user))

    answers = [
        client.get(reverse("mail:outbox", args=["tea"])).status_code,
        client.get(reverse("mail:outbound", args=["tea", failed.id])).status_code,
        client.post(reverse("mail:outbound_retry", args=["tea", failed.id])).status_code,
    ]

    assert answers == [404, 404, 404]
    with scopes_disabled():
        assert OutboundMail.objects.get(pk=failed.id).status == "failed"


def test_a_mail_of_another_shop_is_not_found_through_this_shop(client, world, outbox_rows):
    client.force_login(world.supervisor)

    response = client.get(reverse("mail:outbound", args=["ceramics", outbox_rows["sent"].id]))

    assert response.status_code == 404


def test_failed_sends_are_counted_for_staff_only(client, world, outbox_rows):
    with scopes_disabled():
        operator = actor_for_user(world.operator_tea)
        counts = {
            "operator": failed_send_count(actor=operator, shop_id=world.tea.id),
            "client": failed_send_count(
                actor=actor_for_user(world.client_tea), shop_id=world.tea.id
            ),
            "other": failed_send_count(
                actor=actor_for_user(world.operator_ceramics), shop_id=world.tea.id
            ),
        }
    client.force_login(world.operator_tea)

    fragment = client.get(reverse("menu_counts") + "?shop=tea").content.decode()

    assert counts == {"operator": 1, "client": 0, "other": 0}
    assert reverse("mail:outbox", args=["tea"]) in fragment
    assert "送信失敗" in fragment
    assert '<span class="badge badge--alert">1</span>' in fragment


def menu_links(world, user):
    request = RequestFactory().get("/")
    actor = actor_for_user(getattr(world, user))
    sections = navigation.build_menu(request, actor, world.tea.id, "tea")
    return {
        str(link.url)
        for section in sections
        if section.key == navigation.CHANNELS
        for link in section.links
        if str(link.url).startswith("/mail/")
    }


def test_the_menu_offers_the_mail_pages_each_role_may_open(world):
    with scopes_disabled():
        links = {user: menu_links(world, user) for user in ("admin", "operator_tea", "client_tea")}

    setup = {
        reverse("mail:addresses", args=["tea"]),
        reverse("mail:mailboxes", args=["tea"]),
        reverse("mail:smtp_servers", args=["tea"]),
        reverse("mail:settings", args=["tea"]),
    }
    queues = {reverse("mail:outbox", args=["tea"]), reverse("mail:failed", args=["tea"])}
    assert links == {"admin": setup | queues, "operator_tea": queues, "client_tea": set()}
