"""The monthly report over the hand-made November history: every figure exact, versions kept,
suggestions accepted once, the PDF in Japanese."""

import datetime as dt

import pypdfium2
import pytest

from madoguchi.analytics.models import AnalyticsSettings
from madoguchi.audit.models import AuditEntry
from madoguchi.core.errors import ConflictError, NotFoundError
from madoguchi.knowledge.models import FaqCandidate, ImprovementItem
from madoguchi.reports import services
from madoguchi.reports.models import ClientReport, ImprovementPoint, ReportSettings
from madoguchi.reports.tests.history import NOVEMBER, NOW, build_report_history
from madoguchi.tenancy.scoping import in_shop, unscoped


@pytest.fixture
def history(world):
    return build_report_history(world)


def _generate(world, **kwargs):
    with in_shop(world.tea.id):
        return services.report_generate(
            shop=world.tea, month=NOVEMBER, user=world.supervisor, now=NOW, **kwargs
        )


def test_every_figure_of_the_november_report(world, history):
    with in_shop(world.tea.id):
        services.improvement_point_add(
            user=world.supervisor,
            shop=world.tea,
            month=NOVEMBER,
            area=ImprovementPoint.Area.PRODUCT,
            text="茶葉の賞味期限を商品ページに明記する",
        )
    report = _generate(world)
    figures = report.figures
    assert (report.version, report.month, report.created_by) == (1, NOVEMBER, world.supervisor)
    assert figures["month"] == "2026-11"
    assert (figures["first_day"], figures["last_day"]) == ("2026-11-01", "2026-11-30")
    assert figures["volume"] == {
        "tickets": 4,
        "previous": 1,
        "change": 3,
        "new_customers": 3,
        "returning_customers": 1,
        "resolved": 3,
        "reopen_rate": "33.3",
        "one_touch_rate": "33.3",
    }
    assert [(row["key"], row["count"], row["previous"]) for row in figures["channels"]] == [
        ("chat", 1, 0),
        ("email", 1, 1),
        ("phone", 1, 0),
        ("web_form", 1, 0),
    ]
    # October's one ticket had no category: the unclassified row keeps level.
    assert [
        (row["label"], row["count"], row["previous"], row["change"])
        for row in figures["categories"]
    ] == [("配送", 2, 0, 2), ("返品", 1, 0, 1), ("（カテゴリなし）", 1, 1, 0)]
    assert [(row["label"], row["count"], row["previous"]) for row in figures["tags"]] == [
        ("遅延", 2, 0),
        ("破損", 1, 0),
    ]
    # Minutes of business time (median, p90), elapsed median; October measured nothing.
    assert [
        (
            row["metric"],
            row["count"],
            row["business_median"],
            row["business_p90"],
            row["elapsed_median"],
            row["previous_business_median"],
        )
        for row in figures["durations"]
    ] == [
        ("first_response", 4, 10, 60, 10, None),
        ("next_response", 2, 30, 45, 30, None),
        ("resolution", 3, 180, 460, 1480, None),
    ]
    assert [
        (row["metric"], row["measured"], row["met"], row["attainment"])
        for row in figures["attainment"]
    ] == [
        ("first_response", 4, 4, "100.0"),
        ("next_response", 2, 2, "100.0"),
        ("resolution", 3, 2, "66.7"),
    ]
    assert figures["csat"] == {
        "requested": 3,
        "answered": 2,
        "average": "4.50",
        "previous_average": None,
        "response_rate": "66.7",
        "comments": [
            {
                "score": 5,
                "comment": "丁寧な対応でした",
                "ticket": f"TEA-{history.t1.number}",
                "answered_on": "2026-11-02",
            }
        ],
    }
    assert figures["improvements"] == [
        {"area": "product", "area_label": "商品", "text": "茶葉の賞味期限を商品ページに明記する"}
    ]
    assert figures["faq_candidates"] == [
        {"question": "届くまで何日かかりますか", "ticket_count": 3}
    ]
    assert figures["deflection"] == {"shown": 0, "opened": 0, "deflected": 0, "rate": None}
    assert figures["operators"] is None  # neither setting allows operator names
    assert set(figures["charts"]) == {"volume", "categories"}
    assert figures["charts"]["volume"].lstrip().startswith("<?xml")
    assert bytes(report.pdf).startswith(b"%PDF")
    assert "data:image/svg+xml;base64," in report.html
    with unscoped("test"):
        entry = AuditEntry.objects.get(action="report.generated")
    assert (entry.shop_id, entry.changes) == (world.tea.id, {"month": "2026-11", "version": 1})


def test_operator_names_need_both_settings(world, history):
    with unscoped("test setup"):
        ReportSettings.objects.create(shop=world.tea, shows_operator_names=True)
    assert _generate(world).figures["operators"] is None
    with unscoped("test setup"):
        AnalyticsSettings.objects.create(shop=world.tea, shows_operator_names_to_client=True)
    operators = _generate(world).figures["operators"]
    assert operators == [
        {"label": world.operator_tea.display_name or world.operator_tea.email, "count": 2},
        {"label": "（未割り当て）", "count": 2},
    ]


