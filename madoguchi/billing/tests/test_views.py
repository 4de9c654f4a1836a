"""The billing pages: agency admins change, supervisors read, clients see their own shop's usage
and invoices, strangers get 404, and every page reads Japanese."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.billing import services
from madoguchi.billing.models import Contract, Invoice
from madoguchi.billing.services import TermsInput
from madoguchi.billing.tests.rows import contacts
from madoguchi.billing.tests.test_services import REGISTRATION, acting
from madoguchi.core.testing.japanese import untranslated_msgids
from madoguchi.tenancy.models import Engagement
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db

CONTRACT_FORM = {
    "name": "標準プラン",
    "starts_on": "2026-10-01",
    "minimum_term_months": "6",
    "plan": "fixed",
    "monthly_fee": "150000",
    "included_contacts": "800",
    "overage_rate": "180",
    "setup_fee": "0",
    "tax_category": "standard",
    "reopen_after_days": "7",
    "excluded_tags": "spam",
    "option_0_name": "土日祝対応",
    "option_0_pricing": "per_month",
    "option_0_price": "30000",
    "option_0_tax": "standard",
}


def _engagement(world: Any) -> Engagement:
    with unscoped("test"):
        return Engagement.objects.get(agency=world.agency, shop=world.tea)


def _issued_invoice(world: Any) -> Invoice:
    with acting(world.admin) as actor:
        services.billing_settings_save(
            actor=actor,
            workspace=world.agency,
            issuer_name="株式会社窓口サポート",
            registration_number=REGISTRATION,
        )
        contract = services.contract_create(
            actor=actor,
            engagement=_engagement(world),
            name="標準プラン",
            starts_on=dt.date(2026, 10, 1),
            terms=TermsInput(plan="fixed", monthly_fee=100_000, included_contacts=50),
        )
        draft = services.invoice_draft(contract=contract, month=dt.date(2026, 10, 1), actor=actor)
        assert draft is not None
        return services.invoice_issue(invoice=draft, actor=actor)


def test_an_admin_creates_a_contract_in_the_browser(english: Client, world: Any) -> None:
    english.force_login(world.admin)
    page = english.get(reverse("billing:contract_new"))
    assert page.status_code == 200 and 'data-testid="contract-form"' in page.text
    response = english.post(
        reverse("billing:contract_new"), {**CONTRACT_FORM, "engagement": _engagement(world).pk}
    )
    assert response.status_code == 302
    with unscoped("test"):
        contract = Contract.objects.get()
        terms = contract.terms.get()
        options = [(o.name, o.pricing, o.unit_price) for o in terms.options.all()]
    assert (contract.shop_id, contract.minimum_term_months, terms.monthly_fee) == (
        world.tea.id,
        6,
        150_000,
    )
    assert options == [("土日祝対応", "per_month", Decimal("30000.00"))]
    entry = AuditEntry.objects.get(action="billing.contract_created")
    assert (entry.actor_id, entry.shop_id) == (world.admin.id, world.tea.id)


def test_a_metered_plan_without_rates_is_refused_on_the_form(english: Client, world: Any) -> None:
    english.force_login(world.admin)
    response = english.post(
        reverse("billing:contract_new"),
        {**CONTRACT_FORM, "plan": "metered", "engagement": _engagement(world).pk},
    )
    assert response.status_code == 400
    assert "A metered plan needs a rate for at least one channel." in response.text


def test_the_settings_page_checks_the_registration_number(english: Client, world: Any) -> None:
    english.force_login(world.admin)
    data = {
        "issuer_name": "株式会社窓口サポート",
        "registration_number": "T4011001098994",
        "payment_terms_days": "30",
        "rounding": "down",
        "number_prefix": "INV",
    }
    response = english.post(reverse("billing:settings", args=[world.agency.pk]), data)
    assert response.status_code == 400
    assert "check digit" in response.text
    response = english.post(
        reverse("billing:settings", args=[world.agency.pk]),
        {**data, "registration_number": "Ｔ4011001098993"},
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="billing.settings_changed").count() == 1


def test_a_supervisor_reads_but_cannot_issue(english: Client, world: Any) -> None:
    invoice = _issued_invoice(world)
    english.force_login(world.supervisor)
    assert english.get(reverse("billing:home")).status_code == 200
    assert english.get(reverse("billing:invoice", args=[invoice.pk])).status_code == 200
    response = english.post(reverse("billing:invoice_credit", args=[invoice.pk]), {"reason": "x"})
    assert response.status_code == 403


def test_an_admin_issues_a_credit_note_from_the_page(english: Client, world: Any) -> None:
    invoice = _issued_invoice(world)
    english.force_login(world.admin)
    response = english.post(
        reverse("billing:invoice_credit", args=[invoice.pk]), {"reason": "金額の訂正"}
    )
    assert response.status_code == 302
    with unscoped("test"):
        note = Invoice.objects.get(kind="credit_note")
    assert (note.number, note.total, note.note) == ("INV-000002", -invoice.total, "金額の訂正")


@pytest.mark.parametrize(
    ("user", "status"),
    [("operator_tea", 404), ("client_tea", 404), ("client_ceramics", 404)],
)
def test_only_the_agencys_leads_open_the_agency_pages(
    english: Client, world: Any, user: str, status: int
) -> None:
    invoice = _issued_invoice(world)
    english.force_login(getattr(world, user))
    assert english.get(reverse("billing:home")).status_code == status
    assert english.get(reverse("billing:invoice", args=[invoice.pk])).status_code == status
    assert english.get(reverse("billing:invoice_pdf", args=[invoice.pk])).status_code == status
    assert (
        english.get(reverse("billing:invoices_csv", args=[world.agency.pk])).status_code == status
    )


def test_another_agencys_admin_gets_404(english: Client, world: Any) -> None:
    from madoguchi.core.testing import factories

    invoice = _issued_invoice(world)
    with unscoped("test"):
        other = factories.WorkspaceFactory(slug="other-agency", kind="agency")
        stranger = factories.MembershipFactory(workspace=other, role="admin").user
    english.force_login(stranger)
    assert english.get(reverse("billing:home")).status_code == 200
    assert english.get(reverse("billing:invoice", args=[invoice.pk])).status_code == 404
    response = english.post(reverse("billing:invoice_credit", args=[invoice.pk]), {"reason": "x"})
    assert response.status_code == 404


def test_the_client_sees_usage_and_downloads_its_invoice(english: Client, world: Any) -> None:
    invoice = _issued_invoice(world)
    with acting(world.admin) as actor:
        services.contract_terms_change(
            actor=actor,
            contract=invoice.contract,
            effective_from=dt.date(2026, 11, 1),
            terms=TermsInput(plan="fixed", monthly_fee=100_000, included_contacts=50),
        )
    from django.utils import timezone

    contacts(world.tea, 2, at=timezone.now())
    contacts(world.tea, 1, channel="web_form", at=timezone.now())
    english.force_login(world.client_tea)
    page = english.get(reverse("billing:shop", args=[world.tea.slug]))
    assert page.status_code == 200
    assert "3 billable contacts" in page.text and "50 included (6%)" in page.text
    # Channels by name, not by key.
    assert "<li>Email: 2</li>" in page.text and "<li>Web form: 1</li>" in page.text
    assert invoice.number in page.text
    pdf = english.get(reverse("billing:shop_invoice_pdf", args=[world.tea.slug, invoice.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = pypdfium2.PdfDocument(pdf.content)[0].get_textpage().get_text_range()
    assert "請求書" in text and invoice.number in text
    english.force_login(world.client_ceramics)
    assert english.get(reverse("billing:shop", args=[world.tea.slug])).status_code == 404
    url = reverse("billing:shop_invoice_pdf", args=[world.tea.slug, invoice.pk])
    assert english.get(url).status_code == 404
    english.force_login(world.operator_tea)
    assert english.get(reverse("billing:shop", args=[world.tea.slug])).status_code == 404


def test_the_accounting_csv_download_is_audited(english: Client, world: Any) -> None:
    invoice = _issued_invoice(world)
    english.force_login(world.admin)
    response = english.get(
        reverse("billing:invoices_csv", args=[world.agency.pk]) + "?encoding=cp932&month=2026-10"
    )
    assert response.status_code == 200
    assert invoice.number in response.content.decode("cp932")
    entry = AuditEntry.objects.get(action="billing.exported")
    assert entry.changes["rows"] == 1 and entry.changes["encoding"] == "cp932"


def test_the_simulator_compares_and_flags_options(english: Client, world: Any) -> None:
    english.force_login(world.client_tea)
    query = (
        "?need_email=1&need_weekends=1&quote_0_vendor=A社&quote_0_price=120000"
        "&quote_0_email=included&quote_0_weekends=option&quote_0_weekends_price=40000"
    )
    page = english.get(reverse("billing:simulator") + query)
    assert page.status_code == 200
    assert 'data-testid="chart"' in page.text
    assert 'data-testid="option-flag"' in page.text and "¥160,000" in page.text


@pytest.mark.parametrize("user", ["admin", "client_tea"])
def test_the_pages_read_japanese(client: Client, world: Any, user: str) -> None:
    invoice = _issued_invoice(world)
    client.force_login(getattr(world, user))
    urls = (
        [
            reverse("billing:home"),
            reverse("billing:settings", args=[world.agency.pk]),
            reverse("billing:contract_new"),
            reverse("billing:contract", args=[invoice.contract_id]),
            reverse("billing:invoice", args=[invoice.pk]),
        ]
        if user == "admin"
        else [reverse("billing:shop", args=[world.tea.slug])]
    ) + [reverse("billing:simulator")]
    for url in urls:
        with untranslated_msgids() as missing:
            response = client.get(url)
        assert response.status_code == 200, url
        # The menu carries other apps' labels; this app answers for its own strings.
        assert {msgid for msgid in missing if msgid in _OWN_SOURCES} == set(), url


_OWN_SOURCES = "\n".join(
    path.read_text(encoding="utf-8")
    for path in Path(__file__).resolve().parents[1].rglob("*")
    if path.suffix in {".py", ".html"} and "tests" not in path.parts
)
