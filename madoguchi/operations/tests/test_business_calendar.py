"""Setting up a shop's business calendar: hours with breaks, holidays, closures, the preview."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.core.errors import PermissionDeniedError, ValidationError
from madoguchi.core.testing import factories
from madoguchi.operations.business_calendar import (
    business_calendar_save,
    calendar_preview,
    calendar_setup,
    closure_add,
    closure_delete,
    closure_presets,
    day_hours_problem,
)
from madoguchi.operations.models import BusinessCalendarSettings, Closure, OpeningHours, SlaPolicy
from madoguchi.operations.selectors import calendar_for_shop
from madoguchi.operations.services import sla_refresh
from madoguchi.tenancy.access import actor_for_user
from madoguchi.tenancy.scoping import in_shop

TOKYO = ZoneInfo("Asia/Tokyo")
T = dt.time
WEEKDAY_HOURS = [(T(10), T(12)), (T(13), T(18))]
SHOP_HOURS = {**{day: WEEKDAY_HOURS for day in range(5)}, 5: [(T(10), T(15))]}


def _save(world, user=None, **overrides):
    values = {
        "observes_national_holidays": True,
        "always_open": False,
        "weekly_hours": SHOP_HOURS,
    }
    values.update(overrides)
    with in_shop(world.tea.id):
        return business_calendar_save(
            actor=actor_for_user(user or world.supervisor), shop=world.tea, **values
        )


def test_hours_with_breaks_are_stored_and_read_by_the_clocks(world):
    _save(world)
    with in_shop(world.tea.id):
        assert list(
            OpeningHours.objects.filter(shop=world.tea).values_list(
                "weekday", "opens_at", "closes_at"
            )
        ) == [
            (0, T(10), T(12)),
            (0, T(13), T(18)),
            (1, T(10), T(12)),
            (1, T(13), T(18)),
            (2, T(10), T(12)),
            (2, T(13), T(18)),
            (3, T(10), T(12)),
            (3, T(13), T(18)),
            (4, T(10), T(12)),
            (4, T(13), T(18)),
            (5, T(10), T(15)),
        ]
        calendar = calendar_for_shop(shop_id=world.tea.id)
        assert calendar.weekly_hours[5] == [(T(10), T(15))]
        assert 6 not in calendar.weekly_hours
        setup = calendar_setup(shop_id=world.tea.id)
        assert setup.hours_text(0) == "10:00-12:00, 13:00-18:00"
        assert setup.hours_text(6) == ""
        assert setup.is_default_hours is False


def test_a_change_is_audited_with_the_values_before_and_after(world):
    _save(world)
    _save(world, observes_national_holidays=False, weekly_hours={6: [(T(9), T(0))]})
    with in_shop(world.tea.id):
        entries = list(AuditEntry.objects.filter(action="calendar.changed").order_by("id"))
    assert len(entries) == 2
    assert entries[0].changes == {
        "old": {"weekly_hours": {}},
        "new": {
            "weekly_hours": {
                **{str(day): ["10:00-12:00", "13:00-18:00"] for day in range(5)},
                "5": ["10:00-15:00"],
            }
        },
    }
    assert entries[1].actor == world.supervisor
    assert entries[1].changes == {
        "old": {
            "observes_national_holidays": True,
            "weekly_hours": {
                **{str(day): ["10:00-12:00", "13:00-18:00"] for day in range(5)},
                "5": ["10:00-15:00"],
            },
        },
        "new": {"observes_national_holidays": False, "weekly_hours": {"6": ["09:00-24:00"]}},
    }
    # Saving the same values again changes nothing and writes no entry.
    _save(world, observes_national_holidays=False, weekly_hours={6: [(T(9), T(0))]})
    with in_shop(world.tea.id):
        assert AuditEntry.objects.filter(action="calendar.changed").count() == 2


@pytest.mark.parametrize(
    ("intervals", "message", "values"),
    [
        (
            [(T(13), T(12))],
            "%(interval)s: the closing time must be after the opening time.",
            {"interval": "13:00-12:00"},
        ),
        (
            [(T(10), T(12)), (T(11), T(18))],
            "%(first)s and %(second)s overlap.",
            {"first": "10:00-12:00", "second": "11:00-18:00"},
        ),
        (
            [(T(20), T(0)), (T(9), T(21))],
            "%(first)s and %(second)s overlap.",
            {"first": "09:00-21:00", "second": "20:00-24:00"},
        ),
        ([(T(h), T(h, 30)) for h in range(7)], "At most %(count)s intervals a day.", {"count": 6}),
    ],
)
def test_overlapping_and_backwards_hours_are_refused(world, intervals, message, values):
    assert day_hours_problem(intervals) == (message, values)
    with pytest.raises(ValidationError) as refused:
        _save(world, weekly_hours={2: intervals})
    assert (refused.value.message, refused.value.extra) == (message, values)
    with in_shop(world.tea.id):
        assert not OpeningHours.objects.filter(shop=world.tea).exists()


def test_touching_intervals_and_midnight_are_allowed(world):
    assert day_hours_problem([(T(10), T(12)), (T(12), T(13)), (T(22), T(0))]) is None
    assert day_hours_problem([(T(0), T(0))]) is None


def test_only_leads_change_the_calendar(world):
    with pytest.raises(PermissionDeniedError):
        _save(world, user=world.operator_tea)
    with pytest.raises(PermissionDeniedError):
        _save(world, user=world.client_tea)
    with pytest.raises(ValidationError):
        _save(world, weekly_hours={0: [(T(12), T(10))]})
    with in_shop(world.tea.id):
        assert not BusinessCalendarSettings.objects.filter(shop=world.tea).exists()


def test_preview_shows_national_holidays_and_closures_as_the_clocks_count(world):
    _save(world)
    actor = actor_for_user(world.admin)
    with in_shop(world.tea.id):
        closure_add(
            actor=actor,
            shop=world.tea,
            name="棚卸",
            starts_on=dt.date(2026, 5, 7),
            ends_on=dt.date(2026, 5, 8),
        )
        preview = calendar_preview(shop_id=world.tea.id, today=dt.date(2026, 4, 29))
    open_day = ["10:00-12:00", "13:00-18:00"]
    assert [(day.date.isoformat(), day.intervals, day.holiday, day.closure) for day in preview] == [
        ("2026-04-29", [], "昭和の日", ""),
        ("2026-04-30", open_day, "", ""),
        ("2026-05-01", open_day, "", ""),
        ("2026-05-02", ["10:00-15:00"], "", ""),
        ("2026-05-03", [], "憲法記念日", ""),
        ("2026-05-04", [], "みどりの日", ""),
        ("2026-05-05", [], "こどもの日", ""),
        ("2026-05-06", [], "憲法記念日 振替休日", ""),
        ("2026-05-07", [], "", "棚卸"),
        ("2026-05-08", [], "", "棚卸"),
        ("2026-05-09", ["10:00-15:00"], "", ""),
        ("2026-05-10", [], "", ""),
        ("2026-05-11", open_day, "", ""),
        ("2026-05-12", open_day, "", ""),
    ]


def test_preview_of_a_shop_open_on_holidays_and_of_one_open_around_the_clock(world):
    _save(world, observes_national_holidays=False)
    with in_shop(world.tea.id):
        day = calendar_preview(shop_id=world.tea.id, today=dt.date(2026, 4, 29), days=1)[0]
        assert (day.intervals, day.holiday, day.is_open) == (
            ["10:00-12:00", "13:00-18:00"],
            "昭和の日",
            True,
        )
    _save(world, always_open=True, weekly_hours={})
    with in_shop(world.tea.id):
        preview = calendar_preview(shop_id=world.tea.id, today=dt.date(2026, 4, 29), days=2)
        assert [day.intervals for day in preview] == [["00:00-24:00"], ["00:00-24:00"]]
        assert calendar_setup(shop_id=world.tea.id).is_default_hours is False


def test_default_hours_are_shown_until_the_shop_saves_its_own(world):
    with in_shop(world.tea.id):
        setup = calendar_setup(shop_id=world.tea.id)
    assert setup.is_default_hours is True
    assert [setup.hours_text(day) for day in range(7)] == [
        *["10:00-12:00, 13:00-18:00"] * 5,
        "",
        "",
    ]
    assert (setup.time_zone, setup.observes_national_holidays, setup.always_open) == (
        "Asia/Tokyo",
        True,
        False,
    )


def test_closures_are_added_audited_and_removed(world):
    actor = actor_for_user(world.supervisor)
    with in_shop(world.tea.id):
        closure = closure_add(
            actor=actor,
            shop=world.tea,
            name=" 年末年始 ",
            starts_on=dt.date(2026, 12, 29),
            ends_on=dt.date(2027, 1, 3),
        )
        assert closure.name == "年末年始"
        with pytest.raises(ValidationError) as duplicate:
            closure_add(
                actor=actor,
                shop=world.tea,
                name="年末年始",
                starts_on=dt.date(2026, 12, 29),
                ends_on=dt.date(2027, 1, 3),
            )
        assert duplicate.value.message == "This closure is already in the calendar."
        with pytest.raises(ValidationError) as backwards:
            closure_add(
                actor=actor,
                shop=world.tea,
                name="棚卸",
                starts_on=dt.date(2026, 12, 2),
                ends_on=dt.date(2026, 12, 1),
            )
        assert backwards.value.message == "A closure must end on or after its first day."
        assert calendar_for_shop(shop_id=world.tea.id).is_closed_on(dt.date(2027, 1, 2))
        closure_delete(actor=actor, shop=world.tea, closure=closure)
        assert not Closure.objects.filter(shop=world.tea).exists()
        assert not calendar_for_shop(shop_id=world.tea.id).is_closed_on(dt.date(2027, 1, 4))
        entries = list(
            AuditEntry.objects.filter(action__startswith="calendar.closure").order_by("id")
        )
    expected = {"name": "年末年始", "starts_on": "2026-12-29", "ends_on": "2027-01-03"}
    assert [(entry.action, entry.changes, entry.target_id) for entry in entries] == [
        ("calendar.closure_added", {"new": expected}, str(closure.pk)),
        ("calendar.closure_deleted", {"old": expected}, str(closure.pk)),
    ]


@pytest.mark.parametrize(
    ("today", "new_year", "obon"),
    [
        ("2026-05-01", ("2026-12-29", "2027-01-03"), ("2026-08-13", "2026-08-16")),
        ("2026-08-16", ("2026-12-29", "2027-01-03"), ("2026-08-13", "2026-08-16")),
        ("2026-08-17", ("2026-12-29", "2027-01-03"), ("2027-08-13", "2027-08-16")),
        ("2027-01-03", ("2026-12-29", "2027-01-03"), ("2027-08-13", "2027-08-16")),
        ("2027-01-04", ("2027-12-29", "2028-01-03"), ("2027-08-13", "2027-08-16")),
    ],
)
def test_presets_offer_the_next_new_year_and_obon_closures(today, new_year, obon):
    presets = closure_presets(today=dt.date.fromisoformat(today))
    assert [(p.key, p.name, p.starts_on.isoformat(), p.ends_on.isoformat()) for p in presets] == [
        ("new_year", "年末年始", *new_year),
        ("obon", "お盆", *obon),
    ]


def test_a_calendar_change_moves_the_due_times_of_open_tickets(
    world, django_capture_on_commit_callbacks
):
    with in_shop(world.tea.id):
        SlaPolicy.objects.create(shop=world.tea, name="標準", first_response_minutes=4 * 60)
        # Tuesday 17:00 before Shōwa Day: one hour on Tuesday, then Thursday from 10:00.
        created = dt.datetime(2026, 4, 28, 17, 0, tzinfo=TOKYO)
        ticket = factories.TicketFactory(shop=world.tea, created_at=created)
        solved = factories.TicketFactory(shop=world.tea, created_at=created, status="solved")
    _save(world)
    with in_shop(world.tea.id):
        sla_refresh(ticket_id=ticket.id)
        sla_refresh(ticket_id=solved.id)
        assert ticket.sla_measures.get(metric="first_response").due_at == dt.datetime(
            2026, 4, 30, 14, 0, tzinfo=TOKYO
        )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _save(world, observes_national_holidays=False)
    assert len(callbacks) == 1
    with in_shop(world.tea.id):
        # Open on the holiday now: Wednesday 10:00-12:00 and 13:00-14:00 finish the four hours.
        assert ticket.sla_measures.get(metric="first_response").due_at == dt.datetime(
            2026, 4, 29, 14, 0, tzinfo=TOKYO
        )
        # A solved ticket keeps the measures it was reported with.
        assert solved.sla_measures.get(metric="first_response").due_at == dt.datetime(
            2026, 4, 30, 14, 0, tzinfo=TOKYO
        )
