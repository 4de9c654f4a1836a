"""The ticket page's handle-time heartbeat: staff of the shop only, CSRF, capped, rate-limited."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from madoguchi.analytics.handle_time import ticket_work_record
from madoguchi.conversations.selectors import access_ticket
from madoguchi.core.rate_limits import hit
from madoguchi.tenancy.access import Actor

# The page sends one beat per ~30 s and one on leaving; anything far above is not a page.
BEATS_PER_MINUTE = 12


def _seconds(raw: str | None) -> int:
    try:
        return max(0, int(raw or "0"))
    except ValueError:
        return 0


@login_required
@require_POST
def ticket_worked(request: HttpRequest, shop_slug: str, number: int) -> HttpResponse:
    """Record time worked on the ticket (`seconds`, of which `composing` typing); 204."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    ticket = access_ticket(actor=actor, shop_slug=shop_slug, number=number)
    assert actor.user is not None
    multiplier = int(settings.MADOGUCHI.get("RATE_LIMIT_MULTIPLIER", 1))
    if hit(f"worked:{actor.user.id}", window=60) > BEATS_PER_MINUTE * multiplier:
        return HttpResponse(status=429)
    ticket_work_record(
        actor=actor,
        ticket=ticket,
        seconds=_seconds(request.POST.get("seconds")),
        composing_seconds=_seconds(request.POST.get("composing")),
    )
    return HttpResponse(status=204)
