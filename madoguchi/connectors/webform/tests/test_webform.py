import datetime as dt
import hashlib

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from madoguchi.connectors.line.tests.fake_line import PNG
from madoguchi.connectors.mail.models import MailAddress, OutboundMail
from madoguchi.connectors.webform import services
from madoguchi.connectors.webform.models import Submission, WebForm
from madoguchi.conversations.models import Attachment, Message, Ticket
from madoguchi.conversations.services import ShopArchivedError, message_reply
from madoguchi.customers.models import ContactIdentity
from madoguchi.tenancy import services as tenancy_services
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    # The rate-limit counters are in the database cache (shared by every process).
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def web_form(world) -> WebForm:
    with unscoped("test setup"):
        MailAddress.objects.create(
            shop=world.tea,
            address="support@yamada-en.example.jp",
            display_name="山田園 サポート",
            is_verified=True,
            is_default_sender=True,
        )
        return WebForm.objects.create(
            shop=world.tea,
            public_key="tea-form-key",
            has_phone=True,
            has_category=True,
            categories="商品について\n配送について",
            allowed_origins="https://yamada-en.example.jp",
        )


def limits(**values):
    return override_settings(MADOGUCHI={**settings.MADOGUCHI, **values})


ENGLISH = "?lang=en"  # error texts are asserted in English (msgids)


def url(key="tea-form-key"):
    return reverse("webform:public", args=[key])


def fields(**extra):
    data = {
        "name": "佐藤 一郎",
        "email": "Ichiro.Sato@example.jp",
        "phone": "090-1234-5678",
        "order_number": "T-1001",
        "category": "配送について",
        "message": "注文した煎茶がまだ届きません。\n確認をお願いします。",
        "privacy_consent": "on",
        "website": "",
    }
    data.update(extra)
    return data


def counts(world):
    with unscoped("test assertion"):
        return (
            Submission.objects.count(),
            Ticket.objects.count(),
            Message.objects.count(),
            OutboundMail.objects.count(),
        )


def test_hosted_page_is_japanese_and_embeddable_by_the_allowed_origin(client, web_form):
    response = client.get(url())
    assert response.status_code == 200
    assert '<html lang="ja">' in response.text
    assert 'name="website"' in response.text
    assert 'name="attachments"' in response.text
    assert "X-Frame-Options" not in response.headers
    assert response["Content-Security-Policy"].endswith(
        "frame-ancestors 'self' https://yamada-en.example.jp"
    )
    assert '<option value="配送について">' in response.text
    english = client.get(url() + "?lang=en")
    assert '<html lang="en">' in english.text


def test_unknown_or_disabled_form_is_404(client, web_form):
    assert client.get(url("nope")).status_code == 404
    with unscoped("test setup"):
        WebForm.objects.filter(pk=web_form.pk).update(is_enabled=False)
    response = client.post(url(), fields())
    assert response.status_code == 404
    assert counts(None)[0] == 0


