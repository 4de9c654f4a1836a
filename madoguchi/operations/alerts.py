"""The shop's alerts for its leads, read from the event log, and how far each lead has read them.

An alert is an event of `ALERT_TYPES`: an SLA target due soon, a breach escalated to the leads
(with what happened to the assignee), the mail loop breaker holding back acknowledgements. The
mail connector appends its event to the same log, so operations reads it without importing the
connector. Read state is one row per lead and shop: the id of the newest alert seen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.audit import actions
from madoguchi.conversations.models import Ticket
from madoguchi.core.errors import PermissionDeniedError
from madoguchi.events.models import Event
from madoguchi.operations.models import AlertReadState, RoutingSettings
from madoguchi.operations.routing_settings import routing_flag_set
from madoguchi.tenancy.access import Actor, require_staff
from madoguchi.tenancy.models import Shop

ALERT_TYPES = ("sla.warning", "sla.escalated", "mail.loop_detected")
ALERT_WINDOW = dt.timedelta(days=30)
PAGE_SIZE = 200
UNREAD_CAP = 100  # the badge shows "99+" from here on; counting further is wasted work


@dataclass(frozen=True)
class Alert:
    event: Event
    ticket: Ticket | None
    is_unread: bool
    previous_assignee: User | None = None
    assignee: User | None = None

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = self.event.payload
        return payload

    @property
    def metric_label(self) -> str:
        from madoguchi.operations.labels import METRIC_LABELS

        metric = str(self.payload.get("metric", ""))
        return str(METRIC_LABELS.get(metric, metric))

    @property
    def reassignment(self) -> str:
        """What the breach did to the assignee ("" for alerts written before version 2)."""
        return str(self.payload.get("reassignment", ""))


def require_lead(*, actor: Actor, shop_id: int) -> None:
    """Raise unless the actor supervises or administers this shop (alerts are theirs)."""
    require_staff(actor=actor, shop_id=shop_id)
    if not actor.is_lead_for(shop_id):
        raise PermissionDeniedError("Only the shop's supervisors and admins see its alerts.")


def _alert_events(shop_id: int, now: dt.datetime) -> Any:
    return Event.objects.filter(
        shop_id=shop_id, type__in=ALERT_TYPES, occurred_at__gte=now - ALERT_WINDOW
    )


def last_seen_alert_id(*, shop_id: int, user_id: int) -> int:
    position = (
        AlertReadState.objects.filter(shop_id=shop_id, user_id=user_id)
        .values_list("last_seen_event_id", flat=True)
        .first()
    )
    return position or 0


def shop_alerts(*, shop_id: int, user_id: int, now: dt.datetime | None = None) -> list[Alert]:
    """Return the shop's alerts of the last 30 days, newest first, marked unread for this user."""
    now = now or timezone.now()
    seen = last_seen_alert_id(shop_id=shop_id, user_id=user_id)
    events = list(
        _alert_events(shop_id, now).select_related("ticket__shop").order_by("-id")[:PAGE_SIZE]
    )
    user_ids = {
        event.payload.get(key)
        for event in events
        if event.type == "sla.escalated"
        for key in ("previous_assignee_id", "assignee_id")
    } - {None}
    users = {user.id: user for user in User.objects.filter(id__in=user_ids)}
    return [
        Alert(
            event=event,
            ticket=event.ticket,
            is_unread=event.id > seen,
            previous_assignee=users.get(event.payload.get("previous_assignee_id") or 0),
            assignee=users.get(event.payload.get("assignee_id") or 0),
        )
        for event in events
    ]


def unread_alert_count(*, shop_id: int, user_id: int, now: dt.datetime | None = None) -> int:
    """Return how many of the shop's alerts this user has not seen (at most `UNREAD_CAP`)."""
    now = now or timezone.now()
    seen = last_seen_alert_id(shop_id=shop_id, user_id=user_id)
    count: int = _alert_events(shop_id, now).filter(id__gt=seen)[:UNREAD_CAP].count()
    return count


@transaction.atomic
def alerts_mark_read(*, actor: Actor, shop: Shop, up_to: int) -> int:
    """Mark the shop's alerts up to the event id `up_to` (the newest one the page showed) read.

    Alerts that arrived after the page was shown stay unread; the position never moves back.
    Returns the stored position.
    """
    require_lead(actor=actor, shop_id=shop.id)
    assert actor.user is not None
    newest = (
        Event.objects.filter(shop_id=shop.id, type__in=ALERT_TYPES, id__lte=up_to)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    state, _ = AlertReadState.objects.select_for_update().get_or_create(shop=shop, user=actor.user)
    if newest is not None and newest > state.last_seen_event_id:
        state.last_seen_event_id = newest
        state.save(update_fields=["last_seen_event_id", "updated_at"])
    return state.last_seen_event_id


def reassigns_on_breach(*, shop_id: int) -> bool:
    """Return whether the shop hands a breached ticket to another operator."""
    return bool(
        RoutingSettings.objects.filter(shop_id=shop_id)
        .values_list("reassign_on_breach", flat=True)
        .first()
    )


@transaction.atomic
def breach_reassign_set(*, actor: Actor, shop: Shop, enabled: bool) -> RoutingSettings:
    """Switch reassignment at an SLA breach on or off for the shop (its leads only; audited)."""
    require_lead(actor=actor, shop_id=shop.id)
    return routing_flag_set(
        actor=actor,
        shop=shop,
        field="reassign_on_breach",
        value=enabled,
        action=actions.BREACH_REASSIGN_CHANGED,
    )
