import datetime as dt
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.connectors.mail.models import MailAddress, OutboundMail, RawMail
from madoguchi.conversations.models import Message, Ticket
from madoguchi.conversations.services import ticket_update
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.testing import factories
from madoguchi.csat.models import CsatOptOut, CsatSurvey
from madoguchi.csat.selectors import answers_between, csat_summary, ticket_csat
from madoguchi.csat.services import (
    SurveyClosedError,
    csat_opt_out_set,
    csat_settings_save,
    survey_answer,
    surveys_send_due,
    token_digest,
)
from madoguchi.csat.tests.helpers import email_ticket, enable_csat, solve, token_of
from madoguchi.customers.models import ContactIdentity
from madoguchi.events.models import Event
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, unscoped

pytestmark = pytest.mark.django_db


def _mail_address(shop) -> None:
    with in_shop(shop.id):
        MailAddress.objects.create(
            shop=shop, address="support@tea.example.jp", is_verified=True, is_default_sender=True
        )


def _later(minutes: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=minutes)


def test_a_due_survey_goes_out_once_by_mail_with_a_tokenised_link(world):
    enable_csat(world, delay_minutes=60)
    _mail_address(world.tea)
    ticket = solve(world, email_ticket(world.tea))
    assert surveys_send_due(now=_later(30)) == 0
    assert surveys_send_due(now=_later(61)) == 1
    assert surveys_send_due(now=_later(62)) == 0
    with in_shop(world.tea.id):
        survey = CsatSurvey.objects.get(ticket=ticket)
        outbound = OutboundMail.objects.get(ticket=ticket)
        message = Message.objects.get(pk=survey.message_id)
        ticket.refresh_from_db()
        types = list(
            Event.objects.filter(ticket=ticket).order_by("id").values_list("type", flat=True)
        )
        requested = Event.objects.get(ticket=ticket, type="csat.requested")
    token = token_of(message.body_text)
    assert survey.token_digest == token_digest(token)
    assert token not in survey.token_digest
    assert (survey.status, survey.channel, survey.language) == ("sent", "email", "ja")
    assert message.direction == "outbound" and message.author_user_id is None
    assert message.delivery_status == "queued"
    assert message.body_text.startswith("この度のお問い合わせへの対応はいかがでしたか？")
    assert f"http://127.0.0.1:8000/csat/{token}/" in message.body_text
    assert outbound.to_address == "hanako@example.com"
    mail = message_from_bytes(bytes(outbound.raw), policy=default_policy)
    assert f"http://127.0.0.1:8000/csat/{token}/" in mail.get_content()
    # A system message: no response for SLAs, and the ticket stays solved.
    assert ticket.status == "solved"
    assert types[-2:] == ["message.auto_replied", "csat.requested"]
    assert requested.payload == {
        "survey_id": survey.id,
        "channel": "email",
        "message_id": message.id,
        "language": "ja",
    }
    assert requested.actor_kind == "system"


def test_english_tickets_get_the_shops_english_wording(world):
    enable_csat(world, delay_minutes=0, question_en="Rate our tea support, 1 to 5.")
    _mail_address(world.tea)
    ticket = solve(world, email_ticket(world.tea, language="en"))
    assert surveys_send_due(now=_later(1)) == 1
    with in_shop(world.tea.id):
        survey = CsatSurvey.objects.select_related("message").get(ticket=ticket)
    assert survey.language == "en"
    assert survey.message.body_text.startswith("Rate our tea support, 1 to 5.\n\nAnswer here")


def test_tickets_solved_before_csat_was_on_and_reopened_ones_get_none(world):
    _mail_address(world.tea)
    old = solve(world, email_ticket(world.tea, email="old@example.com"))
    with in_shop(world.tea.id):
        Ticket.objects.filter(pk=old.pk).update(solved_at=timezone.now() - dt.timedelta(days=2))
    enable_csat(world, delay_minutes=60)
    reopened = solve(world, email_ticket(world.tea, email="again@example.com"))
    with in_shop(world.tea.id):
        ticket_update(
            actor=actor_for_user(world.operator_tea), ticket=reopened, status=Ticket.Status.OPEN
        )
    assert surveys_send_due(now=_later(61)) == 0
    with in_shop(world.tea.id):
        assert CsatSurvey.objects.count() == 0


def test_a_reopened_and_solved_again_ticket_keeps_its_one_survey(world):
    enable_csat(world, delay_minutes=0)
    _mail_address(world.tea)
    ticket = solve(world, email_ticket(world.tea))
    assert surveys_send_due(now=_later(1)) == 1
    with in_shop(world.tea.id):
        ticket_update(
            actor=actor_for_user(world.operator_tea), ticket=ticket, status=Ticket.Status.OPEN
        )
    solve(world, ticket)
    assert surveys_send_due(now=_later(2)) == 0
    with in_shop(world.tea.id):
        assert CsatSurvey.objects.filter(ticket=ticket).count() == 1
        assert OutboundMail.objects.filter(ticket=ticket).count() == 1


