"""The report pages: leads generate, draft and send; the shop's client reads its reports (no
operator names unless allowed); operators get 403; another shop's report is a 404."""

import pytest
from django.core import mail
from django.urls import reverse

from madoguchi.analytics.models import AnalyticsSettings
from madoguchi.audit.models import AuditEntry
from madoguchi.knowledge.models import ImprovementItem
from madoguchi.reports.models import ClientReport, ImprovementPoint, ReportSettings
from madoguchi.reports.services import report_generate
from madoguchi.reports.tests.history import NOVEMBER, build_report_history
from madoguchi.tenancy.scoping import in_shop, unscoped


@pytest.fixture
def history(world):
    return build_report_history(world)


@pytest.fixture
def tea_report(world, history):
    with in_shop(world.tea.id):
        return report_generate(shop=world.tea, month=NOVEMBER, user=world.supervisor)


@pytest.fixture
def ceramics_report(world, history):
    with in_shop(world.ceramics.id):
        return report_generate(shop=world.ceramics, month=NOVEMBER, user=world.supervisor)


def _audit(action):
    with unscoped("test"):
        return list(AuditEntry.objects.filter(action=action).values_list("actor_id", "shop_id"))


def test_supervisor_drafts_generates_and_sends(english, world, history):
    english.force_login(world.supervisor)
    page = english.get(reverse("reports:shop_reports", args=["tea"]) + "?month=2026-11")
    assert page.status_code == 200
    html = page.content.decode()
    assert "配送遅延のお知らせをサイトに掲載" in html  # a suggestion
    assert "梱包材の見直し" not in html  # the other shop's
    with unscoped("test"):
        item = ImprovementItem.objects.get(shop=world.tea)
    accepted = english.post(
        reverse("reports:point_accept", args=["tea"]),
        {"month": "2026-11", "source": "improvement_item", "source_id": item.pk},
    )
    assert accepted.status_code == 302
    english.post(
        reverse("reports:point_add", args=["tea"]),
        {"month": "2026-11", "area": "product", "text": "商品ページに茶葉の量を明記"},
    )
    with unscoped("test"):
        assert sorted(ImprovementPoint.objects.values_list("area", flat=True)) == [
            "product",
            "shipping",
        ]
    made = english.post(reverse("reports:generate", args=["tea"]), {"month": "2026-11"})
    with unscoped("test"):
        report = ClientReport.objects.get(shop=world.tea)
    assert made.status_code == 302
    assert made["Location"] == reverse("reports:report", args=["tea", report.pk])
    assert [row["area"] for row in report.figures["improvements"]] == ["product", "shipping"]
    shown = english.get(made["Location"])
    assert shown.status_code == 200
    assert 'data-testid="volume-tickets">4<' in shown.content.decode()
    sent = english.post(reverse("reports:send", args=["tea", report.pk]))
    assert sent.status_code == 302
    assert [message.recipients() for message in mail.outbox] == [[world.client_tea.email]]
    assert len(_audit("report.sent")) == 1


def test_client_reads_its_reports_without_operator_names(english, world, tea_report):
    english.force_login(world.client_tea)
    listing = english.get(reverse("reports:shop_reports", args=["tea"]))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert html.count('data-testid="report-row"') == 1
    assert 'data-testid="report-draft"' not in html  # read-only
    page = english.get(reverse("reports:report", args=["tea", tea_report.pk]))
    assert page.status_code == 200
    assert 'data-testid="report-operators"' not in page.content.decode()
    assert 'data-testid="report-send"' not in page.content.decode()
    pdf = english.get(reverse("reports:pdf", args=["tea", tea_report.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    chart = english.get(reverse("reports:chart", args=["tea", tea_report.pk, "volume"]))
    assert chart.status_code == 200 and b"<svg" in chart.content
    assert _audit("report.viewed") == [(world.client_tea.id, world.tea.id)]
    assert _audit("report.downloaded") == [(world.client_tea.id, world.tea.id)]
    # The client reads, never writes.
    assert english.post(reverse("reports:send", args=["tea", tea_report.pk])).status_code == 403
    assert (
        english.post(reverse("reports:generate", args=["tea"]), {"month": "2026-11"}).status_code
        == 403
    )


def test_operator_names_when_both_settings_allow(english, world, history):
    with unscoped("test setup"):
        ReportSettings.objects.create(shop=world.tea, shows_operator_names=True)
        AnalyticsSettings.objects.create(shop=world.tea, shows_operator_names_to_client=True)
    with in_shop(world.tea.id):
        report = report_generate(shop=world.tea, month=NOVEMBER, user=world.supervisor)
    english.force_login(world.client_tea)
    html = english.get(reverse("reports:report", args=["tea", report.pk])).content.decode()
    assert 'data-testid="report-operators"' in html
    assert world.operator_tea.display_name in html


def test_operator_is_refused(english, world, tea_report):
    english.force_login(world.operator_tea)
    assert english.get(reverse("reports:shop_reports", args=["tea"])).status_code == 403
    assert english.get(reverse("reports:report", args=["tea", tea_report.pk])).status_code == 403
    assert english.get(reverse("reports:settings", args=["tea"])).status_code == 403


def test_other_shop_is_not_found(english, world, tea_report, ceramics_report):
    english.force_login(world.client_tea)
    assert english.get(reverse("reports:shop_reports", args=["ceramics"])).status_code == 404
    for name in ("reports:report", "reports:pdf"):
        assert english.get(reverse(name, args=["ceramics", ceramics_report.pk])).status_code == 404
        # Another shop's report under one's own shop is as missing.
        assert english.get(reverse(name, args=["tea", ceramics_report.pk])).status_code == 404
    english.force_login(world.supervisor)
    assert (
        english.get(reverse("reports:report", args=["tea", ceramics_report.pk])).status_code == 404
    )
    with unscoped("test"):
        other_item = ImprovementItem.objects.get(shop=world.ceramics)
    refused = english.post(
        reverse("reports:point_accept", args=["tea"]),
        {"month": "2026-11", "source": "improvement_item", "source_id": other_item.pk},
    )
    assert refused.status_code == 404
    with in_shop(world.ceramics.id):
        point = ImprovementPoint.objects.create(
            shop=world.ceramics, month=NOVEMBER, area="other", text="x"
        )
    assert english.post(reverse("reports:point_delete", args=["tea", point.pk])).status_code == 404
    assert _audit("report.viewed") == []


def test_settings_page_saves_and_audits(english, world):
    english.force_login(world.supervisor)
    assert english.get(reverse("reports:settings", args=["tea"])).status_code == 200
    response = english.post(
        reverse("reports:settings", args=["tea"]),
        {"is_enabled": "on", "extra_recipients": "keiri@yamada-en.example"},
    )
    assert response.status_code == 302
    with unscoped("test"):
        saved = ReportSettings.objects.get(shop=world.tea)
    assert (saved.is_enabled, saved.shows_operator_names, saved.extra_recipient_list) == (
        True,
        False,
        ["keiri@yamada-en.example"],
    )
    assert _audit("report.settings_changed") == [(world.supervisor.id, world.tea.id)]
    bad = english.post(
        reverse("reports:settings", args=["tea"]), {"extra_recipients": "not an address"}
    )
    assert bad.status_code == 200
    assert "is not an email address" in bad.content.decode()
