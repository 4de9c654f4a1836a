"""Reconcile a generated month of bank-transfer orders with its Zengin deposit file.

The month (`madoguchi.commerce.simulation`) has realistic noise: spelling variants of the
readings, order numbers typed into the name, deducted bank fees, combined, partial and over
payments, other payers and unrelated deposits. Reported: how many matchable deposits were
applied correctly (target: at least 98%), how many were applied to a wrong order (target: 0),
how many wait in review, and the time to import the file and to reconcile it.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from benchmarks.harness import (
    BENCH_DIR,
    SELECTED_ENGINES,
    database_name,
    drop_postgres_database,
    log,
    run_engines,
)

DATASET = "reconcile"
ORDERS = {"quick": 1_000, "full": 5_000}
TARGET_APPLIED_PERCENT = 98.0


def measure(*, engine: str, scale: str) -> list[dict[str, Any]]:
    from django.core.management import call_command

    from madoguchi.commerce.deposits import deposits_import_zengin, deposits_reconcile
    from madoguchi.commerce.simulation import evaluate, generate_month
    from madoguchi.tenancy.models import Shop, Workspace
    from madoguchi.tenancy.scoping import in_shop, unscoped

    call_command("migrate", verbosity=0)
    with unscoped("benchmark setup"):
        workspace = Workspace.objects.create(name="山田園", slug="bench-yamada", kind="merchant")
        shop = Shop.objects.create(
            workspace=workspace, name="山田園 茶舗", slug="tea", ticket_prefix="TEA"
        )
    with in_shop(shop.id):
        month = generate_month(shop=shop, order_count=ORDERS[scale])
        started = time.perf_counter()
        deposits_import_zengin(
            shop=shop,
            data=month.zengin_file,
            filename="nyukin.txt",
            received_on=month.created_on + dt.timedelta(days=1),
        )
        imported = time.perf_counter()
        result = deposits_reconcile(shop=shop)
        reconciled = time.perf_counter()
        counts = evaluate(month=month, shop=shop)
    matchable = counts["matchable"]
    applied_percent = 100.0 * counts["matchable_applied_correctly"] / matchable if matchable else 0
    reconcile_seconds = reconciled - imported
    return [
        {
            "benchmark": "reconcile",
            "engine": engine,
            "scale": scale,
            "orders": ORDERS[scale],
            **counts,
            "applied": result.applied,
            "review": result.review,
            "unmatched": result.unmatched,
            "matchable_applied_percent": round(applied_percent, 2),
            "target_applied_percent": TARGET_APPLIED_PERCENT,
            "import_seconds": round(imported - started, 2),
            "reconcile_seconds": round(reconcile_seconds, 2),
            "deposits_per_second": round(counts["deposits"] / reconcile_seconds, 1),
            "meets_target": applied_percent >= TARGET_APPLIED_PERCENT
            and counts["applied_wrong"] == 0,
        }
    ]


def run(scale: str) -> list[dict[str, Any]]:
    """Run on fresh databases: a reconciliation changes the orders it pays."""
    path = BENCH_DIR / f"{DATASET}-{scale}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    if "postgresql" in SELECTED_ENGINES:
        try:
            drop_postgres_database(database_name(DATASET, scale))
        except Exception as error:  # unreachable: run_engines reports it
            log(f"reconcile: could not drop the PostgreSQL database: {error}")
    return run_engines(__name__, scale, dataset=DATASET)
