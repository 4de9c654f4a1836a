"""Reads of the monthly reports: who may read and manage them, the versions, the suggestions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from madoguchi.core.errors import NotFoundError
from madoguchi.knowledge.models import FaqCandidate, ImprovementItem
from madoguchi.reports.models import ClientReport, ImprovementPoint
from madoguchi.tenancy.access import Actor
from madoguchi.tenancy.models import Membership, Shop


def may_manage_reports(actor: Actor, shop_id: int) -> bool:
    """The shop's supervisors and admins generate, edit and send its reports."""
    return actor.is_lead_for(shop_id)


def may_read_reports(actor: Actor, shop_id: int) -> bool:
    """Its leads and its client (owner) users read the shop's reports."""
    return may_manage_reports(actor, shop_id) or (actor.role_for(shop_id) == Membership.Role.CLIENT)


def shop_reports(*, shop_id: int) -> QuerySet[ClientReport]:
    """The shop's report versions, newest month and version first, without their documents."""
    return (
        ClientReport.objects.filter(shop_id=shop_id)
        .defer("html", "pdf", "figures")
        .select_related("created_by")
        .order_by("-month", "-version")
    )


def access_report(*, actor: Actor, shop: Shop, report_id: int) -> ClientReport:
    """Return a version of the shop's report the actor may read; anything else is a 404."""
    report = ClientReport.objects.filter(shop=shop, pk=report_id).select_related("shop").first()
    if report is None or not may_read_reports(actor, shop.id):
        raise NotFoundError("Report not found")
    return report


def access_point(*, actor: Actor, shop: Shop, point_id: int) -> ImprovementPoint:
    point = ImprovementPoint.objects.filter(shop=shop, pk=point_id).select_related("shop").first()
    if point is None or not may_manage_reports(actor, shop.id):
        raise NotFoundError("Improvement point not found")
    return point


def month_points(*, shop_id: int, month: dt.date) -> list[ImprovementPoint]:
    return list(
        ImprovementPoint.objects.filter(shop_id=shop_id, month=month.replace(day=1)).order_by(
            "area", "id"
        )
    )


@dataclass(frozen=True)
class Suggestion:
    """An open improvement item or FAQ candidate a supervisor may accept into the report."""

    source: str
    source_id: int
    title: str
    detail: str
    is_accepted: bool


def suggestions(*, shop_id: int, month: dt.date) -> list[Suggestion]:
    """The shop's open improvement items, then its open FAQ candidates (most asked first)."""
    accepted = set(
        ImprovementPoint.objects.filter(
            shop_id=shop_id, month=month.replace(day=1), source_id__isnull=False
        ).values_list("source", "source_id")
    )
    items = ImprovementItem.objects.filter(
        shop_id=shop_id,
        status__in=[ImprovementItem.Status.OPEN, ImprovementItem.Status.IN_PROGRESS],
    ).order_by("-updated_at", "-id")
    candidates = FaqCandidate.objects.filter(
        shop_id=shop_id, status=FaqCandidate.Status.OPEN
    ).order_by("-ticket_count", "-id")
    item_source = str(ImprovementPoint.Source.IMPROVEMENT_ITEM)
    candidate_source = str(ImprovementPoint.Source.FAQ_CANDIDATE)
    return [
        Suggestion(
            source=item_source,
            source_id=item.pk,
            title=item.title,
            detail=str(item.get_kind_display()),
            is_accepted=(item_source, item.pk) in accepted,
        )
        for item in items
    ] + [
        Suggestion(
            source=candidate_source,
            source_id=candidate.pk,
            title=candidate.question,
            detail=str(candidate.ticket_count),
            is_accepted=(candidate_source, candidate.pk) in accepted,
        )
        for candidate in candidates
    ]
