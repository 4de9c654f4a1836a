"""The monthly report pages: a shop's versions (its leads generate, edit, accept suggestions and
send; its client users read), one version as a page, its PDF and its charts, the settings.

Operators of the shop get 403; anyone outside the shop gets 404, as for analytics (ADR 0022).
Reading a version and downloading its PDF are audited.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.accounts.models import User
from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.client_address import client_address
from madoguchi.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from madoguchi.core.service_forms import error_text
from madoguchi.reports import selectors, services
from madoguchi.reports.forms import AcceptForm, GenerateForm, PointForm, ReportSettingsForm
from madoguchi.reports.models import ClientReport
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Shop


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _user(actor: Actor) -> User:
    assert actor.user is not None
    return actor.user


def _readable_shop(request: HttpRequest, shop_slug: str) -> Shop:
    actor = _actor(request)
    shop = access_shop(actor=actor, slug=shop_slug)
    if not selectors.may_read_reports(actor, shop.id):
        raise PermissionDeniedError("Only the shop's supervisors and its client read its reports.")
    return shop


def _managed_shop(request: HttpRequest, shop_slug: str) -> Shop:
    actor = _actor(request)
    shop = access_shop(actor=actor, slug=shop_slug)
    if not selectors.may_manage_reports(actor, shop.id):
        raise PermissionDeniedError("Only the shop's supervisors and admins manage its reports.")
    return shop


def _last_month(shop: Shop) -> dt.date:
    today = timezone.localtime(timezone.now(), ZoneInfo(shop.time_zone)).date()
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _month_param(value: str, shop: Shop) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{value}-01")
    except ValueError:
        return _last_month(shop)


def _list_url(shop: Shop, month: dt.date) -> str:
    return f"{reverse('reports:shop_reports', args=[shop.slug])}?month={month:%Y-%m}"


@login_required
@require_GET
def shop_reports(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """List the shop's report versions; leads also draft the month's improvement points."""
    shop = _readable_shop(request, shop_slug)
    actor = _actor(request)
    month = _month_param(request.GET.get("month", ""), shop)
    is_lead = selectors.may_manage_reports(actor, shop.id)
    context = {
        "shop": shop,
        "reports": list(selectors.shop_reports(shop_id=shop.id)),
        "is_lead": is_lead,
        "month": month,
    }
    if is_lead:
        context.update(
            {
                "generate_form": GenerateForm(initial={"month": month}),
                "point_form": PointForm(initial={"month": month}),
                "points": selectors.month_points(shop_id=shop.id, month=month),
                "suggestions": selectors.suggestions(shop_id=shop.id, month=month),
                "settings": services.report_settings_for(shop_id=shop.id),
            }
        )
    return render(request, "reports/shop_reports.html", context)


@login_required
@require_POST
def generate(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Make a new version of the month's report now."""
    shop = _managed_shop(request, shop_slug)
    form = GenerateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a month."))
        return redirect("reports:shop_reports", shop_slug=shop.slug)
    month: dt.date = form.cleaned_data["month"]
    try:
        report = services.report_generate(shop=shop, month=month, user=_user(_actor(request)))
    except ApplicationError as error:
        messages.error(request, error_text(error))
        return redirect(_list_url(shop, month))
    messages.success(
        request, _("Version %(version)s of the report was made.") % {"version": report.version}
    )
    return redirect("reports:report", shop_slug=shop.slug, report_id=report.pk)


@login_required
@require_POST
def point_add(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Write an improvement point into the month's report."""
    shop = _managed_shop(request, shop_slug)
    form = PointForm(request.POST)
    month = _month_param(request.POST.get("month", ""), shop)
    if form.is_valid():
        try:
            services.improvement_point_add(
                user=_user(_actor(request)),
                shop=shop,
                month=form.cleaned_data["month"],
                area=form.cleaned_data["area"],
                text=form.cleaned_data["text"],
            )
        except ApplicationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("Improvement point added."))
    else:
        messages.error(request, _("Write the improvement point and choose its area."))
    return redirect(_list_url(shop, month))


@login_required
@require_POST
def point_accept(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Copy a suggestion (improvement item or FAQ candidate) into the month's report."""
    shop = _managed_shop(request, shop_slug)
    form = AcceptForm(request.POST)
    month = _month_param(request.POST.get("month", ""), shop)
    if form.is_valid():
        try:
            services.improvement_point_accept(
                user=_user(_actor(request)),
                shop=shop,
                month=form.cleaned_data["month"],
                source=form.cleaned_data["source"],
                source_id=form.cleaned_data["source_id"],
            )
        except NotFoundError:
            raise
        except ApplicationError as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("Suggestion added to the report."))
    return redirect(_list_url(shop, month))


