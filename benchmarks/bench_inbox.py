"""Time the inbox at scale: the server time of real requests through Django.

Cases: the operator's first page (open tickets of their shop, newest activity), a filtered view,
the supervisor's first page over all 10 shops, page 2 through the keyset cursor (the htmx
fragment the browser fetches), the ticket page and the customer page of the operator's customer
with the most tickets, and the sidebar counts alone (exact, and capped at 1000). Each
request goes through the whole middleware stack and template rendering with the in-process test
client. The query plans of the main queries are written to
`.bench/plans-inbox-<engine>-<scale>.txt`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.harness import BENCH_DIR, Result, log, run_engines, time_calls

TARGET_MS = 30.0
# A whole page of panels (timeline, orders, SLA, the customer's other tickets), as help search's
# HTTP case.
PAGE_TARGET_MS = 50.0
PAGES = ("ticket_page_operator", "customer_page_operator")
REQUESTS = 200
WARMUP = 20
COUNT_CAP = 1000  # the sidebar would show "999+"


def run(scale: str) -> list[Result]:
    return run_engines(__name__, scale, dataset="inbox")


def measure(*, engine: str, scale: str) -> list[Result]:
    """Seed (or reuse) the dataset, then time each case; runs inside the engine's process."""
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from benchmarks.seed import ensure_inbox_dataset
    from madoguchi.conversations.selectors import InboxFilters, inbox_counts, inbox_page
    from madoguchi.tenancy.access import actor_for_user
    from madoguchi.tenancy.scoping import shop_scope

    world = ensure_inbox_dataset(scale)
    operator = actor_for_user(world.operator)
    supervisor = actor_for_user(world.supervisor)
    default = InboxFilters()
    filtered = InboxFilters(priority="high", channel="email")
    with shop_scope(operator.shop_ids):
        cursor = inbox_page(actor=operator, filters=default).next_cursor or ""
    _write_plans(engine, scale, operator, supervisor, cursor)

    cases: list[tuple[str, Callable[[], object]]] = []
    try:
        inbox_url = reverse("conversations:inbox")
    except NoReverseMatch:
        inbox_url = ""
    mode = "view" if inbox_url else "selector"
    if inbox_url:
        operator_client = Client()
        operator_client.force_login(world.operator)
        supervisor_client = Client()
        supervisor_client.force_login(world.supervisor)

        def get(client: Client, query: str, path: str = "", **headers: str) -> Callable[[], object]:
            url = path or inbox_url
            url = f"{url}?{query}" if query else url

            def call() -> object:
                response = client.get(url, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {url} answered {response.status_code}")
                return response

            return call

        ticket_url, customer_url = _busiest_customer_pages(operator)
        cases += [
            ("inbox_operator_first_page", get(operator_client, "")),
            (
                "inbox_operator_filtered",
                get(operator_client, "view=open&priority=high&channel=email"),
            ),
            ("inbox_supervisor_first_page", get(supervisor_client, "")),
            (
                "inbox_operator_page2",
                get(operator_client, f"cursor={cursor}", **{"HX-Request": "true"}),
            ),
            # Security case 80: the pages staff open next, on the customer with most tickets.
            (PAGES[0], get(operator_client, "", ticket_url)),
            (PAGES[1], get(operator_client, "", customer_url)),
        ]
    else:

        def select(user: Any, filters: InboxFilters, cursor: str = "") -> Callable[[], object]:
            def call() -> object:
                actor = actor_for_user(user)
                with shop_scope(actor.shop_ids):
                    return inbox_page(actor=actor, filters=filters, cursor=cursor or None)

            return call

        cases += [
            ("inbox_operator_first_page", select(world.operator, default)),
            ("inbox_operator_filtered", select(world.operator, filtered)),
            ("inbox_supervisor_first_page", select(world.supervisor, default)),
            ("inbox_operator_page2", select(world.operator, default, cursor)),
        ]

    def counts(actor: Any, cap: int | None = None) -> Callable[[], object]:
        def call() -> object:
            with shop_scope(actor.shop_ids):
                return inbox_counts(actor=actor, cap=cap)

        return call

    cases += [
        ("inbox_counts_operator", counts(operator)),
        ("inbox_counts_supervisor", counts(supervisor)),
        ("inbox_counts_supervisor_capped", counts(supervisor, cap=COUNT_CAP)),
    ]

    results: list[Result] = []
    for name, call in cases:
        timing = time_calls(call, n=REQUESTS, warmup=WARMUP)
        target = PAGE_TARGET_MS if name in PAGES else TARGET_MS
        result = {
            "benchmark": name,
            "engine": engine,
            "scale": scale,
            "mode": mode,
            "rows": world.row_counts,
            **timing,
            "target_ms": target,
            "meets_target": timing["p95_ms"] <= target,
        }
        log(f"  {name}: p50 {timing['p50_ms']} ms, p95 {timing['p95_ms']} ms")
        results.append(result)
    return results


def _busiest_customer_pages(actor: Any) -> tuple[str, str]:
    """The ticket page (their newest ticket) and the customer page of the customer with the
    most tickets in the operator's shops."""
    from django.db.models import Count
    from django.urls import reverse

    from madoguchi.conversations.models import Ticket
    from madoguchi.customers.models import Customer
    from madoguchi.tenancy.scoping import shop_scope

    with shop_scope(actor.shop_ids):
        customer = (
            Customer.objects.annotate(ticket_count=Count("tickets"))
            .select_related("shop")
            .order_by("-ticket_count", "id")
            .first()
        )
        if customer is None:
            raise RuntimeError("the operator's shops have no customer")
        ticket = Ticket.objects.filter(customer=customer).order_by("-id").first()
        assert ticket is not None
    log(f"  customer {customer.pk}: {customer.ticket_count} tickets")
    slug = customer.shop.slug
    return (
        reverse("conversations:ticket", kwargs={"shop_slug": slug, "number": ticket.number}),
        reverse("customers:detail", kwargs={"shop_slug": slug, "pk": customer.pk}),
    )


def _write_plans(engine: str, scale: str, operator: Any, supervisor: Any, cursor: str) -> None:
    """Write the plans of the queries the inbox selectors really run, next to the databases."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from madoguchi.conversations.selectors import InboxFilters, inbox_counts, inbox_page
    from madoguchi.tenancy.scoping import shop_scope

    explain = "EXPLAIN (ANALYZE, BUFFERS) " if engine == "postgresql" else "EXPLAIN QUERY PLAN "
    cases: list[tuple[str, Any, Callable[[], object]]] = [
        (
            "operator first page",
            operator,
            lambda: inbox_page(actor=operator, filters=InboxFilters()),
        ),
        (
            "operator filtered (priority=high, channel=email)",
            operator,
            lambda: inbox_page(
                actor=operator, filters=InboxFilters(priority="high", channel="email")
            ),
        ),
        (
            "supervisor first page",
            supervisor,
            lambda: inbox_page(actor=supervisor, filters=InboxFilters()),
        ),
        (
            "operator page 2",
            operator,
            lambda: inbox_page(actor=operator, filters=InboxFilters(), cursor=cursor or None),
        ),
        ("supervisor sidebar counts", supervisor, lambda: inbox_counts(actor=supervisor)),
    ]
    sections = []
    for title, actor, call in cases:
        with shop_scope(actor.shop_ids), CaptureQueriesContext(connection) as captured:
            call()
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue  # BEGIN, SET LOCAL, COMMIT around the counts (core.db.custom_plans)
            with connection.cursor() as db_cursor:
                db_cursor.execute(explain + sql)
                rows = db_cursor.fetchall()
            plan = "\n".join(" ".join(str(value) for value in row) for row in rows)
            sections.append(f"## {title}\n{sql}\n\n{plan}\n")
    path = BENCH_DIR / f"plans-inbox-{engine}-{scale}.txt"
    path.write_text("\n".join(sections))
    log(f"  query plans: {path}")
