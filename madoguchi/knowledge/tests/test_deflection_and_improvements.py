from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from madoguchi.core.errors import ValidationError
from madoguchi.events.models import Event
from madoguchi.knowledge import selectors
from madoguchi.knowledge.models import ImprovementItem
from madoguchi.knowledge.services import improvement_save, suggestion_event_record
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop

pytestmark = pytest.mark.django_db


def test_deflection_counts_opens_without_a_contact_within_the_window(world: Any) -> None:
    start = timezone.now() - dt.timedelta(days=3)
    opened_at = start + dt.timedelta(hours=1)
    with in_shop(world.tea.id):
        for visitor in ("v-deflected", "v-contacted", "v-contacted-late", "v-shown-only"):
            suggestion_event_record(
                shop=world.tea,
                kind="shown",
                visitor=visitor,
                source="webform",
                article_ids=[1, 2],
                occurred_at=opened_at,
            )
        for visitor in ("v-deflected", "v-contacted", "v-contacted-late"):
            suggestion_event_record(
                shop=world.tea,
                kind="opened",
                visitor=visitor,
                source="webform",
                article_ids=[1],
                occurred_at=opened_at,
            )
        for visitor, later in (("v-contacted", 2), ("v-contacted-late", 30)):
            suggestion_event_record(
                shop=world.tea,
                kind="contacted",
                visitor=visitor,
                source="chat",
                occurred_at=opened_at + dt.timedelta(hours=later),
            )
        summary = selectors.deflection_summary(
            shop_id=world.tea.id, start=start, end=start + dt.timedelta(days=1)
        )
        other = selectors.deflection_summary(
            shop_id=world.ceramics.id, start=start, end=start + dt.timedelta(days=1)
        )
    assert (summary.shown_visitors, summary.opened_visitors, summary.deflected_visitors) == (
        4,
        3,
        2,
    )
    assert summary.deflection_rate == pytest.approx(2 / 3)
    assert (other.shown_visitors, other.opened_visitors, other.deflection_rate) == (0, 0, None)


def test_an_unknown_suggestion_event_is_refused(world: Any) -> None:
    with in_shop(world.tea.id):
        with pytest.raises(ValidationError):
            suggestion_event_record(shop=world.tea, kind="clicked", visitor="v", source="webform")
        with pytest.raises(ValidationError):
            suggestion_event_record(shop=world.tea, kind="opened", visitor="v", source="webform")
        assert Event.objects.filter(type__startswith="knowledge.").count() == 0


def test_improvement_items_link_tickets_and_reach_the_monthly_report(world: Any) -> None:
    supervisor = actor_for_user(world.supervisor)
    start = timezone.now() - dt.timedelta(days=1)
    end = timezone.now() + dt.timedelta(days=1)
    with in_shop(world.tea.id):
        item = improvement_save(
            actor=supervisor,
            shop=world.tea,
            title="送料の説明を商品ページに追記",
            kind=ImprovementItem.Kind.PRODUCT_PAGE,
            status=ImprovementItem.Status.IN_PROGRESS,
            owner=world.operator_tea,
            ticket_numbers=[world.tea_ticket.number],
        )
        with pytest.raises(ValidationError) as refused:
            improvement_save(
                actor=supervisor,
                shop=world.tea,
                title="他店のチケット",
                kind=ImprovementItem.Kind.TERMS,
                status=ImprovementItem.Status.OPEN,
                ticket_numbers=[9999],
            )
        assert refused.value.field == "ticket_numbers"
        with pytest.raises(ValidationError):
            improvement_save(
                actor=supervisor,
                shop=world.tea,
                title="他店の担当者",
                kind=ImprovementItem.Kind.TERMS,
                status=ImprovementItem.Status.OPEN,
                owner=world.operator_ceramics,
            )
        report = selectors.improvement_items_for_report(shop_id=world.tea.id, start=start, end=end)
    assert [
        (line.title, line.kind, line.status, line.owner, line.ticket_numbers) for line in report
    ] == [
        (
            "送料の説明を商品ページに追記",
            "product_page",
            "in_progress",
            str(world.operator_tea.display_name),
            (world.tea_ticket.number,),
        )
    ]
    assert item.done_at is None
