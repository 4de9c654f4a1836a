"""Writes of the monthly client report: settings, improvement points, generating a version,
mailing it, and the scheduled run on the 1st (docs/adr/0025)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings as django_settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from madoguchi.accounts.models import User
from madoguchi.analytics.services import analytics_settings_for
from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core.errors import ConflictError, NotFoundError, ValidationError
from madoguchi.core.pdf import html_to_pdf, pdf_css
from madoguchi.core.site import absolute_url
from madoguchi.knowledge.models import FaqCandidate, ImprovementItem
from madoguchi.reports.figures import chart_data_urls, report_figures
from madoguchi.reports.models import ClientReport, ImprovementPoint, ReportSettings
from madoguchi.tenancy.access import actors_for_users
from madoguchi.tenancy.models import Membership, Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

logger = logging.getLogger(__name__)

REPORT_LANGUAGE = "ja"
# The scheduled run makes last month's report on the 1st; a scheduler that was down on the 1st
# catches up on the next days, but no later (a report mailed mid-month would surprise).
CATCH_UP_DAYS = 3
# An improvement item's kind -> the report's area.
KIND_AREAS = {
    ImprovementItem.Kind.PRODUCT_PAGE: ImprovementPoint.Area.PRODUCT,
    ImprovementItem.Kind.SHIPPING: ImprovementPoint.Area.SHIPPING,
    ImprovementItem.Kind.TERMS: ImprovementPoint.Area.WEBSITE,
    ImprovementItem.Kind.MANUAL: ImprovementPoint.Area.OTHER,
    ImprovementItem.Kind.OTHER: ImprovementPoint.Area.OTHER,
}


# --- settings ---------------------------------------------------------------------------------


def report_settings_for(*, shop_id: int) -> ReportSettings:
    """Return the shop's report settings (defaults, unsaved, when it has none)."""
    return ReportSettings.objects.filter(shop_id=shop_id).first() or ReportSettings(shop_id=shop_id)


@transaction.atomic
def report_settings_save(
    *,
    user: User,
    shop: Shop,
    is_enabled: bool,
    shows_operator_names: bool,
    extra_recipients: list[str],
) -> ReportSettings:
    """Save the shop's report settings (audited with the changed values)."""
    current = report_settings_for(shop_id=shop.id)
    wanted: dict[str, Any] = {
        "is_enabled": is_enabled,
        "shows_operator_names": shows_operator_names,
        "extra_recipients": "\n".join(extra_recipients),
    }
    changes = {
        name: [getattr(current, name), value]
        for name, value in wanted.items()
        if getattr(current, name) != value
    }
    saved, _created = ReportSettings.objects.update_or_create(shop=shop, defaults=wanted)
    if changes or current.pk is None:
        record(
            actor=user,
            action=actions.REPORT_SETTINGS_CHANGED,
            target=saved,
            shop=shop,
            changes=changes,
        )
    return saved


def shows_operator_names(*, shop_id: int) -> bool:
    """Whether the report names operators: the report setting and the analytics setting that
    lets the shop's client users see operator names must both allow it."""
    return (
        report_settings_for(shop_id=shop_id).shows_operator_names
        and analytics_settings_for(shop_id=shop_id).shows_operator_names_to_client
    )


# --- improvement points -----------------------------------------------------------------------


def _point_record(user: User, point: ImprovementPoint, change: str) -> None:
    record(
        actor=user,
        action=actions.REPORT_POINT_SAVED,
        target=point,
        shop=point.shop,
        changes={
            "change": change,
            "month": f"{point.month:%Y-%m}",
            "area": point.area,
            "source": point.source,
        },
    )


@transaction.atomic
def improvement_point_add(
    *, user: User, shop: Shop, month: dt.date, area: str, text: str
) -> ImprovementPoint:
    """Write an improvement point into the shop's report of `month`."""
    text = text.strip()
    if not text:
        raise ValidationError("Write the improvement point.")
    if area not in ImprovementPoint.Area.values:
        raise ValidationError("Choose an area.")
    point = ImprovementPoint.objects.create(
        shop=shop, month=month.replace(day=1), area=area, text=text, created_by=user
    )
    _point_record(user, point, "written")
    return point


