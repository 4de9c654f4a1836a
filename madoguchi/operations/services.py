"""Keep SLA measures current from the event log and raise breach events."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.conversations.models import Ticket
from madoguchi.conversations.services import ticket_route
from madoguchi.events.models import ActorKind, Event
from madoguchi.events.services import consumer_advance, consumer_position, event_append
from madoguchi.operations.models import (
    OperatorProfile,
    RoutingSettings,
    Shift,
    SlaMeasureRecord,
    SlaPolicy,
)
from madoguchi.operations.routing import (
    Candidate,
    eligible,
    online_users,
    pick_least_load,
    pick_round_robin,
)
from madoguchi.operations.selectors import calendar_for_shop, policy_for_ticket, ticket_history
from madoguchi.operations.sla import SlaTargets, compute_measures
from madoguchi.tenancy.access import shop_staff
from madoguchi.tenancy.models import Membership, Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

logger = logging.getLogger(__name__)

SLA_EVENT_TYPES = (
    "ticket.created",
    "message.received",
    "message.replied",
    "ticket.status_changed",
    "ticket.priority_changed",
)
CURSOR = "operations.sla"
SLA_BREACH_REASON = "sla-breach"


def _minutes(value: int | None) -> dt.timedelta | None:
    return dt.timedelta(minutes=value) if value is not None else None


@transaction.atomic
def sla_refresh(*, ticket_id: int, now: dt.datetime | None = None) -> list[SlaMeasureRecord]:
    """Recompute the ticket's SLA measures from its events and store them (idempotent)."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_related("shop").get(pk=ticket_id)
    policy = policy_for_ticket(ticket=ticket)
    if policy is None:
        SlaMeasureRecord.objects.filter(ticket=ticket).delete()
        return []
    targets = SlaTargets(
        first_response=_minutes(policy.first_response_minutes),
        next_response=_minutes(policy.next_response_minutes),
        resolution=_minutes(policy.resolution_minutes),
        in_business_hours=policy.in_business_hours,
    )
    measures = compute_measures(
        ticket_history(ticket=ticket), targets, calendar_for_shop(shop_id=ticket.shop_id)
    )
    records = []
    kept = []
    for measure in measures:
        record, _ = SlaMeasureRecord.objects.update_or_create(
            ticket=ticket,
            metric=measure.metric,
            cycle=measure.cycle,
            defaults={
                "shop_id": ticket.shop_id,
                "policy": policy,
                "started_at": measure.started_at,
                "due_at": measure.due_at,
                "completed_at": measure.completed_at,
                "is_breached": measure.is_breached(now),
                "computed_at": now,
            },
        )
        records.append(record)
        kept.append(record.pk)
    SlaMeasureRecord.objects.filter(ticket=ticket).exclude(pk__in=kept).delete()
    return records


REFRESH_BATCH = 200


