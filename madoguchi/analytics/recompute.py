"""Recompute a shop's facts after its business calendar or time zone changed.

The facts hold business time measured by the calendar of the moment they were computed; the
periodic job refreshes a ticket only when it has new events. A change of the calendar (weekly
hours, holidays, closures, 24/365, the shop's time zone) therefore asks for a rebuild of the
shop's facts (`facts_rebuild_request`), which a task runs after the change commits.

Debounced: the request only stamps `FactsRebuild.requested_at`; a task is enqueued when none is
waiting already, deferred by `REBUILD_DELAY` where the task backend can defer, and the task
claims every request made until it starts. Several saves in a row give one rebuild; a save while
a rebuild runs gives one more after it (the running one may have read the old calendar).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from madoguchi.analytics.models import FactsRebuild
from madoguchi.core.tasks import task
from madoguchi.tenancy.scoping import in_shop

# Saves within this time of the first one share its rebuild (where the backend can defer).
REBUILD_DELAY = dt.timedelta(seconds=10)
# A request whose task has not started after this long gets a new task (a lost job).
QUEUED_TOO_LONG = dt.timedelta(minutes=10)
# A rebuild that has not finished after this long is taken to have died.
RUNNING_TOO_LONG = dt.timedelta(minutes=30)


def _is_waiting(state: FactsRebuild, now: dt.datetime) -> bool:
    """Whether a task for this pending request is queued and has not started yet."""
    if not state.is_pending:
        return False
    has_started = state.started_at is not None and state.started_at >= state.requested_at
    return not has_started and now - state.requested_at < QUEUED_TOO_LONG


def facts_rebuild_request(*, shop_id: int) -> None:
    """Ask for the shop's facts to be recomputed once the current transaction commits."""
    now = timezone.now()
    state = FactsRebuild.objects.filter(shop_id=shop_id).first()
    if state is not None and _is_waiting(state, now):
        # A queued task will claim this request too; move the stamp so it does.
        FactsRebuild.objects.filter(shop_id=shop_id).update(requested_at=now)
        return
    if state is None:
        try:
            with transaction.atomic():
                FactsRebuild.objects.create(shop_id=shop_id, requested_at=now)
        except IntegrityError:
            FactsRebuild.objects.filter(shop_id=shop_id).update(requested_at=now)
    else:
        FactsRebuild.objects.filter(shop_id=shop_id).update(requested_at=now)
    backend_defers = facts_rebuild_task.get_backend().supports_defer
    deferred = facts_rebuild_task.using(run_after=now + REBUILD_DELAY) if backend_defers else None
    transaction.on_commit(lambda: (deferred or facts_rebuild_task).enqueue(shop_id))


def _claim(shop_id: int, now: dt.datetime) -> dt.datetime | None:
    """Take the shop's pending request if no live rebuild runs; return the claim time."""
    pending = Q(finished_at__isnull=True) | Q(requested_at__gt=F("finished_at"))
    idle = (
        Q(started_at__isnull=True)
        | Q(finished_at__isnull=False, finished_at__gte=F("started_at"))
        | Q(started_at__lt=now - RUNNING_TOO_LONG)
    )
    claimed = FactsRebuild.objects.filter(
        pending, idle, shop_id=shop_id, requested_at__lte=now
    ).update(started_at=now)
    return now if claimed else None


def facts_rebuild_run(*, shop_id: int) -> int:
    """Run the shop's requested rebuilds until none is pending; return how many ran.

    Runs in the shop's scope. `finished_at` becomes the claim time: requests made while the
    rebuild ran stay pending and are claimed by the next round.
    """
    from madoguchi.analytics.services import analytics_rebuild_shop

    ran = 0
    while (claimed_at := _claim(shop_id, timezone.now())) is not None:
        analytics_rebuild_shop(shop_id=shop_id)
        FactsRebuild.objects.filter(shop_id=shop_id, started_at=claimed_at).update(
            finished_at=claimed_at, rebuild_count=F("rebuild_count") + 1
        )
        ran += 1
    return ran


@task()
def facts_rebuild_task(shop_id: int) -> int:
    """Recompute the shop's facts if a rebuild is still requested; return how many ran."""
    with in_shop(shop_id):
        return facts_rebuild_run(shop_id=shop_id)


def facts_rebuild_sweep(*, now: dt.datetime | None = None) -> list[int]:
    """Enqueue the rebuild of every shop whose request no task is taking: queued longer than
    `QUEUED_TOO_LONG` (a lost job, or a request a migration made) or running longer than
    `RUNNING_TOO_LONG` (a dead worker). Return the shops. Runs unscoped (the periodic job)."""
    now = now or timezone.now()
    pending = FactsRebuild.objects.filter(
        Q(finished_at__isnull=True) | Q(requested_at__gt=F("finished_at"))
    )
    lost = pending.filter(
        Q(started_at__isnull=True) | Q(started_at__lt=F("requested_at")),
        requested_at__lt=now - QUEUED_TOO_LONG,
    ) | pending.filter(started_at__lt=now - RUNNING_TOO_LONG)
    shop_ids = sorted(set(lost.values_list("shop_id", flat=True)))
    for shop_id in shop_ids:
        facts_rebuild_task.enqueue(shop_id)
    return shop_ids


def shops_recomputing(*, shop_ids: Sequence[int]) -> list[int]:
    """Return which of these shops have a requested or running rebuild of their facts."""
    return list(
        FactsRebuild.objects.filter(
            Q(finished_at__isnull=True) | Q(requested_at__gt=F("finished_at")),
            shop_id__in=list(shop_ids),
        ).values_list("shop_id", flat=True)
    )
