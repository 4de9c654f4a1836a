"""The analytics tests' hand-made November 2026 history of the tea shop (with lunch breaks, the
文化の日 holiday and a pending pause), plus what a report adds: an SLA policy, a CSAT comment,
an open improvement item and an FAQ candidate."""

from __future__ import annotations

import datetime as dt

from madoguchi.analytics.services import analytics_apply_new_events
from madoguchi.analytics.tests.history import History, at, build
from madoguchi.csat.models import CsatSurvey
from madoguchi.knowledge.models import FaqCandidate, ImprovementItem
from madoguchi.operations.models import SlaPolicy
from madoguchi.operations.services import sla_refresh
from madoguchi.tenancy.scoping import shop_scope

NOW = at(11, 30, 12)
NOVEMBER = dt.date(2026, 11, 1)


def build_report_history(world) -> History:  # type: ignore[no-untyped-def]
    with shop_scope((world.tea.id, world.ceramics.id)):
        made = build(tea=world.tea, ceramics=world.ceramics, operator=world.operator_tea)
        SlaPolicy.objects.create(
            shop=world.tea,
            name="標準",
            first_response_minutes=60,
            next_response_minutes=60,
            resolution_minutes=240,
        )
        for ticket in (made.t1, made.t2, made.t3, made.t4):
            sla_refresh(ticket_id=ticket.id, now=NOW)
        CsatSurvey.objects.create(
            shop=world.tea,
            ticket=made.t1,
            channel="email",
            status=CsatSurvey.Status.ANSWERED,
            created_at=at(11, 2, 16),
            sent_at=at(11, 2, 16),
            score=5,
            comment="丁寧な対応でした",
            first_answered_at=at(11, 2, 17),
            answered_at=at(11, 2, 17),
        )
        ImprovementItem.objects.create(
            shop=world.tea,
            title="配送遅延のお知らせをサイトに掲載",
            kind=ImprovementItem.Kind.SHIPPING,
        )
        FaqCandidate.objects.create(
            shop=world.tea,
            question="届くまで何日かかりますか",
            ticket_count=3,
            first_ticket_id=made.t1.id,
        )
        ImprovementItem.objects.create(
            shop=world.ceramics, title="梱包材の見直し", kind=ImprovementItem.Kind.SHIPPING
        )
    analytics_apply_new_events()
    return made
