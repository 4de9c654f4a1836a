"""The analytics pages: the dashboard, the tickets behind a figure, its charts, the settings.

Who reads a shop's analytics: its supervisors and admins, and its client (owner) users;
operators do not (403). Without `?shop=` the dashboard covers every shop the reader may read
(an agency's leads: every shop the agency works). A shop the reader cannot see is a 404. Client
users see operator names only where the shop's settings allow it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from madoguchi.analytics import charts, selectors
from madoguchi.analytics.dashboard_extras import dashboard_extras
from madoguchi.analytics.forms import MAX_PERIOD_DAYS, AnalyticsSettingsForm, DashboardFilterForm
from madoguchi.analytics.handle_time import clock
from madoguchi.analytics.services import analytics_settings_for, analytics_settings_save
from madoguchi.analytics.topics import rising_topics_context
from madoguchi.conversations.models import Category
from madoguchi.core.errors import PermissionDeniedError
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Membership, Shop

DEFAULT_DAYS = 30
CHARTS = ("volume", "channels", "categories", "heatmap")
WEEKDAYS = (
    gettext_lazy("Mon"),
    gettext_lazy("Tue"),
    gettext_lazy("Wed"),
    gettext_lazy("Thu"),
    gettext_lazy("Fri"),
    gettext_lazy("Sat"),
    gettext_lazy("Sun"),
)


def may_read_analytics(actor: Actor, shop_id: int) -> bool:
    """Whether the actor reads the shop's analytics: its leads and its client users."""
    return actor.is_lead_for(shop_id) or actor.role_for(shop_id) == Membership.Role.CLIENT


def may_read_any_analytics(actor: Actor) -> bool:
    return any(may_read_analytics(actor, shop_id) for shop_id in actor.shop_ids)


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _shows_operators(actor: Actor, shop_ids: tuple[int, ...]) -> bool:
    for shop_id in shop_ids:
        if actor.is_lead_for(shop_id):
            continue
        if not analytics_settings_for(shop_id=shop_id).shows_operator_names_to_client:
            return False
    return True


@dataclass(frozen=True)
class Request:
    """The parsed dashboard query: the shops, the filters and what the reader may see."""

    shops: list[Shop]
    shop: Shop | None
    filters: selectors.Filters
    form: DashboardFilterForm
    with_operators: bool
    zone: ZoneInfo
    date_from: dt.date
    date_to: dt.date

    def query(self, **changes: object) -> str:
        """The query string of these filters with `changes` (None drops a key)."""
        values: dict[str, object] = {
            "shop": self.shop.slug if self.shop else None,
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "channel": self.filters.channel or None,
            "category": self.filters.category_id,
            "operator": self.filters.assignee_id,
        }
        values.update(changes)
        return urlencode({key: value for key, value in values.items() if value not in (None, "")})


def _parse(request: HttpRequest, params: QueryDict, *, shop_slug: str | None = None) -> Request:
    actor = _actor(request)
    if shop_slug is None:
        shop_slug = params.get("shop") or None
    readable = [
        shop
        for shop in Shop.objects.filter(id__in=actor.shop_ids, archived_at__isnull=True).order_by(
            "name"
        )
        if may_read_analytics(actor, shop.id)
    ]
    shop = None
    if shop_slug:
        shop = access_shop(actor=actor, slug=shop_slug)
        if not may_read_analytics(actor, shop.id):
            raise PermissionDeniedError("Only the shop's supervisors and its client may read this.")
        chosen = [shop]
    else:
        if not readable:
            raise PermissionDeniedError("Only supervisors and client users read analytics.")
        chosen = readable
    shop_ids = tuple(sorted(each.id for each in chosen))
    with_operators = _shows_operators(actor, shop_ids)
    categories = (
        list(Category.objects.filter(shop_id=shop.id).values_list("id", "name"))
        if shop is not None
        else []
    )
    zone = ZoneInfo(chosen[0].time_zone or "Asia/Tokyo")
    date_from, date_to = _period(params, zone)
    start = dt.datetime.combine(date_from, dt.time(0), zone)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), zone)
    operators = (
        selectors.operator_choices(selectors.Filters(shop_ids=shop_ids, start=start, end=end))
        if with_operators
        else None
    )
    form = DashboardFilterForm(
        params,
        shop_choices=[(each.slug, each.name) for each in readable],
        category_choices=categories,
        operator_choices=operators,
    )
    cleaned = form.cleaned_data if form.is_valid() else {}
    filters = selectors.Filters(
        shop_ids=shop_ids,
        start=start,
        end=end,
        channel=cleaned.get("channel") or "",
        category_id=cleaned.get("category") if shop is not None else None,
        assignee_id=cleaned.get("operator") if with_operators else None,
    )
    return Request(
        shops=readable,
        shop=shop,
        filters=filters,
        form=form,
        with_operators=with_operators,
        zone=zone,
        date_from=date_from,
        date_to=date_to,
    )


