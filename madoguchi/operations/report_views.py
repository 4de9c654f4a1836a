"""Reports of a shop's operations: SLA attainment per policy and metric for a month.

Who reads it: the shop's supervisors and admins, and the shop's client (owner) users, since the
service level is what their contract buys; operators do not (403). Only aggregates are shown,
never a ticket. Strangers get 404.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from madoguchi.core.errors import PermissionDeniedError
from madoguchi.operations.attainment import month_period, sla_attainment
from madoguchi.operations.schedule import shop_zone
from madoguchi.operations.schedule_forms import parse_month
from madoguchi.operations.view_access import request_actor
from madoguchi.tenancy.access import Actor, access_shop
from madoguchi.tenancy.models import Membership


def may_read_attainment(actor: Actor, shop_id: int) -> bool:
    """Whether the actor reads the shop's SLA attainment: its leads and its client users."""
    return actor.is_lead_for(shop_id) or actor.role_for(shop_id) == Membership.Role.CLIENT


def _hours_minutes(value: dt.timedelta | None) -> str:
    """Return a duration as h:mm (seconds rounded down); empty for None."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


@login_required
@require_GET
def attainment(request: HttpRequest, shop_slug: str) -> HttpResponse:
    """Show the month's SLA attainment of the shop (default: the current month in Tokyo)."""
    actor = request_actor(request)
    shop = access_shop(actor=actor, slug=shop_slug)
    if not may_read_attainment(actor, shop.id):
        raise PermissionDeniedError("Only the shop's supervisors and its client may read this.")
    zone = shop_zone(shop)
    today = timezone.localtime(timezone.now(), zone).date()
    year, month = parse_month(request.GET.get("month"), today)
    period = month_period(year, month, time_zone=zone.key)
    rows = sla_attainment(shop_ids=(shop.id,), period=period, now=timezone.now())
    first = dt.date(year, month, 1)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=31)).replace(day=1)
    return render(
        request,
        "operations/attainment.html",
        {
            "shop": shop,
            "is_lead": actor.is_lead_for(shop.id),
            "is_staff": actor.is_staff_for(shop.id),
            "rows": [(row, _hours_minutes(row.median), _hours_minutes(row.p90)) for row in rows],
            "month": first,
            "previous_month": f"{previous:%Y-%m}",
            "next_month": f"{following:%Y-%m}",
            "time_zone": zone.key,
        },
    )
