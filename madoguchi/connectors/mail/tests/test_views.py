"""The failed-mail list (with reprocess and loop alerts) and the mail settings page."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.mail.models import AutoReplyLog, MailSettings, RawMail
from madoguchi.connectors.mail.tests.mail_builders import mail_setup, make_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_tea_mail(world):
    mail_setup(world)
    with scopes_disabled():
        return RawMail.objects.create(
            shop=world.tea,
            source="imap",
            raw=make_mail(subject="壊れたメール"),
            size=10,
            sha256="0" * 64,
            idempotency_key="broken@mail.example.com",
            internet_message_id="broken@mail.example.com",
            subject="壊れたメール",
            status="failed",
            attempts=1,
            last_error="Parsing took longer than 60 s.",
            received_at=timezone.now(),
        )


def test_failed_list_shows_the_shops_failed_mail_and_loop_alerts(client, world, failed_tea_mail):
    with scopes_disabled():
        for _ in range(2):
            AutoReplyLog.objects.create(
                shop=world.tea,
                address="bot@example.com",
                is_suppressed=True,
                created_at=timezone.now(),
            )
    client.force_login(world.operator_tea)

    response = client.get(reverse("mail:failed", args=["tea"]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "壊れたメール" in page
    assert "Parsing took longer than 60 s." in page
    assert "bot@example.com" in page
    assert reverse("mail:reprocess", args=["tea", failed_tea_mail.id]) in page


def test_reprocess_queues_the_mail_and_writes_the_audit_log(
    client, world, failed_tea_mail, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_PORT = 9
    client.force_login(world.operator_tea)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mail:reprocess", args=["tea", failed_tea_mail.id]))

    assert response.status_code == 302
    with scopes_disabled():
        failed_tea_mail.refresh_from_db()
        entry = AuditEntry.objects.get(action="mail.reprocessed")
    assert (failed_tea_mail.status, failed_tea_mail.outcome, failed_tea_mail.last_error) == (
        "processed",
        "created",
        "",
    )
    assert (entry.actor, entry.target_id) == (world.operator_tea, str(failed_tea_mail.id))


def test_the_raw_mail_downloads_inert(client, world, failed_tea_mail):
    client.force_login(world.operator_tea)

    response = client.get(reverse("mail:raw", args=["tea", failed_tea_mail.id]))

    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert (
        response["Content-Disposition"] == f'attachment; filename="mail-{failed_tea_mail.id}.eml"'
    )
    assert response.content == make_mail(subject="壊れたメール")


@pytest.mark.parametrize("user", ["operator_ceramics", "client_tea"])
def test_other_shops_staff_and_clients_see_nothing(client, world, failed_tea_mail, user):
    client.force_login(getattr(world, user))

    pages = [
        client.get(reverse("mail:failed", args=["tea"])),
        client.get(reverse("mail:raw", args=["tea", failed_tea_mail.id])),
        client.post(reverse("mail:reprocess", args=["tea", failed_tea_mail.id])),
        client.get(reverse("mail:settings", args=["tea"])),
    ]

    assert [page.status_code for page in pages] == [404, 404, 404, 404]
    with scopes_disabled():
        failed_tea_mail.refresh_from_db()
    assert failed_tea_mail.status == "failed"


def test_a_mail_of_another_shop_is_not_found_through_this_shop(client, world, failed_tea_mail):
    client.force_login(world.operator_ceramics)

    response = client.post(reverse("mail:reprocess", args=["ceramics", failed_tea_mail.id]))

    assert response.status_code == 404


def test_a_supervisor_edits_the_acknowledgement(client, world):
    client.force_login(world.supervisor)

    response = client.post(
        reverse("mail:settings", args=["tea"]),
        {
            "is_ack_enabled": "on",
            "ack_subject": "受付しました {ticket_reference}",
            "ack_body": "{customer_name} 様\r\n{{ settings.SECRET_KEY }}",
        },
    )

    assert response.status_code == 302
    with scopes_disabled():
        saved = MailSettings.objects.get(shop=world.tea)
        entry = AuditEntry.objects.get(action="mail.settings_changed")
    assert (saved.is_ack_enabled, saved.ack_subject, saved.ack_body) == (
        True,
        "受付しました {ticket_reference}",
        "{customer_name} 様\n{{ settings.SECRET_KEY }}",
    )
    assert saved.is_subject_threading_enabled is False
    assert entry.actor == world.supervisor
    assert client.get(reverse("mail:settings", args=["tea"])).status_code == 200


def test_an_operator_may_not_change_the_settings(client, world):
    client.force_login(world.operator_tea)

    response = client.post(reverse("mail:settings", args=["tea"]), {"ack_subject": "x"})

    assert response.status_code == 400
    with scopes_disabled():
        assert MailSettings.objects.filter(shop=world.tea).exists() is False