def test_a_shop_with_csat_off_sends_nothing(world):
    _mail_address(world.tea)
    solve(world, email_ticket(world.tea))
    assert surveys_send_due(now=_later(600)) == 0


def test_opted_out_customers_get_no_survey(world):
    enable_csat(world, delay_minutes=0)
    _mail_address(world.tea)
    ticket = email_ticket(world.tea)
    with in_shop(world.tea.id):
        assert csat_opt_out_set(
            actor=actor_for_user(world.operator_tea), customer=ticket.customer, is_opted_out=True
        )
    solve(world, ticket)
    assert surveys_send_due(now=_later(1)) == 1
    with in_shop(world.tea.id):
        survey = CsatSurvey.objects.get(ticket=ticket)
        assert OutboundMail.objects.filter(ticket=ticket).count() == 0
        entry = AuditEntry.objects.get(action="csat.opt_out_changed")
    assert (survey.status, survey.skip_reason, survey.message_id) == ("skipped", "opted_out", None)
    assert entry.changes == {
        "customer_id": ticket.customer_id,
        "opted_out": True,
        "source": "staff",
    }


def test_tickets_whose_last_mail_was_an_auto_reply_or_bounce_get_no_survey(world):
    enable_csat(world, delay_minutes=0)
    _mail_address(world.tea)
    auto = email_ticket(world.tea, email="away@example.com")
    human = email_ticket(world.tea, email="person@example.com")
    now = timezone.now()
    with in_shop(world.tea.id):
        for ticket, status, at in (
            (auto, RawMail.Status.PROCESSED, now - dt.timedelta(hours=2)),
            (auto, RawMail.Status.AUTOMATED, now - dt.timedelta(hours=1)),
            (human, RawMail.Status.AUTOMATED, now - dt.timedelta(hours=2)),
            (human, RawMail.Status.PROCESSED, now - dt.timedelta(hours=1)),
        ):
            RawMail.objects.create(
                shop=world.tea,
                source=RawMail.Source.IMAP,
                raw=b"Subject: x\r\n\r\nx",
                sha256="0" * 64,
                idempotency_key=f"{ticket.id}-{status}",
                status=status,
                ticket=ticket,
                received_at=at,
            )
    solve(world, auto)
    solve(world, human)
    assert surveys_send_due(now=_later(1)) == 2
    with in_shop(world.tea.id):
        surveys = {s.ticket_id: s for s in CsatSurvey.objects.all()}
    assert (surveys[auto.id].status, surveys[auto.id].skip_reason) == ("skipped", "machine_mail")
    assert (surveys[human.id].status, surveys[human.id].skip_reason) == ("sent", "")


def test_bounced_addresses_and_phone_tickets_get_no_survey(world):
    enable_csat(world, delay_minutes=0)
    _mail_address(world.tea)
    bounced = email_ticket(world.tea, email="gone@example.com")
    with in_shop(world.tea.id):
        ContactIdentity.objects.filter(customer=bounced.customer).update(is_undeliverable=True)
        phone = factories.TicketFactory(shop=world.tea, channel="phone")
    solve(world, bounced)
    solve(world, phone)
    assert surveys_send_due(now=_later(1)) == 2
    with in_shop(world.tea.id):
        reasons = dict(CsatSurvey.objects.values_list("ticket_id", "skip_reason"))
        assert (
            Message.objects.filter(ticket__in=[bounced, phone], direction="outbound").count() == 0
        )
    assert reasons == {bounced.id: "undeliverable", phone.id: "channel"}


def _sent_survey(world) -> CsatSurvey:
    enable_csat(world, delay_minutes=0)
    _mail_address(world.tea)
    ticket = solve(world, email_ticket(world.tea))
    surveys_send_due(now=_later(1))
    with in_shop(world.tea.id):
        return CsatSurvey.objects.get(ticket=ticket)


def test_an_answer_is_recorded_and_a_change_within_7_days_replaces_it(world):
    survey = _sent_survey(world)
    first_at = timezone.now() + dt.timedelta(hours=1)
    with in_shop(world.tea.id):
        survey_answer(survey=survey, score=2, comment="  返信が遅かった  ", now=first_at)
        changed_at = first_at + dt.timedelta(days=6, hours=23)
        survey = survey_answer(
            survey=survey, score=4, comment="結局よく対応してくれた", now=changed_at
        )
        events = list(
            Event.objects.filter(type="csat.answered")
            .order_by("id")
            .values_list("payload", "actor_kind", "actor_customer_id")
        )
        ticket = Ticket.objects.get(pk=survey.ticket_id)
    assert (survey.score, survey.comment, survey.status) == (
        4,
        "結局よく対応してくれた",
        "answered",
    )
    assert (survey.first_answered_at, survey.answered_at) == (first_at, changed_at)
    assert ticket.status == "solved"
    customer_id = ticket.customer_id
    assert events == [
        (
            {
                "survey_id": survey.id,
                "channel": "email",
                "score": 2,
                "previous_score": None,
                "has_comment": True,
                "comment_length": 7,
                "via": "page",
            },
            "customer",
            customer_id,
        ),
        (
            {
                "survey_id": survey.id,
                "channel": "email",
                "score": 4,
                "previous_score": 2,
                "has_comment": True,
                "comment_length": 11,
                "via": "page",
            },
            "customer",
            customer_id,
        ),
    ]


