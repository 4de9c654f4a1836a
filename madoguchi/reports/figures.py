"""The figures of a monthly client report, gathered from the analytics rollups (ADR 0022), the
CSAT answers and the knowledge app's selectors, as plain JSON-ready values.

A snapshot stores these figures with its HTML and PDF, so a version reads the same forever,
whatever happens to the tickets afterwards. Labels are taken in the active language (the
report is generated in Japanese).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from madoguchi.analytics import charts
from madoguchi.analytics import selectors as analytics
from madoguchi.analytics.topics import rising_topics
from madoguchi.csat.selectors import answers_between
from madoguchi.knowledge.selectors import deflection_summary, faq_candidates
from madoguchi.tenancy.models import Shop

Figures = dict[str, Any]
TOP_REASONS = 10
MAX_COMMENTS = 50


def month_start(shop: Shop, month: dt.date) -> dt.datetime:
    return dt.datetime.combine(month.replace(day=1), dt.time(0), ZoneInfo(shop.time_zone))


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    return (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def month_filters(shop: Shop, month: dt.date) -> analytics.Filters:
    """The analytics filters of the shop's calendar month, in the shop's time zone."""
    return analytics.Filters(
        shop_ids=(shop.id,),
        start=month_start(shop, month),
        end=month_start(shop, next_month(month)),
    )


def _text(value: Decimal | float | None) -> str | None:
    return None if value is None else str(value)


def _compared(
    current: Sequence[analytics.CountRow], previous: Sequence[analytics.CountRow]
) -> list[dict[str, Any]]:
    """Rows of this month (in its order), then those only last month had, with the change."""
    before = {row.key: row for row in previous}
    rows = []
    for row in current:
        was = before.pop(row.key).count if row.key in before else 0
        rows.append(
            {
                "key": row.key,
                "label": row.label,
                "count": row.count,
                "previous": was,
                "change": row.count - was,
            }
        )
    for row in before.values():
        rows.append(
            {
                "key": row.key,
                "label": row.label,
                "count": 0,
                "previous": row.count,
                "change": -row.count,
            }
        )
    return rows


def _data_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def _minutes(seconds: int | None) -> int | None:
    return None if seconds is None else seconds // 60


def report_figures(
    *,
    shop: Shop,
    month: dt.date,
    now: dt.datetime,
    with_operators: bool,
    points: Sequence[dict[str, str]],
) -> Figures:
    """Return every figure of the shop's report for `month` (its first day)."""
    filters = month_filters(shop, month)
    previous = month_filters(shop, previous_month(month))
    current_summary = analytics.summary(filters)
    previous_summary = analytics.summary(previous)
    durations = analytics.durations(filters)
    previous_durations = analytics.durations(previous, with_elapsed=False)
    categories = analytics.by_category(filters)
    days = analytics.by_day(filters)
    comments = [
        {
            "score": survey.score,
            "comment": survey.comment,
            "ticket": f"{shop.ticket_prefix}-{survey.ticket.number}",
            "answered_on": survey.answered_at.astimezone(filters.start.tzinfo).date().isoformat()
            if survey.answered_at
            else "",
        }
        for survey in answers_between(
            shop_id=shop.id, start=filters.start, end=filters.end
        ).exclude(comment="")[:MAX_COMMENTS]
    ]
    deflection = deflection_summary(shop_id=shop.id, start=filters.start, end=filters.end)
    volume_chart = charts.bar_chart(
        [row.label for row in days], [row.count for row in days], title=_("Tickets per day")
    )
    top_categories = categories[:TOP_REASONS]
    category_chart = charts.horizontal_bar_chart(
        [row.label for row in top_categories],
        [row.count for row in top_categories],
        title=_("Tickets by category"),
    )
    first_day = filters.start.date().isoformat()
    last_day = (filters.end - dt.timedelta(days=1)).date().isoformat()
    topics = [
        {
            "term": topic.term,
            "count": topic.count,
            "previous": topic.previous,
            # The analytics drill-down of the topic's tickets (the page links it).
            "drilldown": urlencode(
                {"shop": shop.slug, "date_from": first_day, "date_to": last_day, **topic.drilldown}
            ),
        }
        for topic in rising_topics(filters, limit=TOP_REASONS)
    ]
    return {
        "shop": shop.name,
        "month": f"{month:%Y-%m}",
        "first_day": first_day,
        "last_day": last_day,
        "previous_month": f"{previous_month(month):%Y-%m}",
        "time_zone": shop.time_zone,
        "generated_at": now.astimezone(filters.start.tzinfo).strftime("%Y-%m-%d %H:%M"),
        "volume": {
            "tickets": current_summary.tickets,
            "previous": previous_summary.tickets,
            "change": current_summary.tickets - previous_summary.tickets,
            "new_customers": current_summary.new_customers,
            "returning_customers": current_summary.returning_customers,
            "resolved": current_summary.resolved,
            "reopen_rate": _text(current_summary.reopen_rate),
            "one_touch_rate": _text(current_summary.one_touch_rate),
        },
        "channels": _compared(analytics.by_channel(filters), analytics.by_channel(previous)),
        "categories": _compared(top_categories, analytics.by_category(previous)[:TOP_REASONS]),
        "rising_topics": topics,
        "tags": _compared(
            analytics.by_tag(filters, limit=TOP_REASONS),
            analytics.by_tag(previous, limit=TOP_REASONS),
        ),
        "durations": [
            {
                "metric": figure.metric,
                "label": figure.label,
                "count": figure.count,
                "business_median": _minutes(figure.business_median),
                "business_p90": _minutes(figure.business_p90),
                "elapsed_median": _minutes(figure.elapsed_median),
                "elapsed_p90": _minutes(figure.elapsed_p90),
                "previous_business_median": _minutes(before.business_median),
            }
            for figure, before in zip(durations, previous_durations, strict=True)
        ],
        "attainment": [
            {
                "metric": row.metric,
                "label": row.label,
                "measured": row.measured,
                "met": row.met,
                "attainment": _text(row.attainment),
            }
            for row in analytics.attainment(filters, now)
        ],
        "csat": {
            "requested": current_summary.csat_requested,
            "answered": current_summary.csat_answered,
            "average": _text(current_summary.csat_average),
            "previous_average": _text(previous_summary.csat_average),
            "response_rate": _text(current_summary.csat_response_rate),
            "comments": comments,
        },
        "improvements": list(points),
        "faq_candidates": [
            {"question": candidate.question, "ticket_count": candidate.ticket_count}
            for candidate in faq_candidates(shop_id=shop.id)
        ],
        "deflection": {
            "shown": deflection.shown_visitors,
            "opened": deflection.opened_visitors,
            "deflected": deflection.deflected_visitors,
            "rate": None
            if deflection.deflection_rate is None
            else f"{deflection.deflection_rate * 100:.1f}",
        },
        "operators": (
            [{"label": row.label, "count": row.count} for row in analytics.by_operator(filters)]
            if with_operators
            else None
        ),
        "charts": {"volume": volume_chart, "categories": category_chart},
    }


def chart_data_urls(figures: Figures) -> dict[str, str]:
    """The report's charts as `data:` URLs, for the self-contained document (PDF)."""
    return {name: _data_url(svg) for name, svg in figures.get("charts", {}).items()}
