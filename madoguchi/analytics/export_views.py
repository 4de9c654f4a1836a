"""The analytics CSV downloads: the tickets behind a figure and the dashboard's figures.

The same readers and filters as the dashboard (`views._parse`: a shop the reader cannot see is
a 404, operators are refused); client users get operator names only where the shop allows it.
`?encoding=cp932` writes Shift_JIS for Excel (characters it cannot hold become 〓), anything
else UTF-8 with a BOM. Every download is an audit entry (`analytics.exported`) naming the
filters, the figure, the encoding and the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone, translation
from django.views.decorators.http import require_GET

from madoguchi.accounts.models import User
from madoguchi.analytics import exports
from madoguchi.analytics.views import Request, _parse
from madoguchi.audit import actions
from madoguchi.audit.services import record
from madoguchi.core import csv
from madoguchi.core.client_address import client_address


def _encoding(request: HttpRequest) -> str:
    return csv.CP932 if request.GET.get("encoding") == csv.CP932 else csv.UTF8


def _audit(
    request: HttpRequest, parsed: Request, *, kind: str, figure: str, encoding: str, rows: int
) -> None:
    user = request.user
    assert isinstance(user, User)
    record(
        actor=user,
        action=actions.ANALYTICS_EXPORTED,
        shop=parsed.shop,
        changes={
            "kind": kind,
            "figure": figure,
            "filters": {
                "shops": list(parsed.filters.shop_ids),
                "date_from": parsed.date_from.isoformat(),
                "date_to": parsed.date_to.isoformat(),
                "channel": parsed.filters.channel,
                "category": parsed.filters.category_id,
                "operator": parsed.filters.assignee_id,
            },
            "encoding": encoding,
            "rows": rows,
            "operator_names": parsed.with_operators,
        },
        ip_address=client_address(request),
    )


def _download(
    rows_bytes: Iterator[bytes], *, parsed: Request, kind: str, encoding: str
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(rows_bytes, content_type=csv.content_type(encoding))
    scope = parsed.shop.slug if parsed.shop else "all"
    suffix = "-sjis" if encoding == csv.CP932 else ""
    filename = f"{kind}-{scope}-{parsed.date_from:%Y%m%d}-{parsed.date_to:%Y%m%d}{suffix}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def export_tickets(request: HttpRequest) -> StreamingHttpResponse:
    """Stream the tickets behind a figure (`figure`, as the drill-down list) as CSV."""
    parsed = _parse(request, request.GET)
    figure = request.GET.get("figure", "tickets")
    now = timezone.now()
    try:
        export = exports.ticket_export(
            parsed.filters, figure=figure, now=now, with_operators=parsed.with_operators
        )
    except ValueError:
        figure = "tickets"
        export = exports.ticket_export(
            parsed.filters, figure=figure, now=now, with_operators=parsed.with_operators
        )
    encoding = _encoding(request)
    _audit(
        request,
        parsed,
        kind=exports.KIND_TICKETS,
        figure=figure,
        encoding=encoding,
        rows=export.count,
    )
    language = translation.get_language()
    body = csv.csv_bytes(
        exports.ticket_header(export),
        exports.ticket_lines(export, language=language),
        encoding=encoding,
    )
    return _download(body, parsed=parsed, kind=exports.KIND_TICKETS, encoding=encoding)


@login_required
@require_GET
def export_metrics(request: HttpRequest) -> StreamingHttpResponse:
    """The dashboard's figures, this period and the previous one, as CSV."""
    parsed = _parse(request, request.GET)
    rows = exports.metric_rows(
        parsed.filters, now=timezone.now(), with_operators=parsed.with_operators
    )
    encoding = _encoding(request)
    _audit(
        request,
        parsed,
        kind=exports.KIND_METRICS,
        figure="",
        encoding=encoding,
        rows=len(rows),
    )
    body = csv.csv_bytes(exports.metric_header(), rows, encoding=encoding)
    return _download(body, parsed=parsed, kind=exports.KIND_METRICS, encoding=encoding)