@transaction.atomic
def improvement_point_accept(
    *, user: User, shop: Shop, month: dt.date, source: str, source_id: int
) -> ImprovementPoint:
    """Copy a suggestion (an open improvement item or FAQ candidate of the shop) into the
    month's report; accepting the same suggestion twice is a conflict."""
    if source == ImprovementPoint.Source.IMPROVEMENT_ITEM:
        item = ImprovementItem.objects.filter(shop=shop, pk=source_id).first()
        if item is None:
            raise NotFoundError("Suggestion not found")
        area = KIND_AREAS.get(ImprovementItem.Kind(item.kind), ImprovementPoint.Area.OTHER)
        text = item.title + (f"\n{item.description}" if item.description else "")
    elif source == ImprovementPoint.Source.FAQ_CANDIDATE:
        candidate = FaqCandidate.objects.filter(shop=shop, pk=source_id).first()
        if candidate is None:
            raise NotFoundError("Suggestion not found")
        area = ImprovementPoint.Area.WEBSITE
        with translation.override(REPORT_LANGUAGE):
            text = gettext("Add to the help center: %(question)s (%(count)s inquiries)") % {
                "question": candidate.question,
                "count": candidate.ticket_count,
            }
    else:
        raise NotFoundError("Suggestion not found")
    try:
        with transaction.atomic():
            point = ImprovementPoint.objects.create(
                shop=shop,
                month=month.replace(day=1),
                area=area,
                text=text,
                source=source,
                source_id=source_id,
                created_by=user,
            )
    except IntegrityError as error:
        raise ConflictError("This suggestion is already in the report.") from error
    _point_record(user, point, "accepted")
    return point


@transaction.atomic
def improvement_point_delete(*, user: User, point: ImprovementPoint) -> None:
    """Remove a point from the month's draft (versions already made keep their copy)."""
    _point_record(user, point, "removed")
    point.delete()


def report_points(*, shop_id: int, month: dt.date) -> list[dict[str, str]]:
    """The month's improvement points as a report stores them, by area."""
    order = {area: index for index, area in enumerate(ImprovementPoint.Area.values)}
    points = sorted(
        ImprovementPoint.objects.filter(shop_id=shop_id, month=month.replace(day=1)),
        key=lambda point: (order[point.area], point.id),
    )
    with translation.override(REPORT_LANGUAGE):
        return [
            {"area": point.area, "area_label": str(point.get_area_display()), "text": point.text}
            for point in points
        ]


# --- generating and sending -------------------------------------------------------------------


def report_document(figures: dict[str, Any]) -> str:
    """Return the self-contained HTML document of a report (charts as `data:` URLs)."""
    with translation.override(REPORT_LANGUAGE):
        return render_to_string(
            "reports/document.html",
            {"figures": figures, "charts": chart_data_urls(figures), "pdf_css": pdf_css()},
        )


def report_generate(
    *,
    shop: Shop,
    month: dt.date,
    user: User | None,
    now: dt.datetime | None = None,
    is_scheduled: bool = False,
) -> ClientReport:
    """Make the next version of the shop's report of `month`: figures, HTML and PDF.

    The PDF is laid out before the transaction, which then only numbers and stores the version.
    A scheduled run that finds the month's scheduled version already made raises ConflictError.
    """
    now = now or timezone.now()
    month = month.replace(day=1)
    with translation.override(REPORT_LANGUAGE):
        figures = report_figures(
            shop=shop,
            month=month,
            now=now,
            with_operators=shows_operator_names(shop_id=shop.id),
            points=report_points(shop_id=shop.id, month=month),
        )
    html = report_document(figures)
    pdf = html_to_pdf(html)
    try:
        with transaction.atomic():
            latest = ClientReport.objects.filter(shop=shop, month=month).aggregate(
                latest=Max("version")
            )["latest"]
            report = ClientReport.objects.create(
                shop=shop,
                month=month,
                version=(latest or 0) + 1,
                created_at=now,
                created_by=user,
                is_scheduled=is_scheduled,
                figures=figures,
                html=html,
                pdf=pdf,
            )
            record(
                actor=user,
                actor_label="" if user else "scheduler",
                action=actions.REPORT_GENERATED,
                target=report,
                shop=shop,
                changes={"month": f"{month:%Y-%m}", "version": report.version},
            )
    except IntegrityError as error:
        raise ConflictError("This version of the report was made meanwhile.") from error
    return report


