"""The analytics CSV downloads: the dashboard's readers and filters, operator names only where
allowed, UTF-8 with a BOM or CP932, formula-safe cells, streamed in bounded memory, audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from madoguchi.analytics.models import AnalyticsSettings, TicketFact
from madoguchi.analytics.services import analytics_apply_new_events
from madoguchi.analytics.tests.history import TOKYO, build
from madoguchi.audit.models import AuditEntry
from madoguchi.conversations.models import Ticket
from madoguchi.core.db import insert_all
from madoguchi.core.testing import factories
from madoguchi.tenancy.scoping import unscoped

NOVEMBER = "date_from=2026-11-01&date_to=2026-11-30"
TICKETS = reverse("analytics:export_tickets")
METRICS = reverse("analytics:export_metrics")


@pytest.fixture
def history(world):
    with unscoped("test setup"):
        made = build(tea=world.tea, ceramics=world.ceramics, operator=world.operator_tea)
    analytics_apply_new_events()
    return made


def rows_of(response, encoding: str = "utf-8-sig") -> list[list[str]]:
    body = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(body.decode(encoding), newline="")))


def test_supervisor_exports_the_tickets_as_utf8_with_a_bom_and_it_is_audited(
    english, world, history
):
    english.force_login(world.supervisor)
    response = english.get(f"{TICKETS}?shop=tea&{NOVEMBER}", REMOTE_ADDR="192.0.2.15")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="tickets-tea-20261101-20261130.csv"'
    )
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0][:3] == ["Ticket", "Shop", "Subject"]
    assert rows[0][-1] == "Operator"
    assert len(rows) == 1 + 4
    # Newest first, as the drill-down list.
    assert [row[0] for row in rows[1:]] == [
        f"TEA-{ticket.number}" for ticket in (history.t4, history.t3, history.t2, history.t1)
    ]
    assert world.operator_tea.display_name in {row[-1] for row in rows[1:]}
    assert "CER-" not in body.decode("utf-8-sig")
    with unscoped("test check"):
        entry = AuditEntry.objects.get(action="analytics.exported")
    assert entry.actor_id == world.supervisor.id
    assert entry.shop_id == world.tea.id
    assert entry.ip_address == "192.0.2.15"
    assert entry.changes == {
        "kind": "tickets",
        "figure": "tickets",
        "filters": {
            "shops": [world.tea.id],
            "date_from": "2026-11-01",
            "date_to": "2026-11-30",
            "channel": "",
            "category": None,
            "operator": None,
        },
        "encoding": "utf-8",
        "rows": 4,
        "operator_names": True,
    }


def test_the_figure_and_filters_narrow_the_export(english, world, history):
    english.force_login(world.supervisor)
    reopened = rows_of(english.get(f"{TICKETS}?shop=tea&{NOVEMBER}&figure=reopened"))
    assert [row[0] for row in reopened[1:]] == [f"TEA-{history.t3.number}"]
    chat = rows_of(english.get(f"{TICKETS}?shop=tea&{NOVEMBER}&channel=chat"))
    assert {row[4] for row in chat[1:]} == {"Chat"}
    durations = rows_of(
        english.get(f"{TICKETS}?shop=tea&{NOVEMBER}&figure=duration:first_response")
    )
    assert durations[0][-2:] == ["Business time (seconds)", "Elapsed time (seconds)"]
    seconds = [int(row[-2]) for row in durations[1:]]
    assert seconds == sorted(seconds, reverse=True)
    # An unknown figure exports every ticket of the period, as the drill-down page lists them.
    assert len(rows_of(english.get(f"{TICKETS}?shop=tea&{NOVEMBER}&figure=nonsense"))) == 5


def test_client_gets_no_operator_names_unless_the_shop_allows(english, world, history):
    english.force_login(world.client_tea)
    rows = rows_of(english.get(f"{TICKETS}?{NOVEMBER}"))
    assert "Operator" not in rows[0]
    assert len(rows) == 5
    assert world.operator_tea.display_name not in str(rows)
    metrics = rows_of(english.get(f"{METRICS}?{NOVEMBER}"))
    assert "By operator" not in {row[0] for row in metrics}
    with unscoped("test setup"):
        AnalyticsSettings.objects.create(shop=world.tea, shows_operator_names_to_client=True)
    rows = rows_of(english.get(f"{TICKETS}?{NOVEMBER}"))
    assert rows[0][-1] == "Operator"
    assert world.operator_tea.display_name in {row[-1] for row in rows[1:]}


def test_other_shop_is_not_found_and_operators_are_refused(english, world, history):
    english.force_login(world.client_tea)
    assert english.get(f"{TICKETS}?shop=ceramics&{NOVEMBER}").status_code == 404
    assert english.get(f"{METRICS}?shop=ceramics&{NOVEMBER}").status_code == 404
    english.force_login(world.operator_tea)
    assert english.get(f"{TICKETS}?shop=tea&{NOVEMBER}").status_code == 403
    assert english.get(f"{METRICS}?shop=tea&{NOVEMBER}").status_code == 403
    with unscoped("test check"):
        assert not AuditEntry.objects.filter(action="analytics.exported").exists()


def test_cp932_export_replaces_what_shift_jis_cannot_hold_and_neutralises_formulas(
    world, english, history
):
    with unscoped("test setup"):
        Ticket.objects.filter(id=history.t1.id).update(subject='=HYPERLINK("x") 𠮷野家😀')
    english.force_login(world.supervisor)
    response = english.get(f"{TICKETS}?shop=tea&{NOVEMBER}&encoding=cp932")
    assert response["Content-Type"] == "text/csv; charset=Shift_JIS"
    assert response["Content-Disposition"].endswith('-sjis.csv"')
    body = b"".join(response.streaming_content)
    assert not body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("cp932"), newline="")))
    assert rows[0][0] == "Ticket"
    subjects = {row[0]: row[2] for row in rows[1:]}
    assert subjects[f"TEA-{history.t1.number}"] == '\'=HYPERLINK("x") 〓野家〓'
    with unscoped("test check"):
        assert AuditEntry.objects.get(action="analytics.exported").changes["encoding"] == "cp932"


def test_japanese_labels_in_the_default_language(client, world, history):
    client.force_login(world.supervisor)
    rows = rows_of(client.get(f"{TICKETS}?shop=tea&{NOVEMBER}&encoding=cp932"), "cp932")
    assert rows[0][0] == "チケット"
    assert "メール" in {row[4] for row in rows[1:]}


def test_metrics_export_holds_the_dashboards_figures(english, world, history):
    english.force_login(world.supervisor)
    response = english.get(f"{METRICS}?shop=tea&{NOVEMBER}")
    assert response["Content-Disposition"] == (
        'attachment; filename="metrics-tea-20261101-20261130.csv"'
    )
    rows = rows_of(response)
    assert rows[0] == ["Section", "Figure", "This period", "Previous period"]
    figures = {(row[0], row[1]): row[2:] for row in rows[1:]}
    # The same numbers as the dashboard's summary (test_views): 4 tickets, 3 new, 1 returning.
    assert figures[("Summary", "Tickets")][0] == "4"
    assert figures[("Summary", "New customers")][0] == "3"
    assert figures[("Summary", "Returning customers")][0] == "1"
    assert figures[("By category", "配送")][0] != ""
    assert ("By operator", world.operator_tea.display_name) in figures
    with unscoped("test check"):
        entry = AuditEntry.objects.get(action="analytics.exported")
    assert entry.changes["kind"] == "metrics"
    assert entry.changes["rows"] == len(rows) - 1


def test_dashboard_and_drilldown_show_the_download_buttons(english, world, history):
    english.force_login(world.supervisor)
    html = english.get(f"{reverse('analytics:dashboard')}?shop=tea&{NOVEMBER}").content.decode()
    assert 'data-testid="export-tickets"' in html
    assert 'data-testid="export-metrics-sjis"' in html
    assert f"{TICKETS}?shop=tea&amp;date_from=2026-11-01" in html
    drill = english.get(
        f"{reverse('analytics:tickets')}?shop=tea&{NOVEMBER}&figure=reopened"
    ).content.decode()
    assert "figure=reopened" in drill.split('data-testid="export-tickets"')[1].split(">")[0]
    assert 'data-testid="export-metrics"' not in drill


def _many_tickets(shop, count: int) -> None:
    """`count` tickets of the shop in November with their facts, written in bulk."""
    customer = factories.CustomerFactory(shop=shop)
    start = dt.datetime(2026, 11, 1, tzinfo=TOKYO)
    tickets = [
        Ticket(
            shop=shop,
            number=100_000 + index,
            subject=f"注文の件 {index} について、配送状況を教えてください",
            channel="email",
            customer=customer,
            status="open",
            created_at=start + dt.timedelta(seconds=index * 60),
            last_activity_at=start,
        )
        for index in range(count)
    ]
    Ticket.objects.bulk_create(tickets, batch_size=2000)
    ids = Ticket.objects.filter(shop=shop, number__gte=100_000).values_list("id", "created_at")
    insert_all(
        [
            TicketFact(
                shop_id=shop.id,
                ticket_id=ticket_id,
                created_at=created_at,
                created_on=created_at.astimezone(TOKYO).date(),
                created_hour=created_at.astimezone(TOKYO).hour,
                created_weekday=created_at.astimezone(TOKYO).weekday(),
                channel="email",
                status="open",
            )
            for ticket_id, created_at in ids
        ]
    )


def _peak_while_streaming(english, url: str) -> tuple[int, int]:
    """The download's line count and the peak of memory allocated while it streamed."""
    response = english.get(url)
    assert isinstance(response, StreamingHttpResponse)
    tracemalloc.start()
    try:
        lines = sum(chunk.count(b"\r\n") for chunk in response.streaming_content)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return lines, peak


def test_a_large_export_streams_in_bounded_memory(english, world):
    """Security checklist case 52: ten times the rows take no more memory to stream (the
    rows are read in chunks and written a line at a time)."""
    with unscoped("test setup"):
        _many_tickets(world.tea, 2_000)
        _many_tickets(world.ceramics, 20_000)
    english.force_login(world.supervisor)
    small_lines, small_peak = _peak_while_streaming(english, f"{TICKETS}?shop=tea&{NOVEMBER}")
    large_lines, large_peak = _peak_while_streaming(english, f"{TICKETS}?shop=ceramics&{NOVEMBER}")
    assert (small_lines, large_lines) == (1 + 2_000, 1 + 20_000)
    # Holding the 20,000 rows would take over ten times the memory of the 2,000; streaming
    # holds about one chunk either way (plus garbage not yet collected and driver buffers).
    assert large_peak < small_peak * 2 + 512 * 1024, (small_peak, large_peak)
    with unscoped("test check"):
        counted = sorted(
            entry.changes["rows"]
            for entry in AuditEntry.objects.filter(action="analytics.exported")
        )
    assert counted == [2_000, 20_000]
