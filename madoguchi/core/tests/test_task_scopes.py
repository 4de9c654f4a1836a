"""Checklist 63: every background task takes an explicit shop id and re-checks it.

The tasks are found in the source (every function decorated with django-tasks' `@task`), so a new
task is checked without being listed here. A task either takes `shop_id` and runs every query
inside that shop's scope (`in_shop(shop_id)`, where the scoped managers filter every lookup by
the shop, so an id of another shop's row finds nothing), or it is a periodic job over all shops
that is listed below with the reason it needs no shop id.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django_scopes.state import get_scope
from django_tasks.base import Task

from madoguchi.connectors.mail.models import RawMail
from madoguchi.connectors.mail.pipeline import ingest_raw
from madoguchi.connectors.mail.tasks import process_raw_mail_task, process_raw_mails_task
from madoguchi.connectors.mail.tests.raw import build
from madoguchi.tenancy.scoping import unscoped

pytestmark = pytest.mark.django_db

PACKAGE = Path(__file__).resolve().parents[2]  # madoguchi/
# Test-only tasks (the suite's own helpers), never enqueued by the product.
TEST_ONLY_MODULES = ("madoguchi.core.testing.",)

# Periodic jobs that span shops: each lists the shops (or rows of every shop) and enters each
# shop's scope itself, or touches no shop's data.
CROSS_SHOP: dict[str, str] = {
    "madoguchi.csat.tasks.send_due_surveys_task": "lists the shops with CSAT on, enters each",
    "madoguchi.billing.tasks.billing_monthly_run_task": "agency invoices: enters each workspace",
    "madoguchi.billing.tasks.billing_usage_alerts_task": "agency usage: enters each workspace",
    "madoguchi.operations.tasks.process_operations": "routes and SLAs of new events, per shop",
    "madoguchi.connectors.webform.tasks.sweep_submissions_task": "re-queues lost tasks by shop id",
    "madoguchi.connectors.mail.tasks.poll_mailboxes_task": "polls each mailbox in its shop",
    "madoguchi.connectors.mail.tasks.sweep_mail_task": "re-queues lost tasks by shop id",
    "madoguchi.connectors.line.tasks.sweep_line_task": "re-queues lost tasks by shop id",
    "madoguchi.knowledge.tasks.faq_candidates_refresh_task": "lists the shops, enters each",
    "madoguchi.privacy.tasks.retention_run_due_task": "reads every policy, enters each shop",
    "madoguchi.accounts.tasks.send_password_reset_mail": "a user's own account, no shop data",
    "madoguchi.core.tasks.prune_task_results": "the task queue's own rows, no shop data",
    "madoguchi.core.tasks.refresh_planner_statistics": "database statistics, no shop data",
    "madoguchi.analytics.tasks.analytics_apply_task": "applies the event log, per shop's events",
    "madoguchi.reports.tasks.monthly_reports_task": "lists the shops with reports on, enters each",
    "madoguchi.conversations.tasks.attachments_scan_sweep_task": "each file's own shop, by row",
}

MISSING_ID = 2_000_000_007


def _is_task_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name == "task"


def _declared_tasks() -> dict[str, Task[Any, Any]]:
    found: dict[str, Task[Any, Any]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent)
        if "tests" in relative.parts:
            continue
        module_name = ".".join(relative.with_suffix("").parts)
        if module_name.startswith(TEST_ONLY_MODULES):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(
                _is_task_decorator(d) for d in node.decorator_list
            ):
                task = getattr(importlib.import_module(module_name), node.name)
                assert isinstance(task, Task), f"{module_name}.{node.name}"
                found[f"{module_name}.{node.name}"] = task
    return found


TASKS = _declared_tasks()
SHOP_TASKS = {
    name: task
    for name, task in TASKS.items()
    if "shop_id" in inspect.signature(task.func).parameters
}


def test_every_task_takes_a_shop_id_or_is_a_listed_cross_shop_job() -> None:
    assert len(TASKS) >= 25  # the enumeration finds the tasks (27 when this was written)
    unexplained = set(TASKS) - set(SHOP_TASKS) - set(CROSS_SHOP)
    assert not unexplained, f"tasks without a shop id and without a reason: {sorted(unexplained)}"
    stale = {name for name in CROSS_SHOP if name not in TASKS or name in SHOP_TASKS}
    assert not stale, f"listed cross-shop jobs that are gone or take a shop id: {sorted(stale)}"
    assert len(SHOP_TASKS) >= 12


def _arguments(task: Task[Any, Any], shop_id: int) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for name, parameter in inspect.signature(task.func).parameters.items():
        if name == "shop_id":
            arguments[name] = shop_id
        elif parameter.default is not inspect.Parameter.empty:
            continue
        elif name.endswith("_ids"):
            arguments[name] = [MISSING_ID]
        elif name.endswith("_id"):
            arguments[name] = MISSING_ID
        else:
            raise AssertionError(f"{task.name}: no test value for {name}")
    return arguments


@pytest.mark.parametrize("name", sorted(SHOP_TASKS))
def test_a_shop_task_runs_every_query_inside_the_shop_it_was_given(name: str, world: Any) -> None:
    task = SHOP_TASKS[name]
    scopes: list[dict[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        scopes.append(dict(get_scope()))
        return execute(sql, params, many, context)

    # An id that is not the shop's (here: nobody's) stops the task with DoesNotExist.
    with connection.execute_wrapper(record), contextlib.suppress(ObjectDoesNotExist):
        task.func(**_arguments(task, world.tea.id))
    assert scopes, f"{name} ran no query"
    for scope in scopes:
        assert scope.get("_enabled", True), f"{name} queried with the scope disabled"
        assert scope.get("shop") == (world.tea.id,), f"{name} queried outside its shop: {scope}"


def test_a_mail_task_given_another_shops_mail_leaves_it_alone(world: Any) -> None:
    raw = build(["From: a@example.jp", "To: support@ceramics.example", "Subject: x"], "body")
    (stored,) = ingest_raw(shop_ids=[world.ceramics.id], raw=raw, source="test", process=False)
    with pytest.raises(ObjectDoesNotExist):
        process_raw_mail_task.func(shop_id=world.tea.id, raw_mail_id=stored.raw_mail_id)
    assert process_raw_mails_task.func(shop_id=world.tea.id, raw_mail_ids=[stored.raw_mail_id]) in (
        {},
        {str(stored.raw_mail_id): RawMail.Status.RECEIVED},
    )
    with unscoped("test assertion"):
        row = RawMail.objects.get(pk=stored.raw_mail_id)
    assert row.status == RawMail.Status.RECEIVED
    assert row.attempts == 0