@login_required
@require_POST
def point_delete(request: HttpRequest, shop_slug: str, point_id: int) -> HttpResponse:
    shop = _managed_shop(request, shop_slug)
    point = selectors.access_point(actor=_actor(request), shop=shop, point_id=point_id)
    month = point.month
    services.improvement_point_delete(user=_user(_actor(request)), point=point)
    messages.success(request, _("Improvement point removed."))
    return redirect(_list_url(shop, month))


def _audit_read(request: HttpRequest, report: ClientReport, action: str) -> None:
    actor = _actor(request)
    record(
        actor=actor.user,
        action=action,
        target=report,
        shop=report.shop,
        changes={"month": f"{report.month:%Y-%m}", "version": report.version},
        ip_address=client_address(request),
    )


@login_required
@require_GET
def report_page(request: HttpRequest, shop_slug: str, report_id: int) -> HttpResponse:
    """Show one version of the report as it was generated (audited)."""
    shop = _readable_shop(request, shop_slug)
    actor = _actor(request)
    report = selectors.access_report(actor=actor, shop=shop, report_id=report_id)
    _audit_read(request, report, actions.REPORT_VIEWED)
    charts = {
        name: reverse("reports:chart", args=[shop.slug, report.pk, name])
        for name in report.figures.get("charts", {})
    }
    return render(
        request,
        "reports/report.html",
        {
            "shop": shop,
            "report": report,
            "figures": report.figures,
            "charts": charts,
            "links": True,
            "is_lead": selectors.may_manage_reports(actor, shop.id),
            "newer": ClientReport.objects.filter(
                shop=shop, month=report.month, version__gt=report.version
            ).exists(),
        },
    )


@login_required
@require_GET
def report_pdf(request: HttpRequest, shop_slug: str, report_id: int) -> HttpResponse:
    """Download the version's PDF (audited)."""
    shop = _readable_shop(request, shop_slug)
    report = selectors.access_report(actor=_actor(request), shop=shop, report_id=report_id)
    _audit_read(request, report, actions.REPORT_DOWNLOADED)
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{services.report_filename(report)}"'
    return response


@login_required
@require_GET
def chart(request: HttpRequest, shop_slug: str, report_id: int, name: str) -> HttpResponse:
    """Return a chart of the version as SVG (the page shows the same numbers as tables)."""
    shop = _readable_shop(request, shop_slug)
    report = selectors.access_report(actor=_actor(request), shop=shop, report_id=report_id)
    svg = report.figures.get("charts", {}).get(name)
    if svg is None:
        return HttpResponse(status=404)
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    # matplotlib styles its elements inline; the image may do that and nothing else.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response._csp_exempt = True  # type: ignore[attr-defined]
    return response


@login_required
@require_POST
def send(request: HttpRequest, shop_slug: str, report_id: int) -> HttpResponse:
    """Mail the version to the shop's client users now."""
    shop = _managed_shop(request, shop_slug)
    actor = _actor(request)
    report = selectors.access_report(actor=actor, shop=shop, report_id=report_id)
    try:
        sent = services.report_send(report=report, user=_user(actor))
    except ApplicationError as error:
        messages.error(request, error_text(error))
    except OSError:
        messages.error(request, _("The report could not be mailed. Try again later."))
    else:
        messages.success(
            request,
            _("The report was mailed to %(count)s people.") % {"count": len(sent.recipients)},
        )
    return redirect("reports:report", shop_slug=shop.slug, report_id=report.pk)


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """The shop's report settings: on/off, operator names, extra recipients."""
    shop = _managed_shop(request, shop_slug)
    current = services.report_settings_for(shop_id=shop.id)
    if request.method == "POST":
        form = ReportSettingsForm(request.POST)
        if form.is_valid():
            services.report_settings_save(
                user=_user(_actor(request)),
                shop=shop,
                is_enabled=form.cleaned_data["is_enabled"],
                shows_operator_names=form.cleaned_data["shows_operator_names"],
                extra_recipients=form.cleaned_data["extra_recipients"],
            )
            messages.success(request, _("Report settings saved."))
            return redirect("reports:settings", shop_slug=shop.slug)
    else:
        form = ReportSettingsForm(
            initial={
                "is_enabled": current.is_enabled,
                "shows_operator_names": current.shows_operator_names,
                "extra_recipients": current.extra_recipients,
            }
        )
    return render(request, "reports/settings.html", {"shop": shop, "form": form})