def test_normal_submission_with_an_attachment(client, world, web_form):
    before = counts(world)
    photo = SimpleUploadedFile("箱の写真.png", PNG, content_type="image/png")
    response = client.post(url(), {**fields(), "attachments": [photo]}, REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 200
    assert 'data-testid="ticket-reference">' in response.text
    assert "#TEA-2" in response.text
    with in_shop(world.tea.id):
        submission = Submission.objects.get()
        assert (submission.status, submission.ip_address, submission.attempts) == (
            "processed",
            "203.0.113.5",
            1,
        )
        ticket = Ticket.objects.get(pk=submission.ticket_id)
        assert (ticket.number, ticket.channel, ticket.subject) == (
            2,
            "web_form",
            "配送について（注文番号 T-1001）",
        )
        message = ticket.messages.get()
        assert message.body_text == (
            "注文番号: T-1001\n電話番号: 090-1234-5678\n種別: 配送について\n\n"
            "注文した煎茶がまだ届きません。\n確認をお願いします。"
        )
        assert message.external_id == f"webform-{submission.id}"
        attachment = Attachment.objects.get(message=message)
        assert (attachment.filename, attachment.content_type, attachment.size) == (
            "箱の写真.png",
            "image/png",
            len(PNG),
        )
        assert attachment.sha256 == hashlib.sha256(PNG).hexdigest()
        assert sorted(
            ContactIdentity.objects.filter(customer=ticket.customer).values_list("kind", "value")
        ) == [("email", "ichiro.sato@example.jp"), ("phone", "09012345678")]
        assert ticket.customer.name == "佐藤 一郎"
        ack = OutboundMail.objects.get()
        assert (ack.kind, ack.to_address, ack.from_address) == (
            "ack",
            "ichiro.sato@example.jp",
            "support@yamada-en.example.jp",
        )
        assert "#TEA-2" in ack.subject
    assert counts(world) == (before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1)


def test_replies_continue_by_email(client, world, web_form, django_capture_on_commit_callbacks):
    client.post(url(), fields())
    with in_shop(world.tea.id):
        ticket = Ticket.objects.get(channel="web_form")
        reply = message_reply(
            actor=actor_for_user(world.operator_tea), ticket=ticket, body_text="確認いたします。"
        )
        outbound = OutboundMail.objects.get(message=reply)
        assert (outbound.kind, outbound.to_address, outbound.status) == (
            "reply",
            "ichiro.sato@example.jp",
            "queued",
        )
        assert Message.objects.get(pk=reply.pk).delivery_status == "queued"


def test_honeypot_stores_nothing_and_says_thanks(client, world, web_form):
    before = counts(world)
    response = client.post(url(), fields(website="http://spam.example"))
    assert response.status_code == 200
    assert "ticket-reference" not in response.text
    assert counts(world) == before


def test_per_ip_rate_limit(client, world, web_form):
    with limits(WEBFORM_RATE_PER_IP=2, WEBFORM_RATE_PER_ADDRESS=100):
        for index in range(2):
            response = client.post(
                url(), fields(email=f"a{index}@example.jp"), REMOTE_ADDR="198.51.100.7"
            )
            assert response.status_code == 200
        refused = client.post(url(), fields(email="a3@example.jp"), REMOTE_ADDR="198.51.100.7")
        assert refused.status_code == 429
        assert 'data-testid="form-notice"' in refused.text
        assert "a3@example.jp" in refused.text  # what the customer typed is kept
        other_ip = client.post(url(), fields(email="a4@example.jp"), REMOTE_ADDR="198.51.100.8")
        assert other_ip.status_code == 200
        # A forged forwarding header does not change who is counted.
        forged = client.post(
            url(),
            fields(email="a5@example.jp"),
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR="192.0.2.1",
        )
        assert forged.status_code == 429
    with unscoped("test assertion"):
        assert Submission.objects.count() == 3


def test_per_address_rate_limit(client, world, web_form):
    with limits(WEBFORM_RATE_PER_IP=100, WEBFORM_RATE_PER_ADDRESS=1):
        assert client.post(url(), fields(), REMOTE_ADDR="198.51.100.1").status_code == 200
        again = client.post(
            url(), fields(email="ICHIRO.SATO@example.jp"), REMOTE_ADDR="198.51.100.2"
        )
        assert again.status_code == 429
    with unscoped("test assertion"):
        assert Submission.objects.count() == 1


def test_file_too_large(client, world, web_form):
    before = counts(world)
    with limits(WEBFORM_MAX_FILE_BYTES=40):
        photo = SimpleUploadedFile("big.png", PNG, content_type="image/png")
        response = client.post(url() + ENGLISH, {**fields(), "attachments": [photo]})
    assert response.status_code == 400
    assert "big.png is too large" in response.text
    assert 'value="Ichiro.Sato@example.jp"' in response.text
    assert counts(world) == before


def test_files_too_large_together_and_too_many(client, world, web_form):
    before = counts(world)
    with limits(WEBFORM_MAX_FILE_BYTES=len(PNG), WEBFORM_MAX_TOTAL_BYTES=len(PNG) + 10):
        photos = [SimpleUploadedFile(f"{i}.png", PNG, content_type="image/png") for i in range(2)]
        response = client.post(url() + ENGLISH, {**fields(), "attachments": photos})
        assert response.status_code == 400
        assert "too large together" in response.text
    with limits(WEBFORM_MAX_FILES=2):
        photos = [SimpleUploadedFile(f"{i}.png", PNG, content_type="image/png") for i in range(3)]
        response = client.post(url() + ENGLISH, {**fields(), "attachments": photos})
        assert response.status_code == 400
        assert "Attach at most 2 files." in response.text
    assert counts(world) == before


def test_request_larger_than_the_limit_is_refused_unread(client, world, web_form):
    before = counts(world)
    with limits(WEBFORM_MAX_TOTAL_BYTES=10):
        big = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 100))
        response = client.post(url() + ENGLISH, {**fields(), "attachments": [big]})
    assert response.status_code == 413
    assert "too large" in response.text
    assert counts(world) == before


def test_wrong_file_type_is_refused(client, world, web_form):
    before = counts(world)
    fake_image = SimpleUploadedFile(
        "photo.png", b"<html><script>alert(1)</script></html>", content_type="image/png"
    )
    response = client.post(url() + ENGLISH, {**fields(), "attachments": [fake_image]})
    assert response.status_code == 400
    assert "photo.png is not a file type we accept" in response.text
    executable = SimpleUploadedFile("setup.pdf", b"MZ\x90\x00" + b"\x00" * 60)
    response = client.post(url() + ENGLISH, {**fields(), "attachments": [executable]})
    assert response.status_code == 400
    assert counts(world) == before


