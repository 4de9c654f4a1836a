"""Keep the analytics facts current from the event log, rebuild them, and save the settings.

The periodic job reads each shop's new events from a cursor of its own
(`analytics.shop.<id>` in `events.ConsumerCursor`) and recomputes the facts of every ticket
they touch; `analytics_rebuild` recomputes every ticket of a shop, in place. Both go through
`ticket_facts_refresh`, so they store the same rows (ADR 0022).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Max

from madoguchi.accounts.models import User
from madoguchi.analytics import topics
from madoguchi.analytics.facts import RESOLVED_STATUSES, EventRow, ticket_figures
from madoguchi.analytics.models import (
    AnalyticsSettings,
    DailyCount,
    DailyDistribution,
    DurationFact,
    HandleFact,
    TagFact,
    TicketFact,
)
from madoguchi.analytics.rollups import days_of, days_recompute
from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.conversations.models import Ticket
from madoguchi.core.db import insert_all
from madoguchi.events.models import Event
from madoguchi.events.selectors import events_after
from madoguchi.events.services import consumer_advance, consumer_lock, consumer_position
from madoguchi.operations.calendar import BusinessCalendar
from madoguchi.operations.selectors import calendar_for_shop
from madoguchi.tenancy.models import Shop
from madoguchi.tenancy.scoping import in_shop, unscoped

APPLY_BATCH = 2000
REFRESH_BATCH = 500


def cursor_name(shop_id: int) -> str:
    return f"analytics.shop.{shop_id}"


def facts_lock(shop_id: int) -> int:
    """Take the shop's turn to write its facts and rollups until the transaction ends; return
    its cursor's position. Two writers that each delete and re-insert a day's rollups at once
    would otherwise both insert (PostgreSQL, read committed): the periodic job beside a rebuild
    counted every ticket twice."""
    return consumer_lock(name=cursor_name(shop_id))


def _facts_delete(ticket_ids: Sequence[int]) -> None:
    fact_ids = list(
        TicketFact.objects.filter(ticket_id__in=ticket_ids).values_list("id", flat=True)
    )
    if fact_ids:
        DurationFact.objects.filter(fact_id__in=fact_ids).delete()
        TagFact.objects.filter(fact_id__in=fact_ids).delete()
        HandleFact.objects.filter(fact_id__in=fact_ids).delete()
        topics.topic_facts_delete(fact_ids=fact_ids)
        TicketFact.objects.filter(id__in=fact_ids).delete()


@transaction.atomic
def ticket_facts_refresh(
    *, shop_id: int, ticket_ids: Iterable[int], calendar: BusinessCalendar | None = None
) -> int:
    """Recompute the facts of these tickets of the shop from their events; return how many.

    The dimensions (channel, category, tags, assignee, customer) are the ticket's current ones,
    which every change of them announces with an event; the times come from the events. The
    caller runs in the shop's scope.
    """
    wanted = sorted(set(ticket_ids))
    if not wanted:
        return 0
    facts_lock(shop_id)
    calendar = calendar or calendar_for_shop(shop_id=shop_id)
    zone = ZoneInfo(calendar.time_zone)
    tickets = list(
        Ticket.objects.filter(shop_id=shop_id, id__in=wanted)
        .only(
            "id",
            "shop_id",
            "created_at",
            "channel",
            "category_id",
            "assignee_id",
            "customer_id",
            "status",
        )
        .prefetch_related("tags")
    )
    events: dict[int, list[EventRow]] = defaultdict(list)
    rows = Event.objects.filter(shop_id=shop_id, ticket_id__in=wanted).values_list(
        "ticket_id", "id", "type", "occurred_at", "payload", "actor_user_id"
    )
    for ticket_id, event_id, event_type, occurred_at, payload, actor_user_id in rows:
        events[ticket_id].append(
            EventRow(event_id, event_type, occurred_at, payload or {}, actor_user_id)
        )
    topic_days = topics.topic_days(shop_id=shop_id, ticket_ids=wanted)
    old_days = set(
        TicketFact.objects.filter(ticket_id__in=wanted).values_list("created_on", flat=True)
    ) | days_of(
        DurationFact.objects.filter(fact__ticket_id__in=wanted).values_list(
            "started_at", flat=True
        ),
        zone,
    )
    _facts_delete(wanted)
    facts: list[TicketFact] = []
    durations: list[tuple[TicketFact, list[DurationFact]]] = []
    tags: list[tuple[TicketFact, list[TagFact]]] = []
    handles: list[tuple[TicketFact, list[HandleFact]]] = []
    for ticket in tickets:
        figures = ticket_figures(
            created_at=ticket.created_at, events=events.get(ticket.id, ()), calendar=calendar
        )
        local = ticket.created_at.astimezone(zone)
        is_resolved = ticket.status in RESOLVED_STATUSES
        fact = TicketFact(
            shop_id=shop_id,
            ticket_id=ticket.id,
            created_at=ticket.created_at,
            created_on=local.date(),
            created_hour=local.hour,
            created_weekday=local.weekday(),
            channel=ticket.channel,
            category_id=ticket.category_id,
            assignee_id=ticket.assignee_id,
            customer_id=ticket.customer_id,
            is_new_customer=False,
            status=ticket.status,
            is_open=ticket.status in Ticket.UNSOLVED_STATUSES,
            is_resolved=is_resolved,
            was_ever_resolved=figures.was_ever_resolved or is_resolved,
            resolved_at=figures.resolved_at if is_resolved else None,
            reply_count=figures.reply_count,
            reopen_count=figures.reopen_count,
            is_one_touch=is_resolved and figures.reply_count == 1 and figures.reopen_count == 0,
            is_csat_requested=figures.is_csat_requested,
            csat_score=figures.csat_score,
            last_event_id=figures.last_event_id,
        )
        facts.append(fact)
        durations.append(
            (
                fact,
                [
                    DurationFact(
                        shop_id=shop_id,
                        metric=duration.metric,
                        cycle=duration.cycle,
                        started_at=duration.started_at,
                        completed_at=duration.completed_at,
                        business_seconds=duration.business_seconds,
                        elapsed_seconds=duration.elapsed_seconds,
                        channel=ticket.channel,
                        category_id=ticket.category_id,
                        assignee_id=ticket.assignee_id,
                    )
                    for duration in figures.durations
                ],
            )
        )
        handles.append(
            (
                fact,
                [
                    HandleFact(
                        shop_id=shop_id,
                        operator_id=work.user_id,
                        seconds=work.seconds,
                        composing_seconds=work.composing_seconds,
                    )
                    for work in figures.work
                ],
            )
        )
        tags.append(
            (
                fact,
                [
                    TagFact(shop_id=shop_id, tag_id=tag.id, name=tag.name)
                    for tag in ticket.tags.all()
                ],
            )
        )
    insert_all(facts)
    children_durations = []
    for fact, items in durations:
        for item in items:
            item.fact_id = fact.pk
            children_durations.append(item)
    children_tags = []
    for fact, tag_items in tags:
        for tag_item in tag_items:
            tag_item.fact_id = fact.pk
            children_tags.append(tag_item)
    if children_durations:
        insert_all(children_durations)
    if children_tags:
        insert_all(children_tags)
    children_handles = []
    for fact, handle_items in handles:
        for handle_item in handle_items:
            handle_item.fact_id = fact.pk
            children_handles.append(handle_item)
    if children_handles:
        insert_all(children_handles)
    topics.topic_facts_store(shop_id=shop_id, facts=facts, days=topic_days)
    customer_ids = {ticket.customer_id for ticket in tickets if ticket.customer_id}
    flagged_days = customer_flags_refresh(shop_id=shop_id, customer_ids=customer_ids)
    # The daily rollups of every day these facts counted in, before and after (ADR 0022).
    days_recompute(
        shop_id=shop_id,
        days=old_days
        | flagged_days
        | {fact.created_on for fact in facts}
        | days_of((item.started_at for item in children_durations), zone),
        zone=zone,
    )
    return len(tickets)


def customer_flags_refresh(*, shop_id: int, customer_ids: Iterable[int]) -> set[dt.date]:
    """Mark each customer's first ticket in the shop (by creation time, then id) as new and
    the later ones as returning; return the local days of the facts changed."""
    wanted = list(customer_ids)
    if not wanted:
        return set()
    rows = (
        TicketFact.objects.filter(shop_id=shop_id, customer_id__in=wanted)
        .order_by("customer_id", "created_at", "ticket_id")
        .values_list("id", "customer_id", "is_new_customer", "created_on")
    )
    seen: set[int] = set()
    to_new, to_returning = [], []
    changed_days: set[dt.date] = set()
    for fact_id, customer_id, is_new, created_on in rows:
        if customer_id is None:
            continue
        should_be_new = customer_id not in seen
        seen.add(customer_id)
        if should_be_new and not is_new:
            to_new.append(fact_id)
            changed_days.add(created_on)
        elif not should_be_new and is_new:
            to_returning.append(fact_id)
            changed_days.add(created_on)
    if to_new:
        TicketFact.objects.filter(id__in=to_new).update(is_new_customer=True)
    if to_returning:
        TicketFact.objects.filter(id__in=to_returning).update(is_new_customer=False)
    return changed_days


def _touched_tickets(shop_id: int, rows: Sequence[tuple[int, int | None, str, dict]]) -> set[int]:  # type: ignore[type-arg]
    touched = {ticket_id for _id, ticket_id, _type, _payload in rows if ticket_id is not None}
    merged_into = set()
    for _id, _ticket_id, event_type, payload in rows:
        if event_type == "customer.merged" and isinstance(payload, dict):
            target = payload.get("target_id")
            if isinstance(target, int):
                merged_into.add(target)
    if merged_into:
        touched.update(
            Ticket.objects.filter(shop_id=shop_id, customer_id__in=merged_into).values_list(
                "id", flat=True
            )
        )
    return touched


def analytics_apply_shop(*, shop_id: int, batch_size: int = APPLY_BATCH) -> int:
    """Apply the shop's events since its cursor to the facts; return how many events.

    Runs in the shop's scope; each batch and its cursor move commit together.
    """
    applied = 0
    calendar = calendar_for_shop(shop_id=shop_id)
    while True:
        position = consumer_position(name=cursor_name(shop_id))
        if not events_after(shop_id=shop_id, cursor=position, limit=1).exists():
            return applied
        with transaction.atomic():
            position = facts_lock(shop_id)  # another writer may have moved it meanwhile
            rows = list(
                events_after(shop_id=shop_id, cursor=position, limit=batch_size).values_list(
                    "id", "ticket_id", "type", "payload"
                )
            )
            if rows:
                ticket_facts_refresh(
                    shop_id=shop_id, ticket_ids=_touched_tickets(shop_id, rows), calendar=calendar
                )
                consumer_advance(name=cursor_name(shop_id), position=rows[-1][0])
        applied += len(rows)
        if len(rows) < batch_size:
            return applied


def analytics_apply_new_events(*, batch_size: int = APPLY_BATCH) -> int:
    """Apply every shop's new events to the facts; return how many events (the periodic job)."""
    with unscoped("analytics lists the shops whose event logs it follows"):
        shop_ids = list(Shop.objects.order_by("id").values_list("id", flat=True))
    applied = 0
    for shop_id in shop_ids:
        with in_shop(shop_id):
            applied += analytics_apply_shop(shop_id=shop_id, batch_size=batch_size)
    return applied


