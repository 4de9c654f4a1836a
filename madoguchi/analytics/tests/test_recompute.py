"""A changed business calendar reaches the facts without a manual rebuild: the save asks for a
rebuild after commit, several saves give one, and the dashboard says so while it is pending."""

import datetime as dt

import pytest
from django.test import override_settings
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from madoguchi.analytics import recompute
from madoguchi.analytics.models import DurationFact, FactsRebuild
from madoguchi.analytics.recompute import facts_rebuild_request, facts_rebuild_run
from madoguchi.analytics.services import analytics_apply_new_events
from madoguchi.analytics.tests.history import build
from madoguchi.operations.business_calendar import business_calendar_save
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop, shop_scope, unscoped

NOVEMBER = "date_from=2026-11-01&date_to=2026-11-30"


@pytest.fixture
def history(world):
    with unscoped("test setup"):
        made = build(tea=world.tea, ceramics=world.ceramics, operator=world.operator_tea)
    analytics_apply_new_events()
    return made


def weekdays(opens: int, closes: int) -> dict[int, list[tuple[dt.time, dt.time]]]:
    return {day: [(dt.time(opens), dt.time(closes))] for day in range(5)}


def first_response(world, ticket) -> int:
    with shop_scope((world.tea.id,)):
        return DurationFact.objects.get(
            fact__ticket=ticket, metric="first_response"
        ).business_seconds


def save(world, opens: int, closes: int = 18) -> None:
    with shop_scope((world.tea.id,)):
        business_calendar_save(
            actor=actor_for_user(world.supervisor),
            shop=world.tea,
            observes_national_holidays=True,
            always_open=False,
            weekly_hours=weekdays(opens, closes),
        )


def test_several_saves_give_one_rebuild_with_the_last_calendar(
    world, history, django_capture_on_commit_callbacks
):
    # T1: Monday 11:30, answered 13:30; the default hours break for lunch from 12 to 13.
    assert first_response(world, history.t1) == 3600
    with django_capture_on_commit_callbacks(execute=True):
        save(world, 9)
        save(world, 10)
        save(world, 12)  # 12:00-18:00 without a break: 1.5 hours of T1's two count
    assert first_response(world, history.t1) == 5400
    with shop_scope((world.tea.id,)):
        state = FactsRebuild.objects.get(shop=world.tea)
    assert state.rebuild_count == 1
    assert not state.is_pending
    # A later save rebuilds again.
    with django_capture_on_commit_callbacks(execute=True):
        save(world, 10)
    assert first_response(world, history.t1) == 7200  # 10:00-18:00 without a break
    with shop_scope((world.tea.id,)):
        assert FactsRebuild.objects.get(shop=world.tea).rebuild_count == 2


def test_the_dashboard_says_recomputing_while_a_rebuild_is_pending(english, world, history):
    english.force_login(world.supervisor)
    url = f"{reverse('analytics:shop_dashboard', args=[world.tea.slug])}?{NOVEMBER}"
    assert 'data-testid="recomputing"' not in english.get(url).content.decode()
    save(world, 12)  # the test's transaction never commits: the task waits
    html = english.get(url).content.decode()
    assert 'data-testid="recomputing"' in html
    other = f"{reverse('analytics:shop_dashboard', args=[world.ceramics.slug])}?{NOVEMBER}"
    assert 'data-testid="recomputing"' not in english.get(other).content.decode()
    with in_shop(world.tea.id):
        assert facts_rebuild_run(shop_id=world.tea.id) == 1
        # Nothing is pending any more: a second run does nothing.
        assert facts_rebuild_run(shop_id=world.tea.id) == 0
    assert 'data-testid="recomputing"' not in english.get(url).content.decode()
    assert first_response(world, history.t1) == 5400


def test_a_save_during_a_rebuild_gives_one_more(world, history, monkeypatch):
    from madoguchi.analytics import services

    real = services.analytics_rebuild_shop
    calls = []

    def rebuild_while_someone_saves(*, shop_id):
        calls.append(shop_id)
        if len(calls) == 1:
            save(world, 12)  # read after this round started: the next round must see it
        return real(shop_id=shop_id)

    monkeypatch.setattr(services, "analytics_rebuild_shop", rebuild_while_someone_saves)
    with in_shop(world.tea.id):
        facts_rebuild_request(shop_id=world.tea.id)
        assert facts_rebuild_run(shop_id=world.tea.id) == 2
    assert calls == [world.tea.id, world.tea.id]
    assert first_response(world, history.t1) == 5400


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_a_deferring_backend_gets_one_deferred_task(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), in_shop(world.tea.id):
        for _ in range(3):
            facts_rebuild_request(shop_id=world.tea.id)
    with unscoped("test"):
        jobs = list(DBTaskResult.objects.filter(task_path__endswith="facts_rebuild_task"))
    assert len(jobs) == 1
    assert jobs[0].args_kwargs["args"] == [world.tea.id]
    with in_shop(world.tea.id):
        requested = FactsRebuild.objects.get(shop=world.tea).requested_at
    assert jobs[0].run_after >= requested - dt.timedelta(seconds=1)
    assert jobs[0].run_after > jobs[0].enqueued_at + recompute.REBUILD_DELAY / 2


def test_the_periodic_job_takes_up_a_lost_or_migrated_request(world, history):
    # A request no task will take (a lost job, or one a migration made): stamped long ago.
    long_ago = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with unscoped("test setup"):
        FactsRebuild.objects.create(shop=world.tea, requested_at=long_ago)
        FactsRebuild.objects.create(shop=world.ceramics, requested_at=dt.datetime.now(dt.UTC))
    with unscoped("the periodic job"):
        # The immediate backend of the tests runs the tea shop's rebuild at once; the
        # ceramics shop's fresh request is left to the task its save enqueued.
        assert recompute.facts_rebuild_sweep() == [world.tea.id]
        tea = FactsRebuild.objects.get(shop=world.tea)
        assert (tea.rebuild_count, tea.is_pending) == (1, False)
        assert FactsRebuild.objects.get(shop=world.ceramics).rebuild_count == 0
        assert recompute.facts_rebuild_sweep() == []