def test_missing_and_invalid_fields_are_explained(client, world, web_form):
    before = counts(world)
    response = client.post(url() + ENGLISH, fields(email="not-an-address", message=""))
    assert response.status_code == 400
    assert response.text.count('data-testid="field-error"') == 2
    assert 'data-testid="form-notice"' in response.text
    with limits(WEBFORM_MAX_MESSAGE_CHARS=10):
        response = client.post(url() + ENGLISH, fields(message="あ" * 11))
        assert response.status_code == 400
        assert "at most 10 characters" in response.text
    assert counts(world) == before


def test_settings_page_shows_the_snippet_to_staff_of_the_shop(client, world, web_form):
    settings_url = reverse("webform:settings", args=["tea"])
    client.force_login(world.operator_ceramics)
    assert client.get(settings_url).status_code == 404
    client.force_login(world.operator_tea)
    page = client.get(settings_url)
    assert page.status_code == 200
    assert "&lt;iframe src=&quot;http://testserver/f/tea-form-key/&quot;" in page.text


def test_lead_changes_the_settings_and_bad_origins_are_refused(client, world, web_form):
    settings_url = reverse("webform:settings", args=["tea"])
    client.force_login(world.supervisor)
    data = {"is_enabled": "on", "has_name": "on", "allowed_origins": "https://a.example.jp"}
    assert client.post(settings_url, data).status_code == 302
    with unscoped("test assertion"):
        web_form.refresh_from_db()
    assert (web_form.has_phone, web_form.has_attachments, web_form.origin_list) == (
        False,
        False,
        ["https://a.example.jp"],
    )
    bad = client.post(settings_url, {**data, "allowed_origins": "https://a.example.jp 'unsafe'"})
    assert bad.status_code == 400
    # The refusal stands beside the field, in the UI language, with what was typed kept.
    assert "https://a.example.jp &#x27;unsafe&#x27;</textarea>" in bad.text
    assert "オリジンには空白・引用符・カンマ・セミコロンを含められません。" in bad.text
    client.force_login(world.operator_tea)
    assert client.post(settings_url, data).status_code == 403


def test_a_failure_after_storing_loses_nothing(client, world, web_form, monkeypatch):
    from madoguchi.connectors.webform import services

    def broken(inbound):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(services, "receive_inbound", broken)
    photo = SimpleUploadedFile("写真.png", PNG, content_type="image/png")
    response = client.post(url(), {**fields(), "attachments": [photo]})
    assert response.status_code == 200
    assert "ticket-reference" not in response.text
    with in_shop(world.tea.id):
        submission = Submission.objects.get()
        assert (submission.status, submission.attempts, submission.last_error) == (
            "failed",
            1,
            "RuntimeError: database hiccup",
        )
        assert submission.files.get().data == PNG
        assert not Ticket.objects.filter(channel="web_form").exists()
    monkeypatch.undo()
    with unscoped("test sweep"):
        Submission.objects.update(created_at=submission.created_at - dt.timedelta(minutes=5))
        assert services.submission_sweep() == 1
    with in_shop(world.tea.id):
        submission.refresh_from_db()
        assert (submission.status, submission.attempts) == ("processed", 2)
        ticket = Ticket.objects.get(channel="web_form")
        assert Attachment.objects.get(message__ticket=ticket).size == len(PNG)
        assert OutboundMail.objects.get(ticket=ticket).kind == "ack"


def test_an_archived_shop_says_it_no_longer_accepts_contacts(client, world, web_form):
    tenancy_services.shop_archive(actor=actor_for_user(world.admin), shop=world.tea)
    before = counts(world)
    page = client.get(url())
    assert page.status_code == 410
    text = page.content.decode()
    assert "山田園 茶舗は現在お問い合わせを受け付けていません" in text
    assert 'name="message"' not in text
    assert "frame-ancestors 'self' https://yamada-en.example.jp" in page["Content-Security-Policy"]
    response = client.post(url(), fields())
    assert response.status_code == 410
    assert counts(world) == before