def _period(params: QueryDict, zone: ZoneInfo) -> tuple[dt.date, dt.date]:
    """Return the period's first and last day: the query's when valid, else the last 30 days."""
    today = timezone.localtime(timezone.now(), zone).date()

    def day(name: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(params.get(name, ""))
        except ValueError:
            return None

    date_to = day("date_to") or today
    date_from = day("date_from") or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to or (date_to - date_from).days >= MAX_PERIOD_DAYS:
        date_to = today
        date_from = today - dt.timedelta(days=DEFAULT_DAYS - 1)
    return date_from, date_to


def hours_minutes(seconds: int | None) -> str:
    """Return a duration as h:mm (rounded down); "—" for none."""
    if seconds is None:
        return "—"
    minutes = seconds // 60
    return f"{minutes // 60}:{minutes % 60:02d}"


def _tickets_url(parsed: Request, **changes: object) -> str:
    return f"{reverse('analytics:tickets')}?{parsed.query(**changes)}"


def _render_dashboard(request: HttpRequest, parsed: Request) -> HttpResponse:
    now = timezone.now()
    board = selectors.dashboard(parsed.filters, now=now, with_operators=parsed.with_operators)
    previous = board.previous_summary
    current = board.summary
    durations = [
        {
            "figure": figure,
            "business_median": hours_minutes(figure.business_median),
            "business_p90": hours_minutes(figure.business_p90),
            "elapsed_median": hours_minutes(figure.elapsed_median),
            "elapsed_p90": hours_minutes(figure.elapsed_p90),
            "previous_median": hours_minutes(before.business_median),
            "url": _tickets_url(parsed, figure=f"duration:{figure.metric}"),
        }
        for figure, before in zip(board.durations, board.previous_durations, strict=True)
    ]
    summary_rows = [
        (_("Tickets"), current.tickets, previous.tickets, "tickets"),
        (_("New customers"), current.new_customers, previous.new_customers, "new_customer"),
        (
            _("Returning customers"),
            current.returning_customers,
            previous.returning_customers,
            "returning_customer",
        ),
        (_("Resolved"), current.resolved, previous.resolved, "resolved"),
        (_("Reopened"), current.reopened, previous.reopened, "reopened"),
        (_("One-touch resolutions"), current.one_touch, previous.one_touch, "one_touch"),
        (_("CSAT answers"), current.csat_answered, previous.csat_answered, "csat_answered"),
    ]
    rates = [
        (_("Reopen rate"), current.reopen_rate, previous.reopen_rate, "%", "reopened"),
        (_("One-touch rate"), current.one_touch_rate, previous.one_touch_rate, "%", "one_touch"),
        (_("CSAT average (1-5)"), current.csat_average, previous.csat_average, "", "csat_answered"),
        (
            _("CSAT response rate"),
            current.csat_response_rate,
            previous.csat_response_rate,
            "%",
            "csat_answered",
        ),
    ]
    weekday_labels = [str(name) for name in WEEKDAYS]
    context = {
        "parsed": parsed,
        "shop": parsed.shop,
        "form": parsed.form,
        "board": board,
        "summary_rows": [
            (label, value, before, _tickets_url(parsed, figure=figure))
            for label, value, before, figure in summary_rows
        ],
        "rates": [
            (label, value, before, unit, _tickets_url(parsed, figure=figure))
            for label, value, before, unit, figure in rates
        ],
        "durations": durations,
        "channels": [
            (row, _tickets_url(parsed, channel=row.key, figure="tickets"))
            for row in board.by_channel
        ],
        "categories": [
            (
                row,
                _tickets_url(parsed, category=row.key or None, figure="tickets")
                if parsed.shop and row.key
                else "",
            )
            for row in board.by_category
        ],
        "tags": [(row, _tickets_url(parsed, figure=f"tag:{row.key}")) for row in board.by_tag],
        "operators": [
            (
                row,
                _tickets_url(parsed, operator=row.key or None, figure="tickets") if row.key else "",
            )
            for row in board.by_operator
        ],
        "days": [(row, _tickets_url(parsed, figure=f"day:{row.key}")) for row in board.by_day],
        "heatmap": [
            (
                weekday_labels[weekday],
                [
                    (count, _tickets_url(parsed, figure=f"heat:{weekday}:{hour}"))
                    for hour, count in enumerate(counts)
                ],
            )
            for weekday, counts in enumerate(board.heatmap)
        ],
        "hours": range(24),
        "backlog": [
            (row, _tickets_url(parsed, figure=f"backlog:{row.key}")) for row in board.backlog
        ],
        "chart_query": parsed.query(),
        "previous_from": board.filters.previous().start.astimezone(parsed.zone).date(),
        "previous_to": (board.filters.start - dt.timedelta(days=1)).astimezone(parsed.zone).date(),
        "is_lead": parsed.shop is not None and _actor(request).is_lead_for(parsed.shop.id),
        "time_zone": parsed.zone.key,
    }
    context.update(
        dashboard_extras(
            actor=_actor(request),
            shops=parsed.shops,
            filters=parsed.filters,
            with_operators=parsed.with_operators,
            tickets_url=lambda **changes: _tickets_url(parsed, **changes),
        )
    )
    # One shop at a time: across 20 shops the day-term sums cost more than the whole dashboard.
    context["rising_topics"] = None
    if len(parsed.filters.shop_ids) == 1:
        context.update(
            rising_topics_context(parsed.filters, lambda **changes: _tickets_url(parsed, **changes))
        )
    return render(request, "analytics/dashboard.html", context)


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Show the dashboard over every shop the reader may read, or the one in `?shop=`."""
    return _render_dashboard(request, _parse(request, request.GET))


@login_required
@require_GET
def shop_dashboard(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Show one shop's dashboard."""
    return _render_dashboard(request, _parse(request, request.GET, shop_slug=shop_slug))


@login_required
@require_GET
def tickets(request: HttpRequest) -> HttpResponse:
    """List the tickets behind a figure of the dashboard (`figure` names it)."""
    parsed = _parse(request, request.GET)
    figure = request.GET.get("figure", "tickets")
    try:
        rows, total = selectors.drilldown_tickets(
            parsed.filters, figure=figure, now=timezone.now(), with_operators=parsed.with_operators
        )
    except ValueError:
        figure = "tickets"
        rows, total = selectors.drilldown_tickets(
            parsed.filters, figure=figure, now=timezone.now(), with_operators=parsed.with_operators
        )
    return render(
        request,
        "analytics/tickets.html",
        {
            "parsed": parsed,
            "shop": parsed.shop,
            "figure": figure,
            "rows": [
                (
                    row,
                    clock(row.business_seconds)
                    if figure.startswith("handle")
                    else hours_minutes(row.business_seconds),
                )
                for row in rows
            ],
            "total": total,
            "limit": selectors.DRILLDOWN_LIMIT,
            "dashboard_url": f"{reverse('analytics:dashboard')}?{parsed.query()}",
            "with_operators": parsed.with_operators,
        },
    )


@login_required
@require_GET
def chart(request: HttpRequest, name: str) -> HttpResponse:
    """Return one chart of the dashboard as SVG (the page shows the same numbers as tables)."""
    parsed = _parse(request, request.GET)
    filters = parsed.filters
    if name == "volume":
        rows = selectors.by_day(filters)
        svg = charts.bar_chart(
            [row.label for row in rows], [row.count for row in rows], title=_("Tickets per day")
        )
    elif name == "channels":
        rows = selectors.by_channel(filters)
        svg = charts.horizontal_bar_chart(
            [row.label for row in rows], [row.count for row in rows], title=_("Tickets by channel")
        )
    elif name == "categories":
        rows = selectors.by_category(filters)[:15]
        svg = charts.horizontal_bar_chart(
            [row.label for row in rows],
            [row.count for row in rows],
            title=_("Tickets by category"),
        )
    elif name == "heatmap":
        svg = charts.heatmap_chart(
            selectors.heatmap(filters),
            weekday_labels=[str(day) for day in WEEKDAYS],
            title=_("Tickets by weekday and hour"),
        )
    else:
        return HttpResponse(status=404)
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    # matplotlib styles its elements inline; the image may do that and nothing else.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response._csp_exempt = True  # type: ignore[attr-defined]
    return response


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Let the shop's leads decide whether its client users see operator names."""
    actor = _actor(request)
    shop = access_shop(actor=actor, slug=shop_slug)
    if not actor.is_lead_for(shop.id):
        raise PermissionDeniedError("Only the shop's supervisors and admins may change this.")
    current = analytics_settings_for(shop_id=shop.id)
    if request.method == "POST":
        form = AnalyticsSettingsForm(request.POST)
        if form.is_valid():
            assert actor.user is not None
            analytics_settings_save(
                user=actor.user,
                shop=shop,
                shows_operator_names_to_client=form.cleaned_data["shows_operator_names_to_client"],
            )
            messages.success(request, _("Analytics settings saved."))
            return redirect("analytics:settings", shop_slug=shop.slug)
    else:
        form = AnalyticsSettingsForm(
            initial={"shows_operator_names_to_client": current.shows_operator_names_to_client}
        )
    return render(request, "analytics/settings.html", {"shop": shop, "form": form})
