"""Contracts, monthly drafts from the event log, issuing with gap-free numbers, credit notes,
the monthly run, usage alerts, and the invoice documents (PDF, CSV)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pypdfium2
import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.billing import documents, services
from madoguchi.billing.models import Contract, Invoice, InvoiceLine, UsageAlert
from madoguchi.billing.pricing import OptionPrice
from madoguchi.billing.services import TermsInput
from madoguchi.billing.tests.rows import contacts, jst
from madoguchi.core.errors import ConflictError, PermissionDeniedError, ValidationError
from madoguchi.events.models import Event
from madoguchi.tenancy.access import Actor, actor_for_user
from madoguchi.tenancy.models import Engagement
from madoguchi.tenancy.scoping import shop_scope, unscoped

pytestmark = pytest.mark.django_db

REGISTRATION = "T4011001098993"
FIXED = TermsInput(
    plan="fixed",
    monthly_fee=150_000,
    included_contacts=10,
    overage_rate=Decimal("180"),
    setup_fee=50_000,
    options=[OptionPrice("土日祝対応", "per_month", Decimal("30000"))],
)


@contextmanager
def acting(user: Any) -> Iterator[Actor]:
    """The actor of `user` inside the scope a request of theirs gets."""
    actor = actor_for_user(user)
    with shop_scope(actor.shop_ids, workspace_ids=tuple(actor.workspace_ids)):
        yield actor


def _settings(world: Any, **overrides: Any) -> None:
    with acting(world.admin) as actor:
        services.billing_settings_save(
            actor=actor,
            workspace=world.agency,
            issuer_name="株式会社窓口サポート",
            registration_number=REGISTRATION,
            issuer_address="東京都千代田区丸の内1-1-1",
            bank_account="みずほ銀行 本店 普通 1234567",
            **overrides,
        )


def _contract(
    world: Any, *, starts_on: dt.date = dt.date(2026, 10, 20), terms: TermsInput = FIXED
) -> Contract:
    with unscoped("test"):
        engagement = Engagement.objects.get(agency=world.agency, shop=world.tea)
    with acting(world.admin) as actor:
        return services.contract_create(
            actor=actor, engagement=engagement, name="標準プラン", starts_on=starts_on, terms=terms
        )


def _draft(world: Any, contract: Contract, month: dt.date) -> Invoice:
    with acting(world.admin) as actor:
        invoice = services.invoice_draft(contract=contract, month=month, actor=actor)
    assert invoice is not None
    return invoice


def _lines(invoice: Invoice) -> list[tuple[str, int]]:
    with unscoped("test"):
        return [(line.description, line.amount) for line in invoice.lines.all()]


def test_the_registration_number_is_checked(world: Any) -> None:
    with acting(world.admin) as actor, pytest.raises(ValidationError) as error:
        services.billing_settings_save(
            actor=actor,
            workspace=world.agency,
            issuer_name="窓口",
            registration_number="T4011001098994",
        )
    assert error.value.field == "registration_number"


def test_only_an_admin_changes_settings(world: Any) -> None:
    with acting(world.supervisor) as actor, pytest.raises(PermissionDeniedError):
        services.billing_settings_save(
            actor=actor,
            workspace=world.agency,
            issuer_name="窓口",
            registration_number=REGISTRATION,
        )


def test_the_first_month_invoice_from_the_event_log(world: Any) -> None:
    contract = _contract(world)
    contacts(world.tea, 8, at=jst(2026, 10, 25))
    contacts(world.tea, 3, channel="chat", at=jst(2026, 10, 28))
    contacts(world.tea, 2, at=jst(2026, 11, 2))  # November: not October's
    invoice = _draft(world, contract, dt.date(2026, 10, 1))
    # October: 31 days, 20th to 31st = 12. Fee 150,000 x 12/31 = 58,064; cap 10 x 12/31 = 3;
    # 11 contacts - 3 = 8 x 180 = 1,440; setup 50,000; option 30,000 x 12/31 = 11,612.
    # Subtotal 121,116; tax 12,111.6 -> 12,111; total 133,227.
    assert _lines(invoice) == [
        ("月額基本料金（日割 12/31日）", 58_064),
        ("基本件数3件を超える対応", 1_440),
        ("初期費用", 50_000),
        ("オプション: 土日祝対応（日割 12/31日）", 11_612),
    ]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (121_116, 12_111, 133_227)
    assert invoice.usage == {"total": 11, "by_channel": {"chat": 3, "email": 8}, "cap": 3}
    assert invoice.tax_breakdown == [
        {"category": "standard", "rate": "0.10", "subtotal": 121_116, "tax": 12_111}
    ]
    assert (invoice.status, invoice.number, invoice.recipient_name) == ("draft", "", "山田園")


def test_issuing_numbers_without_gaps_and_freezes_the_invoice(world: Any) -> None:
    contract = _contract(world)
    draft = _draft(world, contract, dt.date(2026, 10, 1))
    with acting(world.admin) as actor, pytest.raises(ConflictError):
        services.invoice_issue(invoice=draft, actor=actor)  # no issuer settings yet
    _settings(world)
    with acting(world.admin) as actor:
        issued = services.invoice_issue(invoice=draft, actor=actor, today=dt.date(2026, 11, 1))
    assert (issued.number, issued.sequence, issued.issued_on, issued.due_on) == (
        "INV-000001",
        1,
        dt.date(2026, 11, 1),
        dt.date(2026, 12, 1),
    )
    assert (issued.issuer_name, issued.registration_number) == (
        "株式会社窓口サポート",
        REGISTRATION,
    )
    with unscoped("test"):
        stored = Invoice.objects.get(pk=issued.pk)
        stored.total = 1
        with pytest.raises(TypeError):
            stored.save()
        with pytest.raises(TypeError):
            stored.delete()
        event = Event.objects.get(type="billing.invoice_issued")
    assert (event.shop_id, event.payload["number"], event.payload["total"]) == (
        world.tea.id,
        "INV-000001",
        issued.total,
    )
    with acting(world.admin) as actor, pytest.raises(ConflictError):
        services.invoice_draft(contract=contract, month=dt.date(2026, 10, 1), actor=actor)
    assert AuditEntry.objects.filter(action="billing.invoice_issued").count() == 1


def test_a_credit_note_cancels_an_invoice_and_the_month_is_issued_again(world: Any) -> None:
    _settings(world)
    contract = _contract(world)
    with acting(world.admin) as actor:
        first = services.invoice_issue(
            invoice=_draft(world, contract, dt.date(2026, 10, 1)), actor=actor
        )
        note = services.credit_note_issue(actor=actor, invoice=first, reason="件数の誤り")
    assert (note.number, note.kind, note.corrects_id) == ("INV-000002", "credit_note", first.pk)
    assert (note.subtotal, note.tax, note.total) == (-first.subtotal, -first.tax, -first.total)
    assert sum(amount for _, amount in _lines(note)) == -first.subtotal
    with acting(world.admin) as actor, pytest.raises(ConflictError):
        services.credit_note_issue(actor=actor, invoice=first, reason="二重")
    contacts(world.tea, 5, at=jst(2026, 10, 30))
    with acting(world.admin) as actor:
        again = services.invoice_issue(
            invoice=_draft(world, contract, dt.date(2026, 10, 1)), actor=actor
        )
    assert again.number == "INV-000003"
    assert again.total == first.total + 396  # 2 more over the cap of 3: 360 + 36 tax
    with unscoped("test"):
        sequences = list(Invoice.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == [1, 2, 3]


def test_a_discarded_draft_takes_no_number(world: Any) -> None:
    _settings(world)
    contract = _contract(world)
    with acting(world.admin) as actor:
        services.invoice_discard(actor=actor, invoice=_draft(world, contract, dt.date(2026, 10, 1)))
        issued = services.invoice_issue(
            invoice=_draft(world, contract, dt.date(2026, 11, 1)), actor=actor
        )
    assert issued.number == "INV-000001"


def test_new_prices_apply_from_their_month_and_history_is_kept(world: Any) -> None:
    _settings(world)
    contract = _contract(world, starts_on=dt.date(2026, 9, 1))
    contacts(world.tea, 4, at=jst(2026, 10, 5))
    with acting(world.admin) as actor:
        services.invoice_issue(invoice=_draft(world, contract, dt.date(2026, 9, 1)), actor=actor)
        october = services.invoice_issue(
            invoice=_draft(world, contract, dt.date(2026, 10, 1)), actor=actor
        )
        with pytest.raises(ValidationError):  # the first month's prices are the contract's
            services.contract_terms_change(
                actor=actor, contract=contract, effective_from=dt.date(2026, 9, 1), terms=FIXED
            )
        with pytest.raises(ConflictError):  # October is invoiced already
            services.contract_terms_change(
                actor=actor, contract=contract, effective_from=dt.date(2026, 10, 1), terms=FIXED
            )
        with pytest.raises(ValidationError):
            services.contract_terms_change(
                actor=actor, contract=contract, effective_from=dt.date(2026, 11, 15), terms=FIXED
            )
        services.contract_terms_change(
            actor=actor,
            contract=contract,
            effective_from=dt.date(2026, 11, 1),
            terms=TermsInput(plan="metered", channel_rates={"email": Decimal("200")}),
        )
    contacts(world.tea, 4, at=jst(2026, 11, 5))
    november = _draft(world, contract, dt.date(2026, 11, 1))
    assert _lines(october) == [("月額基本料金", 150_000), ("オプション: 土日祝対応", 30_000)]
    assert _lines(november) == [("対応件数: メール", 800)]
    assert november.total == 880
    with unscoped("test"):
        history = list(
            contract.terms.order_by("effective_from").values_list("effective_from", "plan")
        )
    assert history == [(dt.date(2026, 9, 1), "fixed"), (dt.date(2026, 11, 1), "metered")]


def test_the_monthly_run_drafts_once_and_auto_issues_when_asked(world: Any) -> None:
    contract = _contract(world, starts_on=dt.date(2026, 9, 1))
    with acting(world.admin):
        made = services.monthly_run(workspace_id=world.agency.id, today=dt.date(2026, 11, 1))
        again = services.monthly_run(workspace_id=world.agency.id, today=dt.date(2026, 11, 2))
    assert [(invoice.contract_id, invoice.period_start, invoice.status) for invoice in made] == [
        (contract.pk, dt.date(2026, 10, 1), "draft")
    ]
    assert again == []
    _settings(world, is_auto_issue=True)
    with acting(world.admin):
        made = services.monthly_run(workspace_id=world.agency.id, today=dt.date(2026, 12, 1))
    assert [(invoice.period_start, invoice.number) for invoice in made] == [
        (dt.date(2026, 11, 1), "INV-000001")
    ]
    entry = AuditEntry.objects.get(action="billing.invoice_issued")
    assert (entry.actor_id, entry.actor_label) == (None, "system")


def test_usage_alerts_at_80_and_100_percent_once_each(world: Any) -> None:
    contract = _contract(world, starts_on=dt.date(2026, 9, 1))
    contacts(world.tea, 7, at=jst(2026, 11, 3))
    with acting(world.admin):
        assert (
            services.usage_alerts_check(workspace_id=world.agency.id, now=jst(2026, 11, 10)) == []
        )
    contacts(world.tea, 1, at=jst(2026, 11, 11))
    with acting(world.admin):
        made = services.usage_alerts_check(workspace_id=world.agency.id, now=jst(2026, 11, 12))
        assert [(a.threshold, a.contacts, a.cap) for a in made] == [(80, 8, 10)]
        assert (
            services.usage_alerts_check(workspace_id=world.agency.id, now=jst(2026, 11, 13)) == []
        )
    contacts(world.tea, 2, at=jst(2026, 11, 14))
    with acting(world.admin):
        made = services.usage_alerts_check(workspace_id=world.agency.id, now=jst(2026, 11, 15))
    assert [(a.threshold, a.contacts) for a in made] == [(100, 10)]
    with unscoped("test"):
        assert UsageAlert.objects.filter(contract=contract).count() == 2
        payloads = list(
            Event.objects.filter(type="billing.usage_alert")
            .order_by("id")
            .values_list("payload", flat=True)
        )
    assert [payload["threshold"] for payload in payloads] == [80, 100]


def test_the_invoice_pdf_is_a_qualified_invoice_in_japanese(world: Any) -> None:
    _settings(world)
    contract = _contract(world)
    with acting(world.admin) as actor:
        invoice = services.invoice_issue(
            invoice=_draft(world, contract, dt.date(2026, 10, 1)),
            actor=actor,
            today=dt.date(2026, 11, 1),
        )
        pdf = documents.invoice_pdf(invoice)
    page = pypdfium2.PdfDocument(pdf)[0]
    text = page.get_textpage().get_text_range().replace("\r\n", "\n")
    for expected in (
        "請求書",
        "山田園 御中",
        "登録番号: T4011001098993",
        "株式会社窓口サポート",
        "INV-000001",
        "2026年11月1日",
        "月額基本料金（日割 12/31日）",
        "10% 対象",
        "¥58,064",
        "¥119,676",  # the 10% items: 58,064 + 50,000 + 11,612
        "¥11,967",
        "¥131,643",
    ):
        assert expected in text, expected
    image = page.render(scale=1).to_pil().convert("L")
    assert image.getextrema() == (0, 255) or image.getextrema()[0] < 80


def test_the_accounting_csv(world: Any) -> None:
    _settings(world)
    contract = _contract(world)
    with acting(world.admin) as actor:
        first = services.invoice_issue(
            invoice=_draft(world, contract, dt.date(2026, 10, 1)),
            actor=actor,
            today=dt.date(2026, 11, 1),
        )
        services.credit_note_issue(
            actor=actor, invoice=first, reason="訂正", today=dt.date(2026, 11, 2)
        )
        rows = list(
            Invoice.objects.issued().select_related("shop", "corrects").order_by("sequence")
        )
    data = documents.invoices_csv(rows)
    assert data.startswith("\ufeff".encode())
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0].split(",")[:3] == ["請求書番号", "種別", "発行日"]
    assert lines[1] == (
        "INV-000001,請求書,2026-11-01,2026-12-01,2026-10-01,2026-10-31,山田園,山田園 茶舗,"
        "10%,119676,11967,131643,,T4011001098993"
    )
    assert lines[2].startswith("INV-000002,赤伝（訂正請求書）,2026-11-02,")
    assert ",10%,-119676,-11967,-131643,INV-000001," in lines[2]
    cp932 = documents.invoices_csv(rows, encoding="cp932")
    assert cp932.decode("cp932").split("\r\n")[1] == lines[1]


def test_another_agencys_admin_cannot_touch_the_contract(world: Any) -> None:
    from madoguchi.billing.selectors import access_contract
    from madoguchi.core.errors import NotFoundError
    from madoguchi.core.testing import factories

    contract = _contract(world)
    with unscoped("test"):
        other = factories.WorkspaceFactory(slug="other-agency", kind="agency")
        stranger = factories.MembershipFactory(workspace=other, role="admin").user
    with acting(stranger) as actor:
        with pytest.raises(NotFoundError):
            access_contract(actor=actor, contract_id=contract.pk)
        assert not Contract.objects.filter(pk=contract.pk).exists()
    assert InvoiceLine is not None


def test_the_periodic_tasks_enter_each_agencys_scope(world: Any) -> None:
    from django.utils import timezone

    from madoguchi.billing.tasks import billing_monthly_run_task, billing_usage_alerts_task

    today = timezone.localdate()
    two_months_ago = services.previous_month(services.previous_month(today))
    contract = _contract(world, starts_on=two_months_ago)
    contacts(world.tea, 10, at=timezone.now())
    assert billing_monthly_run_task.call() == 1  # last month only: earlier months are not run
    assert billing_monthly_run_task.call() == 0
    with unscoped("test"):
        drafts = list(Invoice.objects.values_list("contract_id", "period_start", "status"))
    assert drafts == [(contract.pk, services.previous_month(today), "draft")]
    assert billing_usage_alerts_task.call() == 2  # 10 of 10: both thresholds at once