def sla_refresh_open_tickets(
    *, shop_id: int, after_id: int = 0, limit: int = REFRESH_BATCH, now: dt.datetime | None = None
) -> list[int]:
    """Recompute the SLA measures of up to `limit` unsolved tickets of the shop with an id above
    `after_id`, each in its own transaction; return their ids in order (empty: none left).

    A changed policy or calendar moves the due times of open tickets; solved tickets keep the
    measures they were reported with. The caller runs in the shop's scope.
    """
    ticket_ids = list(
        Ticket.objects.filter(shop_id=shop_id, id__gt=after_id)
        .unsolved()
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for ticket_id in ticket_ids:
        sla_refresh(ticket_id=ticket_id, now=now)
    return ticket_ids


def sla_process_new_events(*, batch_size: int = 500) -> int:
    """Refresh the SLAs of tickets touched by events since the consumer cursor; return how many.

    The periodic job that calls this runs under its own lease, so one process reads at a time.
    """
    cursor = consumer_position(name=CURSOR)
    with unscoped("SLA clocks read every shop's new events"):
        rows = list(
            Event.objects.filter(id__gt=cursor, type__in=SLA_EVENT_TYPES, ticket__isnull=False)
            .order_by("id")
            .values_list("id", "shop_id", "ticket_id")[:batch_size]
        )
    touched = {(shop_id, ticket_id) for _id, shop_id, ticket_id in rows}
    with unscoped("the SLA policies of the batch's shops"):
        with_policies = set(
            SlaPolicy.objects.filter(
                shop_id__in={shop_id for shop_id, _ticket_id in touched}, is_active=True
            ).values_list("shop_id", flat=True)
        )
    without: dict[int, list[int]] = {}
    for shop_id, ticket_id in sorted(touched):
        if shop_id not in with_policies:
            without.setdefault(shop_id, []).append(ticket_id)
            continue
        with in_shop(shop_id):
            sla_refresh(ticket_id=ticket_id)
    # A shop without an active policy measures nothing: what `sla_refresh` would do for each
    # of its tickets (drop their measures), in one statement.
    for shop_id, ticket_ids in without.items():
        with in_shop(shop_id):
            SlaMeasureRecord.objects.filter(ticket_id__in=ticket_ids).delete()
    if rows:
        consumer_advance(name=CURSOR, position=rows[-1][0])
    return len(touched)


def sla_check_breaches(*, now: dt.datetime | None = None) -> int:
    """Append one `sla.breached` event for each measure that missed its due time; return how many.

    A measure is breached when it is unfinished past its due time or was finished late; the
    event is written once (`breach_notified_at`), whichever of refresh or sweep noticed first.
    """
    now = now or timezone.now()
    missed = Q(completed_at__isnull=True) | Q(completed_at__gt=F("due_at"))
    with unscoped("SLA breach sweep over every shop"):
        due = list(
            SlaMeasureRecord.objects.filter(
                missed, due_at__lte=now, breach_notified_at__isnull=True
            ).values_list("pk", "shop_id")
        )
    notified = 0
    reassigned: dict[int, Reassignment] = {}
    for record_id, shop_id in due:
        with in_shop(shop_id), transaction.atomic():
            record = (
                SlaMeasureRecord.objects.select_for_update(of=("self",))
                .select_related("ticket__shop", "policy")
                .filter(pk=record_id, breach_notified_at__isnull=True)
                .first()
            )
            if record is None:
                continue
            record.is_breached = True
            record.breach_notified_at = now
            record.save(update_fields=["is_breached", "breach_notified_at"])
            event_append(
                shop=record.ticket.shop,
                ticket=record.ticket,
                type="sla.breached",
                actor_kind=ActorKind.SYSTEM,
                payload={
                    "metric": record.metric,
                    "cycle": record.cycle,
                    "due_at": record.due_at.isoformat() if record.due_at else None,
                    "policy_id": record.policy_id,
                },
                occurred_at=now,
            )
            # A policy that does not escalate at a breach does not reassign either (nor does a
            # measure whose policy was deleted): the shop's setting applies to escalations only.
            if record.policy is not None and record.policy.escalate_on_breach:
                # One sweep re-routes a ticket once, even when several of its targets passed.
                outcome = reassigned.get(record.ticket_id) or _reassign_on_breach(record, now=now)
                if outcome.outcome == Reassignment.REASSIGNED:
                    reassigned[record.ticket_id] = outcome
                _escalate(record, reassignment=outcome, now=now)
            notified += 1
    return notified


@dataclass(frozen=True)
class Reassignment:
    """What a breach did to the ticket's assignee (reported in the escalation)."""

    OFF = "off"  # the shop does not reassign at a breach
    FINISHED = "finished"  # the target was met late or the ticket is solved: nothing to hand over
    REASSIGNED = "reassigned"
    NOBODY_ELIGIBLE = "nobody_eligible"  # the ticket stays with its assignee
    ASSIGNED_MEANWHILE = "assigned_meanwhile"  # someone else assigned it first: theirs stands

    outcome: str
    previous_assignee_id: int | None
    assignee_id: int | None


def _reassign_on_breach(record: SlaMeasureRecord, *, now: dt.datetime) -> Reassignment:
    """Hand a breached ticket to another eligible operator when the shop asks for it.

    Called only for a breach that the measure's policy escalates (`escalate_on_breach`).

    The routing rule of new tickets chooses (least load when routing is manual), among the
    operators on duty, skilled and under their limit, except the current assignee. Runs inside
    the sweep's transaction, once per breach (`breach_notified_at` guards the measure).
    """
    ticket = record.ticket
    previous = ticket.assignee_id
    settings = RoutingSettings.objects.filter(shop_id=ticket.shop_id).first()
    if settings is None or not settings.reassign_on_breach:
        return Reassignment(Reassignment.OFF, previous, previous)
    if record.completed_at is not None or not ticket.is_unsolved:
        return Reassignment(Reassignment.FINISHED, previous, previous)
    pool = [
        candidate
        for candidate in eligible(
            routing_candidates(shop=ticket.shop, now=now),
            language=ticket.language,
            max_open=settings.max_open_per_operator,
            requires_language=settings.requires_language_skill,
            requires_on_duty=settings.requires_on_duty,
            online=online_users(channel=ticket.channel, shop_id=ticket.shop_id, now=now),
        )
        if candidate.user_id != previous
    ]
    rule = (
        RoutingSettings.Mode.ROUND_ROBIN
        if settings.mode_for_channel(ticket.channel) == RoutingSettings.Mode.ROUND_ROBIN
        else RoutingSettings.Mode.LEAST_LOAD
    )
    pick = pick_round_robin if rule == RoutingSettings.Mode.ROUND_ROBIN else pick_least_load
    user_id = pick(pool, last_user_id=settings.last_assigned_user_id)
    if user_id is None:
        return Reassignment(Reassignment.NOBODY_ELIGIBLE, previous, previous)
    assignee = User.objects.get(pk=user_id)
    routed = ticket_route(
        ticket_id=ticket.id,
        assignee=assignee,
        rule=str(rule),
        replacing_user_id=previous,
        reason=SLA_BREACH_REASON,
    )
    if routed is None:  # someone changed the assignee or solved it meanwhile: theirs stands
        current = Ticket.objects.values_list("assignee_id", flat=True).get(pk=ticket.id)
        return Reassignment(Reassignment.ASSIGNED_MEANWHILE, previous, current)
    RoutingSettings.objects.filter(pk=settings.pk).update(last_assigned_user=assignee)
    return Reassignment(Reassignment.REASSIGNED, previous, assignee.id)


def _escalate(record: SlaMeasureRecord, *, reassignment: Reassignment, now: dt.datetime) -> None:
    """Tell the shop's supervisors and admins about a breach (their alerts page shows it)."""
    shop = record.ticket.shop
    leads = [user.id for user in shop_staff(shop_id=shop.id, leads=True)]
    event_append(
        shop=shop,
        ticket=record.ticket,
        type="sla.escalated",
        actor_kind=ActorKind.SYSTEM,
        payload={
            "metric": record.metric,
            "cycle": record.cycle,
            "supervisor_ids": leads,
            "reassignment": reassignment.outcome,
            "previous_assignee_id": reassignment.previous_assignee_id,
            "assignee_id": reassignment.assignee_id,
        },
        occurred_at=now,
    )


def sla_check_warnings(
    *, now: dt.datetime | None = None, horizon: dt.timedelta = dt.timedelta(days=1)
) -> int:
    """Append one `sla.warning` event for each unfinished measure that entered its policy's
    warning window (`warn_minutes_before` ahead of the due time); return how many."""
    now = now or timezone.now()
    with unscoped("SLA warning sweep over every shop"):
        soon = [
            (record_id, shop_id)
            for record_id, shop_id, due_at, warn_minutes in SlaMeasureRecord.objects.filter(
                completed_at__isnull=True,
                warning_notified_at__isnull=True,
                due_at__gt=now,
                due_at__lte=now + horizon,
                policy__isnull=False,
            ).values_list("pk", "shop_id", "due_at", "policy__warn_minutes_before")
            if due_at is not None and due_at - now <= dt.timedelta(minutes=warn_minutes)
        ]
    warned = 0
    for record_id, shop_id in soon:
        with in_shop(shop_id), transaction.atomic():
            record = (
                SlaMeasureRecord.objects.select_for_update(of=("self",))
                .select_related("ticket__shop")
                .filter(pk=record_id, warning_notified_at__isnull=True)
                .first()
            )
            if record is None or record.due_at is None:
                continue
            record.warning_notified_at = now
            record.save(update_fields=["warning_notified_at"])
            event_append(
                shop=record.ticket.shop,
                ticket=record.ticket,
                type="sla.warning",
                actor_kind=ActorKind.SYSTEM,
                payload={
                    "metric": record.metric,
                    "cycle": record.cycle,
                    "due_at": record.due_at.isoformat(),
                    "policy_id": record.policy_id,
                    "minutes_left": int((record.due_at - now).total_seconds() // 60),
                },
                occurred_at=now,
            )
            warned += 1
    return warned


ROUTING_CURSOR = "operations.routing"


def routing_candidates(*, shop: Shop, now: dt.datetime) -> list[Candidate]:
    """Return the shop's operators with duty, skills and open-ticket load at `now`.

    On duty means: status "available" and a shift covering `now`. Load counts unsolved tickets
    assigned to the operator in every shop they work, hence the unscoped count.
    """
    staff_ids = [user.id for user in shop_staff(shop_id=shop.id)]
    with unscoped("routing reads operators' duty and load across their shops"):
        memberships = list(
            Membership.objects.filter(
                user_id__in=staff_ids, role=Membership.Role.OPERATOR, is_active=True
            ).select_related("operator_profile")
        )
        on_shift = set(
            Shift.objects.filter(
                membership__in=memberships, starts_at__lte=now, ends_at__gt=now
            ).values_list("membership_id", flat=True)
        )
        loads = dict(
            Ticket.objects.filter(assignee_id__in=staff_ids)
            .unsolved()
            .values("assignee_id")
            .annotate(count=models.Count("id"))
            .values_list("assignee_id", "count")
        )
    candidates: dict[int, Candidate] = {}
    for membership in memberships:
        profile: OperatorProfile | None = getattr(membership, "operator_profile", None)
        is_available = profile is not None and profile.duty == OperatorProfile.Duty.AVAILABLE
        candidate = Candidate(
            user_id=membership.user_id,
            is_on_duty=is_available and membership.id in on_shift,
            languages=frozenset(profile.languages if profile else ()),
            open_tickets=loads.get(membership.user_id, 0),
        )
        current = candidates.get(candidate.user_id)
        if current is None or (candidate.is_on_duty and not current.is_on_duty):
            candidates[candidate.user_id] = candidate
    return list(candidates.values())


def route_ticket(*, ticket_id: int, now: dt.datetime | None = None) -> User | None:
    """Assign a new unassigned ticket by the shop's routing rule for the ticket's channel (a
    channel may be routed differently from the shop's mode); return the assignee or None."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_related("shop").get(pk=ticket_id)
    settings = RoutingSettings.objects.filter(shop_id=ticket.shop_id).first()
    if settings is None:
        return None
    mode = settings.mode_for_channel(ticket.channel)
    if mode == RoutingSettings.Mode.MANUAL:
        return None
    if ticket.assignee_id is not None or not ticket.is_unsolved:
        return None
    pool = eligible(
        routing_candidates(shop=ticket.shop, now=now),
        language=ticket.language,
        max_open=settings.max_open_per_operator,
        requires_language=settings.requires_language_skill,
        requires_on_duty=settings.requires_on_duty,
        online=online_users(channel=ticket.channel, shop_id=ticket.shop_id, now=now),
    )
    pick = pick_least_load if mode == RoutingSettings.Mode.LEAST_LOAD else pick_round_robin
    user_id = pick(pool, last_user_id=settings.last_assigned_user_id)
    if user_id is None:
        return None
    assignee = User.objects.get(pk=user_id)
    with transaction.atomic():
        if ticket_route(ticket_id=ticket.id, assignee=assignee, rule=mode) is None:
            return None
        RoutingSettings.objects.filter(pk=settings.pk).update(last_assigned_user=assignee)
    return assignee


def route_new_tickets(*, batch_size: int = 500) -> int:
    """Route tickets created since the routing cursor; return how many were assigned.

    The routing settings of the batch's shops are read once: a ticket of a shop without
    automatic routing for its channel is passed over without a query of its own (the periodic
    job shares the web process's CPU in the embedded default, so a burst of new chats must
    cost little).
    """
    cursor = consumer_position(name=ROUTING_CURSOR)
    with unscoped("routing reads every shop's new tickets"):
        rows = list(
            Event.objects.filter(id__gt=cursor, type="ticket.created")
            .order_by("id")
            .values_list("id", "shop_id", "ticket_id", "payload")[:batch_size]
        )
        routing = {
            row.shop_id: row
            for row in RoutingSettings.objects.filter(shop_id__in={row[1] for row in rows})
        }
    assigned = 0
    for _event_id, shop_id, ticket_id, payload in rows:
        settings = routing.get(shop_id)
        channel = (payload or {}).get("channel")
        if settings is None or (
            channel and settings.mode_for_channel(channel) == RoutingSettings.Mode.MANUAL
        ):
            continue
        with in_shop(shop_id):
            if route_ticket(ticket_id=ticket_id) is not None:
                assigned += 1
    if rows:
        consumer_advance(name=ROUTING_CURSOR, position=rows[-1][0])
    return assigned