def test_a_submission_stored_before_the_archiving_fails_with_its_data_kept(world, web_form):
    submission = services.submission_store(
        form=web_form, data=fields(), files=[], ip_address="192.0.2.1"
    )
    tenancy_services.shop_archive(actor=actor_for_user(world.admin), shop=world.tea)
    with in_shop(world.tea.id), pytest.raises(ShopArchivedError):
        services.submission_process(submission_id=submission.id)
    with unscoped("test assertion"):
        submission.refresh_from_db()
        assert Ticket.objects.filter(shop=world.tea).count() == 1  # the world's own
    assert submission.status == Submission.Status.FAILED
    assert submission.last_error == ("This shop is archived: it accepts no new contacts.")
    assert submission.message == "注文した煎茶がまだ届きません。\n確認をお願いします。"


POLICY = "https://yamada-en.example.jp/privacy"


def test_the_form_asks_for_consent_with_a_link_to_the_policy(client, web_form):
    with unscoped("test setup"):
        WebForm.objects.filter(pk=web_form.pk).update(privacy_policy_url=POLICY)
    text = client.get(url()).text
    assert 'name="privacy_consent"' in text
    assert "個人情報の取り扱いに同意する" in text
    assert (
        f'<a href="{POLICY}" target="_blank" rel="noopener noreferrer" '
        'data-testid="privacy-policy-link">'
    ) in text
    english = client.get(url() + ENGLISH).text
    assert "I agree to the handling of personal information" in english


def test_without_consent_nothing_is_sent_and_the_text_is_kept(client, world, web_form):
    before = counts(world)
    data = fields()
    del data["privacy_consent"]
    response = client.post(url(), data)
    assert response.status_code == 400
    assert (
        '<p class="error" data-testid="field-error">'
        "お問い合わせを送信するには、個人情報の取り扱いへの同意が必要です。</p>"
    ) in response.text
    assert "注文した煎茶がまだ届きません。\n確認をお願いします。</textarea>" in response.text
    assert 'value="Ichiro.Sato@example.jp"' in response.text
    assert counts(world) == before
    english = client.post(url() + ENGLISH, data)
    assert (
        "Please agree to the handling of personal information to send your message." in english.text
    )


def test_the_consent_is_stored_with_the_policy_it_was_given_for(client, world, web_form):
    with unscoped("test setup"):
        WebForm.objects.filter(pk=web_form.pk).update(privacy_policy_url=POLICY)
    assert client.post(url(), fields()).status_code == 200
    with in_shop(world.tea.id):
        submission = Submission.objects.get()
    assert submission.privacy_policy_url == POLICY
    assert submission.privacy_consent_at == submission.created_at


def test_a_lead_sets_the_privacy_policy_url_audited(client, world, web_form):
    from madoguchi.audit.models import AuditEntry

    settings_url = reverse("webform:settings", args=["tea"])
    client.force_login(world.supervisor)
    page = client.get(settings_url).text
    assert 'data-testid="privacy-policy-missing"' in page
    assert 'name="privacy_policy_url"' in page
    data = {"is_enabled": "on", "has_name": "on", "privacy_policy_url": "javascript:alert(1)"}
    refused = client.post(settings_url, data)
    assert refused.status_code == 400
    assert 'value="javascript:alert(1)"' in refused.text
    assert "URLを正しく入力してください。" in refused.text
    response = client.post(settings_url, {**data, "privacy_policy_url": POLICY})
    assert response.status_code == 302
    with unscoped("test assertion"):
        web_form.refresh_from_db()
        entry = AuditEntry.objects.filter(action="webform.settings_changed").get()
    assert web_form.privacy_policy_url == POLICY
    assert entry.changes["privacy_policy_url"] == ["", POLICY]
    assert entry.actor == world.supervisor


def test_an_operator_reads_the_settings_without_a_form(client, world, web_form):
    settings_url = reverse("webform:settings", args=["tea"])
    client.force_login(world.operator_tea)
    page = client.get(settings_url).text
    assert 'data-testid="webform-settings-form"' not in page
    assert 'data-testid="webform-summary"' in page
    assert "商品について、配送について" in page
    assert 'data-testid="read-only"' in page


def test_the_settings_form_and_the_public_form_are_all_japanese(client, world, web_form):
    from madoguchi.core.testing.japanese import english_words, untranslated_msgids

    with unscoped("test setup"):
        WebForm.objects.filter(pk=web_form.pk).update(privacy_policy_url=POLICY)
    client.force_login(world.supervisor)
    with untranslated_msgids() as missing:
        pages = [
            client.get(reverse("webform:settings", args=["tea"])).text,
            client.post(reverse("webform:settings", args=["tea"]), {"title": "x" * 201}).text,
            client.get(url()).text,
            client.post(url(), {**fields(), "privacy_consent": ""}).text,
        ]
    assert missing == set()
    allowed = {"Web", "URL", "https", "http", "shop", "example", "jp", "privacy", "yamada", "en"}
    assert [english_words(page, allowed=allowed) for page in pages] == [[], [], [], []]
