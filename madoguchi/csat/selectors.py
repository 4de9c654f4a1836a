"""Reads of CSAT for the ticket page, the survey page and reports (analytics reads these)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Q, QuerySet

from madoguchi.csat.models import CsatOptOut, CsatSurvey
from madoguchi.tenancy.scoping import unscoped


def ticket_csat(*, ticket_id: int) -> CsatSurvey | None:
    """Return the ticket's survey (sent, answered or skipped), or None when it has none."""
    return CsatSurvey.objects.filter(ticket_id=ticket_id).first()


def survey_for_token(*, digest: str) -> CsatSurvey | None:
    """Return the survey a link's token digest names, whichever shop it belongs to (the public
    page knows no shop before it has the survey)."""
    if not digest:
        return None
    with unscoped("public CSAT survey: found by its token digest"):
        return (
            CsatSurvey.objects.filter(token_digest=digest)
            .select_related("shop", "ticket", "ticket__shop")
            .first()
        )


def answers_between(*, shop_id: int, start: dt.datetime, end: dt.datetime) -> QuerySet[CsatSurvey]:
    """Return the shop's answered surveys whose (latest) answer falls in [start, end), oldest
    first, with their tickets."""
    return (
        CsatSurvey.objects.filter(
            shop_id=shop_id, score__isnull=False, answered_at__gte=start, answered_at__lt=end
        )
        .select_related("ticket")
        .order_by("answered_at", "id")
    )


@dataclass(frozen=True)
class CsatSummary:
    """A shop's surveys of a period: sent in it, and answered of those (by the latest answer)."""

    sent: int
    answered: int
    average: float | None
    # Answers of 4 or 5, the usual "satisfied" share.
    satisfied: int
    distribution: dict[int, int] = field(default_factory=dict)

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None

    @property
    def satisfied_rate(self) -> float | None:
        return self.satisfied / self.answered if self.answered else None


def csat_summary(*, shop_id: int, start: dt.datetime, end: dt.datetime) -> CsatSummary:
    """Return the figures of the surveys the shop sent in [start, end)."""
    sent = CsatSurvey.objects.filter(shop_id=shop_id, sent_at__gte=start, sent_at__lt=end)
    figures = sent.aggregate(
        sent=Count("id"),
        answered=Count("id", filter=Q(score__isnull=False)),
        average=Avg("score"),
        satisfied=Count("id", filter=Q(score__gte=4)),
    )
    distribution = {score: 0 for score in range(1, 6)}
    for score, count in (
        sent.filter(score__isnull=False).values_list("score").annotate(count=Count("id"))
    ):
        distribution[int(score)] = int(count)
    average = figures["average"]
    return CsatSummary(
        sent=int(figures["sent"]),
        answered=int(figures["answered"]),
        average=round(float(average), 2) if average is not None else None,
        satisfied=int(figures["satisfied"]),
        distribution=distribution,
    )


def customer_opted_out(*, shop_id: int, customer_id: int) -> bool:
    """Return whether the customer asked for (or staff set) no more surveys."""
    return CsatOptOut.objects.filter(shop_id=shop_id, customer_id=customer_id).exists()