def test_each_generation_is_a_new_version_and_old_ones_stay(world, history):
    first = _generate(world)
    with in_shop(world.tea.id):
        services.improvement_point_add(
            user=world.supervisor,
            shop=world.tea,
            month=NOVEMBER,
            area=ImprovementPoint.Area.WEBSITE,
            text="送料の説明をトップページに",
        )
    second = _generate(world)
    assert (first.version, second.version) == (1, 2)
    with in_shop(world.tea.id):
        kept = ClientReport.objects.get(pk=first.pk)
    assert kept.figures["improvements"] == []
    assert bytes(kept.pdf) == bytes(first.pdf)
    assert second.figures["improvements"][0]["text"] == "送料の説明をトップページに"


def test_the_pdf_is_japanese_text_on_a_drawn_page(world, history):
    report = _generate(world)
    document = pypdfium2.PdfDocument(bytes(report.pdf))
    page = document[0]
    text = page.get_textpage().get_text_range().replace("\r\n", "\n")
    assert "月次サポートレポート" in text
    assert "山田園 茶舗" in text
    assert "問い合わせ件数" in text
    image = page.render(scale=1).to_pil().convert("L")
    darkest, lightest = image.getextrema()
    assert lightest == 255 and darkest < 80  # ink on white: not a blank page
    all_text = "".join(
        document[index].get_textpage().get_text_range() for index in range(len(document))
    )
    assert "丁寧な対応でした" in all_text
    assert "商品・ウェブサイト・発送対応の改善点" in all_text


def test_accepting_suggestions(world, history):
    with in_shop(world.tea.id):
        item = ImprovementItem.objects.get(shop=world.tea)
        candidate = FaqCandidate.objects.get(shop=world.tea)
        point = services.improvement_point_accept(
            user=world.supervisor,
            shop=world.tea,
            month=NOVEMBER,
            source=ImprovementPoint.Source.IMPROVEMENT_ITEM,
            source_id=item.pk,
        )
        assert (point.area, point.text) == ("shipping", "配送遅延のお知らせをサイトに掲載")
        faq = services.improvement_point_accept(
            user=world.supervisor,
            shop=world.tea,
            month=NOVEMBER,
            source=ImprovementPoint.Source.FAQ_CANDIDATE,
            source_id=candidate.pk,
        )
        assert faq.area == "website"
        assert "届くまで何日かかりますか" in faq.text
        with pytest.raises(ConflictError):
            services.improvement_point_accept(
                user=world.supervisor,
                shop=world.tea,
                month=NOVEMBER,
                source=ImprovementPoint.Source.IMPROVEMENT_ITEM,
                source_id=item.pk,
            )
    with unscoped("test"):
        other_item = ImprovementItem.objects.get(shop=world.ceramics)
    with in_shop(world.tea.id), pytest.raises(NotFoundError):
        services.improvement_point_accept(
            user=world.supervisor,
            shop=world.tea,
            month=NOVEMBER,
            source=ImprovementPoint.Source.IMPROVEMENT_ITEM,
            source_id=other_item.pk,
        )
    # Another month may take the same suggestion again.
    with in_shop(world.tea.id):
        services.improvement_point_accept(
            user=world.supervisor,
            shop=world.tea,
            month=dt.date(2026, 12, 1),
            source=ImprovementPoint.Source.IMPROVEMENT_ITEM,
            source_id=item.pk,
        )
        assert ImprovementPoint.objects.filter(shop=world.tea).count() == 3


def test_settings_are_audited(world):
    with in_shop(world.tea.id):
        services.report_settings_save(
            user=world.admin,
            shop=world.tea,
            is_enabled=True,
            shows_operator_names=False,
            extra_recipients=["keiri@yamada-en.example"],
        )
        services.report_settings_save(
            user=world.admin,
            shop=world.tea,
            is_enabled=True,
            shows_operator_names=False,
            extra_recipients=["keiri@yamada-en.example"],
        )
    with unscoped("test"):
        entries = list(AuditEntry.objects.filter(action="report.settings_changed"))
    assert len(entries) == 1  # the unchanged second save is not an entry
    assert entries[0].changes == {
        "is_enabled": [False, True],
        "extra_recipients": ["", "keiri@yamada-en.example"],
    }
    with in_shop(world.tea.id):
        recipients = services.client_recipients(shop=world.tea)
    assert recipients == [world.client_tea.email, "keiri@yamada-en.example"]


def test_rising_topics_of_the_month(world):
    from madoguchi.analytics.services import analytics_apply_new_events
    from madoguchi.analytics.tests.history import at, event
    from madoguchi.core.testing import factories
    from madoguchi.reports.figures import report_figures

    with unscoped("test setup"):
        for day in (3, 10, 17):
            created = at(11, day, 10)
            made = factories.TicketFactory(
                shop=world.tea, created_at=created, subject="賞味期限", channel="email"
            )
            factories.MessageFactory(ticket=made, body_text="賞味期限", created_at=created)
            event(made, "ticket.created", created, channel="email", subject="賞味期限", via="t")
            event(made, "message.received", created, message_id=0, channel="email")
    analytics_apply_new_events()
    with in_shop(world.tea.id):
        figures = report_figures(
            shop=world.tea, month=NOVEMBER, now=NOW, with_operators=False, points=[]
        )
    assert [(row["term"], row["count"], row["previous"]) for row in figures["rising_topics"]] == [
        ("味期", 3, 0),
        ("期限", 3, 0),
        ("賞味", 3, 0),
    ]
    assert figures["rising_topics"][0]["drilldown"] == (
        "shop=tea&date_from=2026-11-01&date_to=2026-11-30&figure=topic%3A%E5%91%B3%E6%9C%9F"
    )