def report_filename(report: ClientReport) -> str:
    return f"report-{report.shop.slug}-{report.month:%Y-%m}-v{report.version}.pdf"


def report_url(report: ClientReport) -> str:
    return absolute_url(reverse("reports:report", args=[report.shop.slug, report.pk]))


def client_recipients(*, shop: Shop) -> list[str]:
    """The addresses of the shop's active client (owner) users, and the extra recipients."""
    with unscoped("the shop's client users are members of its owner workspace"):
        users = list(
            User.objects.filter(
                is_active=True,
                memberships__workspace_id=shop.workspace_id,
                memberships__is_active=True,
                memberships__role=Membership.Role.CLIENT,
            )
            .distinct()
            .order_by("email")
        )
        people = list(users)
        actors = actors_for_users(people)
        addresses = [
            user.email
            for user in people
            if actors[user.pk].role_for(shop.id) == Membership.Role.CLIENT
        ]
    for extra in report_settings_for(shop_id=shop.id).extra_recipient_list:
        if extra.lower() not in {address.lower() for address in addresses}:
            addresses.append(extra)
    return addresses


@dataclass(frozen=True)
class Sent:
    recipients: list[str]


def _report_mail(report: ClientReport, recipients: list[str]) -> EmailMessage:
    with translation.override(REPORT_LANGUAGE):
        context = {
            "shop": report.shop.name,
            "month": report.month,
            "version": report.version,
            "url": report_url(report),
            "figures": report.figures,
        }
        subject = gettext("Monthly support report for %(shop)s, %(month)s") % {
            "shop": report.shop.name,
            "month": f"{report.month:%Y-%m}",
        }
        body = render_to_string("reports/report_mail.txt", context)
    mail = EmailMessage(
        subject=subject,
        body=body,
        from_email=django_settings.DEFAULT_FROM_EMAIL,
        to=[],
        bcc=recipients,
    )
    mail.attach(report_filename(report), bytes(report.pdf), "application/pdf")
    return mail


def report_send(*, report: ClientReport, user: User | None) -> Sent:
    """Mail the report (link and PDF) to the shop's client users; note when and to whom."""
    recipients = client_recipients(shop=report.shop)
    if not recipients:
        raise ValidationError("The shop has no client users to mail the report to.")
    _report_mail(report, recipients).send()
    with transaction.atomic():
        ClientReport.objects.filter(pk=report.pk).update(sent_at=timezone.now())
        record(
            actor=user,
            actor_label="" if user else "scheduler",
            action=actions.REPORT_SENT,
            target=report,
            shop=report.shop,
            changes={"recipients": len(recipients), "version": report.version},
        )
    return Sent(recipients=recipients)


def due_month(shop: Shop, now: dt.datetime) -> dt.date | None:
    """The month whose report is due for the shop now: last month during the first days of
    this month in the shop's time zone, else None."""
    local = now.astimezone(ZoneInfo(shop.time_zone))
    if local.day > CATCH_UP_DAYS:
        return None
    return (local.date().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def monthly_reports_run(*, now: dt.datetime | None = None) -> list[int]:
    """Generate and mail last month's report for every shop with reports on, once per month
    (a second run makes no second version and no second mail); return the reports made."""
    now = now or timezone.now()
    with unscoped("the scheduled run visits every shop with reports on"):
        shop_ids = list(
            ReportSettings.objects.filter(
                is_enabled=True, shop__archived_at__isnull=True
            ).values_list("shop_id", flat=True)
        )
    made = []
    for shop_id in sorted(shop_ids):
        with in_shop(shop_id):
            shop = Shop.objects.get(pk=shop_id)
            month = due_month(shop, now)
            if month is None:
                continue
            if ClientReport.objects.filter(shop=shop, month=month, is_scheduled=True).exists():
                continue
            try:
                report = report_generate(
                    shop=shop, month=month, user=None, now=now, is_scheduled=True
                )
            except ConflictError:
                continue  # another run made it meanwhile
            made.append(report.pk)
            try:
                report_send(report=report, user=None)
            except ValidationError:
                logger.info("Shop %s has no client users for its monthly report", shop_id)
            except OSError:
                logger.exception("The monthly report %s could not be mailed", report.pk)
    return made
