"""The public survey page through the test client, and the staff's CSAT pages by role."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.mail.models import MailAddress
from madoguchi.conversations.models import Message
from madoguchi.csat.models import CsatOptOut, CsatSettings, CsatSurvey
from madoguchi.csat.services import surveys_send_due
from madoguchi.csat.tests.helpers import email_ticket, enable_csat, solve, token_of
from madoguchi.events.models import Event
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _sent(world, shop) -> tuple[CsatSurvey, str]:
    """A survey sent on an email ticket of `shop`; return it and the link's token."""
    enable_csat(world, shop, delay_minutes=0)
    with in_shop(shop.id):
        MailAddress.objects.create(
            shop=shop, address=f"support@{shop.slug}.example.jp", is_verified=True
        )
    ticket = solve(world, email_ticket(shop, email=f"buyer@{shop.slug}.example.com"))
    surveys_send_due(now=timezone.now() + dt.timedelta(minutes=1))
    with in_shop(shop.id):
        survey = CsatSurvey.objects.get(ticket=ticket)
        body = Message.objects.get(pk=survey.message_id).body_text
    return survey, token_of(body)


def _url(token: str) -> str:
    return reverse("csat:survey", args=[token])


def test_the_customer_answers_without_signing_in_and_may_change_it(world):
    survey, token = _sent(world, world.tea)
    client = Client(enforce_csrf_checks=True)
    page = client.get(_url(token))
    assert page.status_code == 200
    html = page.content.decode()
    assert "この度のお問い合わせへの対応はいかがでしたか？" in html
    assert page["Referrer-Policy"] == "same-origin"
    csrf = page.cookies["csrftoken"].value
    answered = client.post(
        _url(token),
        {"score": "4", "comment": "丁寧でした", "csrfmiddlewaretoken": csrf},
    )
    assert answered.status_code == 200
    assert "ご回答ありがとうございました。" in answered.content.decode()
    with in_shop(world.tea.id):
        survey.refresh_from_db()
    assert (survey.score, survey.comment, survey.status) == (4, "丁寧でした", "answered")
    again = client.get(_url(token))
    assert 'value="4"' in again.content.decode() and "checked" in again.content.decode()
    changed = client.post(_url(token), {"score": "5", "comment": "", "csrfmiddlewaretoken": csrf})
    assert changed.status_code == 200
    with in_shop(world.tea.id):
        survey.refresh_from_db()
        assert Event.objects.filter(type="csat.answered").count() == 2
    assert (survey.score, survey.comment) == (5, "")


def test_a_post_without_the_csrf_token_is_refused(world):
    survey, token = _sent(world, world.tea)
    client = Client(enforce_csrf_checks=True)
    client.get(_url(token))
    response = client.post(_url(token), {"score": "1"})
    assert response.status_code == 403
    with in_shop(world.tea.id):
        survey.refresh_from_db()
    assert survey.score is None


def test_a_wrong_token_is_404_and_says_so(client):
    response = client.get(_url("not-a-real-token"))
    assert response.status_code == 404
    assert "このアンケートのリンクは無効です" in response.content.decode()


def test_each_shops_token_answers_only_its_own_survey(world):
    tea_survey, _tea_token = _sent(world, world.tea)
    ceramics_survey, ceramics_token = _sent(world, world.ceramics)
    client = Client()
    response = client.post(_url(ceramics_token), {"score": "2"})
    assert response.status_code == 200
    assert world.ceramics.name in response.content.decode()
    with unscoped("test assertion"):
        tea_survey.refresh_from_db()
        ceramics_survey.refresh_from_db()
    assert (tea_survey.score, ceramics_survey.score) == (None, 2)


def test_staff_of_the_shop_may_not_answer_for_the_customer(world):
    survey, token = _sent(world, world.tea)
    client = Client()
    client.force_login(world.operator_tea)
    response = client.post(_url(token), {"score": "5"})
    assert response.status_code == 403
    with in_shop(world.tea.id):
        survey.refresh_from_db()
    assert survey.score is None
    other = Client()
    other.force_login(world.operator_ceramics)
    assert other.get(_url(token)).status_code == 200


