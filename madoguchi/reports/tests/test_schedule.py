"""The scheduled run: on the 1st in the shop's time zone, last month's report for every shop with
reports on, mailed (Japanese, link and PDF) to that shop's client users only; a re-run the same
day makes no second version and no second mail."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from madoguchi.core.scheduler import periodic_jobs
from madoguchi.reports.models import ClientReport, ReportSettings
from madoguchi.reports.services import due_month, monthly_reports_run
from madoguchi.reports.tests.history import NOVEMBER, build_report_history
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import unscoped

TOKYO = ZoneInfo("Asia/Tokyo")
FIRST_OF_DECEMBER = dt.datetime(2026, 12, 1, 6, 0, tzinfo=TOKYO)


@pytest.fixture
def history(world):
    made = build_report_history(world)
    with unscoped("test setup"):
        ReportSettings.objects.create(shop=world.tea, is_enabled=True)
        ReportSettings.objects.create(shop=world.ceramics, is_enabled=False)
    return made


def _reports():
    with unscoped("test"):
        return list(
            ClientReport.objects.order_by("id").values_list("shop__slug", "month", "version")
        )


def test_the_job_is_registered_hourly():
    jobs = {job.name: job for job in periodic_jobs()}
    assert jobs["monthly_reports"].interval == dt.timedelta(hours=1)
    assert jobs["monthly_reports"].task_path.endswith("monthly_reports_task")


def test_due_month_follows_the_shops_time_zone(world):
    tokyo = Shop(time_zone="Asia/Tokyo")
    new_york = Shop(time_zone="America/New_York")
    # 1 December 06:00 in Tokyo is still 30 November in New York.
    assert due_month(tokyo, FIRST_OF_DECEMBER) == NOVEMBER
    assert due_month(new_york, FIRST_OF_DECEMBER) is None
    assert due_month(tokyo, dt.datetime(2026, 11, 30, 23, 0, tzinfo=TOKYO)) is None
    assert due_month(tokyo, dt.datetime(2026, 12, 3, 23, 0, tzinfo=TOKYO)) == NOVEMBER
    assert due_month(tokyo, dt.datetime(2026, 12, 4, 0, 0, tzinfo=TOKYO)) is None
    assert due_month(tokyo, dt.datetime(2027, 1, 1, 0, 0, tzinfo=TOKYO)) == dt.date(2026, 12, 1)


def test_the_1st_makes_and_mails_last_months_report_once(world, history):
    made = monthly_reports_run(now=FIRST_OF_DECEMBER)
    assert len(made) == 1
    assert _reports() == [("tea", NOVEMBER, 1)]
    with unscoped("test"):
        report = ClientReport.objects.get()
    assert report.is_scheduled and report.created_by is None and report.sent_at is not None
    assert report.figures["volume"]["tickets"] == 4
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    # The tea shop's client only: not the other shop's client, not the agency's staff.
    assert message.recipients() == [world.client_tea.email]
    assert message.subject == "【月次サポートレポート】山田園 茶舗 2026-11"
    assert "月次サポートレポートができました" in message.body
    assert f"/reports/shops/tea/{report.pk}/" in message.body
    (name, content, mimetype) = message.attachments[0]
    assert (name, mimetype) == ("report-tea-2026-11-v1.pdf", "application/pdf")
    assert content.startswith(b"%PDF")

    # The same day again, and the next day: nothing new.
    assert monthly_reports_run(now=FIRST_OF_DECEMBER + dt.timedelta(hours=1)) == []
    assert monthly_reports_run(now=FIRST_OF_DECEMBER + dt.timedelta(days=1)) == []
    assert _reports() == [("tea", NOVEMBER, 1)]
    assert len(mail.outbox) == 1


def test_a_manual_version_does_not_stop_the_scheduled_one(world, history):
    from madoguchi.reports.services import report_generate
    from madoguchi.tenancy.scoping import in_shop

    with in_shop(world.tea.id):
        report_generate(shop=world.tea, month=NOVEMBER, user=world.supervisor)
    monthly_reports_run(now=FIRST_OF_DECEMBER)
    assert _reports() == [("tea", NOVEMBER, 1), ("tea", NOVEMBER, 2)]
    assert len(mail.outbox) == 1


def test_no_report_mid_month_or_for_shops_without_reports(world, history):
    assert monthly_reports_run(now=dt.datetime(2026, 12, 15, 9, 0, tzinfo=TOKYO)) == []
    with unscoped("test setup"):
        ReportSettings.objects.filter(shop=world.tea).update(is_enabled=False)
    assert monthly_reports_run(now=FIRST_OF_DECEMBER) == []
    assert _reports() == []
    assert mail.outbox == []
