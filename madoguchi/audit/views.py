"""The audit log page of a workspace and its CSV download (read-only: entries never change)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_GET

from madoguchi.accounts.models import User
from madoguchi.audit import export, selectors, services
from madoguchi.audit.forms import AuditFilterForm
from madoguchi.audit.labels import action_label, group_of
from madoguchi.core.client_address import client_address
from madoguchi.tenancy.access import Actor


def _reach(request: HttpRequest) -> selectors.AuditReach:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return selectors.access_audit_log(actor=actor, slug=request.GET.get("workspace") or None)


def _query_without(query: QueryDict, *names: str) -> str:
    kept = query.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The entries of a workspace, newest first, filtered, a page at a time."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    reach = _reach(request)
    form = AuditFilterForm(request.GET or None, reach=reach)
    before = request.GET.get("before", "")
    page = selectors.audit_page(
        reach, form.filters(), before=int(before) if before.isdigit() else None
    )
    rows = [
        (entry, action_label(entry.action), group_of(entry.action).label) for entry in page.entries
    ]
    return render(
        request,
        "audit/log.html",
        {
            "reach": reach,
            "workspaces": selectors.readable_workspaces(actor),
            "form": form,
            "rows": rows,
            "next_before": page.next_before,
            "query": _query_without(request.GET, "before"),
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


@login_required
@require_GET
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """Every entry that passes the page's filters as CSV; the download itself is audited."""
    reach = _reach(request)
    form = AuditFilterForm(request.GET or None, reach=reach)
    filters = form.filters()
    user = request.user
    assert isinstance(user, User)
    services.audit_export_record(
        actor=user,
        workspace_id=reach.workspace.id,
        filters=filters.as_dict(),
        count=selectors.filtered_entries(reach, filters).count(),
        ip_address=client_address(request),
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        export.csv_lines(
            selectors.export_rows(reach, filters), language=translation.get_language()
        ),
        content_type="text/csv; charset=utf-8",
    )
    filename = f"audit-{reach.workspace.slug}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