def test_a_locked_answer_and_an_expired_survey_say_so(world):
    survey, token = _sent(world, world.tea)
    with in_shop(world.tea.id):
        CsatSurvey.objects.filter(pk=survey.pk).update(
            score=3,
            status="answered",
            first_answered_at=timezone.now() - dt.timedelta(days=8),
            answered_at=timezone.now() - dt.timedelta(days=8),
        )
    response = Client().get(_url(token) + "?lang=en")
    assert response.status_code == 410
    assert "This answer can no longer be changed." in response.content.decode()
    assert Client().post(_url(token), {"score": "1"}).status_code == 410
    with in_shop(world.tea.id):
        CsatSurvey.objects.filter(pk=survey.pk).update(
            score=None,
            status="sent",
            first_answered_at=None,
            answered_at=None,
            expires_at=timezone.now() - dt.timedelta(seconds=1),
        )
    expired = Client().get(_url(token))
    assert expired.status_code == 410
    assert "このアンケートの回答期限は過ぎています。" in expired.content.decode()


def test_the_survey_page_is_rate_limited_per_client_address(world):
    _survey, token = _sent(world, world.tea)
    client = Client()
    statuses = [client.get(_url(token)).status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429


def _settings_url(shop) -> str:
    return reverse("csat:settings", args=[shop.slug])


def test_a_supervisor_changes_the_settings(client, world):
    client.force_login(world.supervisor)
    page = client.get(_settings_url(world.tea))
    assert page.status_code == 200
    assert 'data-testid="csat-settings-form"' in page.content.decode()
    response = client.post(
        _settings_url(world.tea),
        {"is_enabled": "on", "delay_minutes": "120", "question_ja": "満足度を教えてください"},
    )
    assert response.status_code == 302
    with in_shop(world.tea.id):
        settings = CsatSettings.objects.get(shop=world.tea)
        assert AuditEntry.objects.filter(action="csat.settings_changed").count() == 1
    assert (settings.is_enabled, settings.delay_minutes, settings.question_ja) == (
        True,
        120,
        "満足度を教えてください",
    )


def test_an_operator_reads_the_settings_and_may_not_change_them(client, world):
    client.force_login(world.operator_tea)
    page = client.get(_settings_url(world.tea))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="csat-summary"' in html
    assert 'data-testid="csat-settings-form"' not in html
    response = client.post(_settings_url(world.tea), {"is_enabled": "on", "delay_minutes": "5"})
    assert response.status_code == 403
    with in_shop(world.tea.id):
        assert CsatSettings.objects.count() == 0


def test_the_other_shops_people_get_404(client, world):
    client.force_login(world.operator_ceramics)
    assert client.get(_settings_url(world.tea)).status_code == 404
    assert client.post(_settings_url(world.tea), {"delay_minutes": "5"}).status_code == 404
    url = reverse("csat:opt_out", args=[world.tea.slug, world.tea_ticket.customer_id])
    assert client.post(url, {"opted_out": "1"}).status_code == 404
    client.force_login(world.client_ceramics)
    assert client.get(_settings_url(world.tea)).status_code == 404
    with in_shop(world.tea.id):
        assert CsatOptOut.objects.count() == 0


def test_the_ticket_page_shows_the_score_and_comment_and_staff_may_opt_out(client, world):
    survey, token = _sent(world, world.tea)
    Client().post(_url(token), {"score": "2", "comment": "返信が遅かったです"})
    client.force_login(world.operator_tea)
    ticket_url = reverse(
        "conversations:ticket", kwargs={"shop_slug": world.tea.slug, "number": survey.ticket.number}
    )
    html = client.get(ticket_url).content.decode()
    assert 'data-testid="csat-score"><strong>2</strong> / 5' in html
    assert "返信が遅かったです" in html
    opt_out = reverse("csat:opt_out", args=[world.tea.slug, survey.ticket.customer_id])
    response = client.post(opt_out, {"opted_out": "1", "next": ticket_url})
    assert response.status_code == 302 and response["Location"] == ticket_url
    with in_shop(world.tea.id):
        assert CsatOptOut.objects.filter(customer_id=survey.ticket.customer_id).count() == 1
    assert 'data-testid="csat-opted-out"' in client.get(ticket_url).content.decode()
