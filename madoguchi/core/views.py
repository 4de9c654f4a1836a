import logging
import sys
import uuid

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from madoguchi.core.job_health import job_health
from madoguchi.core.navigation import menu_counts as counts_for
from madoguchi.tenancy.access import Actor, access_shop

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer whether the database can be reached: `{"status": "ok"}` and nothing more.

    The shape is a contract (DESIGN.md) for load balancers and monitors; how the periodic jobs
    run is `healthz_jobs`.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse({"status": "error"}, status=503)
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def healthz_jobs(request: HttpRequest) -> JsonResponse:
    """Answer how each periodic job last ran, for monitoring (core.job_health, ADR 0016).

    Job names and times only, no process names. A stale job does not fail the answer (200 with
    `stale_jobs`): the web process itself is healthy, and a monitor alerts on the list.
    """
    try:
        jobs = job_health()
    except Exception:
        return JsonResponse({"status": "error"}, status=503)
    return JsonResponse(
        {
            "status": "ok",
            "stale_jobs": [job.name for job in jobs if job.is_stale],
            "jobs": {job.name: job.as_json() for job in jobs},
        }
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "core/not_found.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """An unexpected failure: a generic page with a support id, never the failure's details.

    The id goes to the log with the failure's type and the path (Django's own `django.request`
    entry before it has the traceback), so support finds the entry the user quotes. The page is
    rendered without a request context: the database may be what failed.
    """
    support_id = uuid.uuid4().hex[:12]
    failure = sys.exc_info()[0]
    logger.error(
        "server error %s: %s at %s",
        support_id,
        failure.__name__ if failure else "unknown",
        request.path,
    )
    page = render_to_string("core/server_error.html", {"support_id": support_id})
    response = HttpResponse(page, status=500)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def menu_counts(request: HttpRequest) -> HttpResponse:
    """The menu's attention counts for one shop (`?shop=`), loaded by htmx after the page."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    shop = access_shop(actor=actor, slug=request.GET.get("shop", ""))
    links = counts_for(actor, shop.id, shop.slug)
    return render(request, "core/_menu_counts.html", {"count_links": links})