def test_a_change_after_7_days_is_refused(world):
    survey = _sent_survey(world)
    first_at = timezone.now()
    with in_shop(world.tea.id):
        survey_answer(survey=survey, score=5, comment="", now=first_at)
        with pytest.raises(SurveyClosedError) as refused:
            survey_answer(
                survey=survey, score=1, comment="", now=first_at + dt.timedelta(days=7, seconds=1)
            )
        survey.refresh_from_db()
        assert Event.objects.filter(type="csat.answered").count() == 1
    assert str(refused.value) == "This answer can no longer be changed."
    assert survey.score == 5


def test_an_unanswered_survey_expires_and_scores_are_1_to_5(world):
    survey = _sent_survey(world)
    with in_shop(world.tea.id):
        with pytest.raises(ValidationError):
            survey_answer(survey=survey, score=6, comment="")
        with pytest.raises(SurveyClosedError) as expired:
            survey_answer(
                survey=survey, score=3, comment="", now=timezone.now() + dt.timedelta(days=29)
            )
    assert str(expired.value) == "This survey has expired."


def test_the_customer_may_opt_out_with_the_answer(world):
    survey = _sent_survey(world)
    with in_shop(world.tea.id):
        survey_answer(survey=survey, score=3, comment="", opt_out=True)
        opt_out = CsatOptOut.objects.get()
        entry = AuditEntry.objects.get(action="csat.opt_out_changed")
    assert (opt_out.customer_id, opt_out.source, opt_out.created_by_id) == (
        survey.ticket.customer_id,
        "customer",
        None,
    )
    assert (entry.actor_id, entry.actor_label) == (None, "csat-survey")


def test_settings_are_saved_by_leads_only_and_audited(world):
    with in_shop(world.tea.id):
        with pytest.raises(PermissionDeniedError):
            csat_settings_save(
                actor=actor_for_user(world.operator_tea),
                shop=world.tea,
                is_enabled=True,
                delay_minutes=10,
                wording={},
            )
        with pytest.raises(ValidationError):
            csat_settings_save(
                actor=actor_for_user(world.supervisor),
                shop=world.tea,
                is_enabled=True,
                delay_minutes=10081,
                wording={},
            )
        settings = csat_settings_save(
            actor=actor_for_user(world.supervisor),
            shop=world.tea,
            is_enabled=True,
            delay_minutes=30,
            wording={"thanks_ja": "ありがとうございました！"},
        )
        entry = AuditEntry.objects.get(action="csat.settings_changed")
    assert (settings.is_enabled, settings.delay_minutes, settings.thanks_ja) == (
        True,
        30,
        "ありがとうございました！",
    )
    assert settings.enabled_at is not None
    assert entry.changes == {
        "old": {"is_enabled": False, "delay_minutes": 60, "thanks_ja": ""},
        "new": {"is_enabled": True, "delay_minutes": 30, "thanks_ja": "ありがとうございました！"},
    }


def test_selectors_give_the_ticket_and_the_periods_figures(world):
    enable_csat(world, delay_minutes=0)
    _mail_address(world.tea)
    tickets = [solve(world, email_ticket(world.tea, email=f"c{i}@example.com")) for i in range(3)]
    start = timezone.now() - dt.timedelta(minutes=1)
    surveys_send_due(now=_later(1))
    with in_shop(world.tea.id):
        surveys = {s.ticket_id: s for s in CsatSurvey.objects.all()}
        survey_answer(survey=surveys[tickets[0].id], score=5, comment="")
        survey_answer(survey=surveys[tickets[1].id], score=2, comment="遅い")
        summary = csat_summary(shop_id=world.tea.id, start=start, end=_later(10))
        answered = list(answers_between(shop_id=world.tea.id, start=start, end=_later(10)))
        assert ticket_csat(ticket_id=tickets[1].id).comment == "遅い"
        assert ticket_csat(ticket_id=world.tea_ticket.id) is None
    with unscoped("test: the other shop's figures"):
        other = csat_summary(shop_id=world.ceramics.id, start=start, end=_later(10))
    assert (summary.sent, summary.answered, summary.average, summary.satisfied) == (3, 2, 3.5, 1)
    assert summary.distribution == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert summary.response_rate == pytest.approx(2 / 3)
    assert [s.ticket_id for s in answered] == [tickets[0].id, tickets[1].id]
    assert (other.sent, other.answered, other.average) == (0, 0, None)