def analytics_rebuild_shop(*, shop_id: int, batch_size: int = REFRESH_BATCH) -> int:
    """Recompute every fact of the shop from its events; return how many tickets.

    In place, a batch of tickets per transaction: each batch replaces its tickets' facts and
    recomputes the days they counted on, so a dashboard read during a rebuild counts every
    ticket once (some still measured by the old calendar), never a half-empty shop. Rollup
    days left without a ticket (a changed time zone moves the days) are recomputed last.
    The cursor moves to the newest event seen before the rebuild started, so the periodic job
    goes on from there (refreshing a ticket twice gives the same rows). Runs in the shop's scope.
    """
    newest = Event.objects.filter(shop_id=shop_id).aggregate(newest=Max("id"))["newest"] or 0
    calendar = calendar_for_shop(shop_id=shop_id)
    rebuilt = 0
    last_id = 0
    while True:
        ticket_ids = list(
            Ticket.objects.filter(shop_id=shop_id, id__gt=last_id)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ticket_ids:
            break
        rebuilt += ticket_facts_refresh(shop_id=shop_id, ticket_ids=ticket_ids, calendar=calendar)
        last_id = ticket_ids[-1]
    with transaction.atomic():
        facts_lock(shop_id)  # creates the cursor of a shop never applied
        ticket_days = set(
            TicketFact.objects.filter(shop_id=shop_id)
            .values_list("created_on", flat=True)
            .distinct()
        )
        rollup_days = set(
            DailyCount.objects.filter(shop_id=shop_id)
            .values_list("created_on", flat=True)
            .distinct()
        ) | set(
            DailyDistribution.objects.filter(shop_id=shop_id)
            .values_list("day", flat=True)
            .distinct()
        )
        days_recompute(
            shop_id=shop_id, days=rollup_days - ticket_days, zone=ZoneInfo(calendar.time_zone)
        )
        consumer_advance(name=cursor_name(shop_id), position=newest)
    return rebuilt


def analytics_rebuild(*, shop_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Rebuild the facts of these shops (all when None); return tickets per shop id."""
    if shop_ids is None:
        with unscoped("analytics rebuilds every shop's facts"):
            shop_ids = list(Shop.objects.order_by("id").values_list("id", flat=True))
    result = {}
    for shop_id in shop_ids:
        with in_shop(shop_id):
            result[shop_id] = analytics_rebuild_shop(shop_id=shop_id)
    return result


def analytics_settings_for(*, shop_id: int) -> AnalyticsSettings:
    """Return the shop's analytics settings (defaults, unsaved, when it has none)."""
    found = AnalyticsSettings.objects.filter(shop_id=shop_id).first()
    return found or AnalyticsSettings(shop_id=shop_id)


@transaction.atomic
def analytics_settings_save(
    *, user: User, shop: Shop, shows_operator_names_to_client: bool
) -> AnalyticsSettings:
    """Save whether the shop's client users see operator names in its analytics (audited)."""
    current = analytics_settings_for(shop_id=shop.id)
    old = current.shows_operator_names_to_client
    settings, _ = AnalyticsSettings.objects.update_or_create(
        shop=shop, defaults={"shows_operator_names_to_client": shows_operator_names_to_client}
    )
    if old != shows_operator_names_to_client or current.pk is None:
        record(
            actor=user,
            action=actions.ANALYTICS_SETTINGS_CHANGED,
            target=settings,
            shop=shop,
            changes={"shows_operator_names_to_client": [old, shows_operator_names_to_client]},
        )
    return settings
