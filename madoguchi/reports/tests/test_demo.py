"""The demo comes with last month's report for the first shop, and reports on for it."""

import pytest

from madoguchi.demo.seed import seed_demo
from madoguchi.reports.models import ClientReport, ReportSettings
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db


def test_the_demo_seed_makes_last_months_report():
    seed_demo()
    seed_demo()  # idempotent: no second version
    with unscoped("test: the demo spans shops"):
        reports = list(ClientReport.objects.select_related("shop"))
        assert [(report.shop.slug, report.version) for report in reports] == [("tea", 1)]
        assert ReportSettings.objects.get(shop__slug="tea").is_enabled
    figures = reports[0].figures
    assert figures["volume"]["tickets"] > 0
    assert figures["improvements"][0]["area"] == "product"
    assert len(figures["improvements"]) == 2  # written, and accepted from the improvement list
    assert bytes(reports[0].pdf).startswith(b"%PDF")
