"""Shift schedule, duty switch and coverage pages through the client, the other shop included."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from madoguchi.audit.models import AuditEntry
from madoguchi.operations.models import OperatorProfile, RoutingSettings, Shift
from madoguchi.tenancy.models import Engagement, Membership
from madoguchi.tenancy.scoping import unscoped

TOKYO = ZoneInfo("Asia/Tokyo")


# The world's agency is engaged from the first of the month the suite runs in (the factory's
# default), which moves past the fixed dates below as the real date does: it is engaged here
# since a fixed day before all of them (and before any real today, so access is unchanged).
ENGAGED_SINCE = dt.date(2026, 11, 1)


@pytest.fixture
def world(world):
    with unscoped("test setup"):
        Engagement.objects.filter(agency=world.agency).update(starts_on=ENGAGED_SINCE)
    return world


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TOKYO)


@pytest.fixture
def tea_member(world):
    return Membership.objects.get(user=world.operator_tea)


@pytest.fixture
def night_shift(world, tea_member):
    with unscoped("test setup"):
        return Shift.objects.create(
            workspace=world.agency,
            membership=tea_member,
            label="夜勤",
            starts_at=at(2026, 11, 30, 22),
            ends_at=at(2026, 12, 1, 7),
        )


def shifts_url(shop, week=None):
    url = reverse("operations:shifts", args=[shop.slug])
    return f"{url}?week={week}" if week else url


def shift_form(membership, starts_at, ends_at, label=""):
    """The shift form's fields: whom, from and to (datetime-local, Tokyo time), and a label."""
    return {
        "membership": str(membership.id),
        "label": label,
        "starts_at": starts_at,
        "ends_at": ends_at,
    }


def count_shifts():
    with unscoped("test assertion"):
        return Shift.objects.count()


def test_week_shows_the_night_shift_on_both_days(english, world, night_shift):
    english.force_login(world.operator_tea)
    response = english.get(shifts_url(world.tea, "2026-12-02"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "22:00–24:00…" in page
    assert "…00:00–07:00" in page
    assert "夜勤" in page
    # The operator sees the week but plans nothing: no form, no edit links.
    assert 'data-testid="shift-form"' not in page
    assert reverse("operations:shift_edit", args=[world.tea.slug, night_shift.id]) not in page
    assert world.operator_ceramics.display_name not in page


def test_holiday_is_labelled_in_the_week(english, world):
    english.force_login(world.operator_tea)
    page = english.get(shifts_url(world.tea, "2026-11-23")).content.decode()
    assert "勤労感謝の日" in page


def test_supervisor_plans_a_night_shift_in_tokyo_time(english, world, tea_member):
    english.force_login(world.supervisor)
    response = english.post(
        shifts_url(world.tea),
        shift_form(tea_member, "2026-12-04T22:00", "2026-12-05T07:00", label="Night shift"),
    )
    assert response.status_code == 302
    assert response["Location"] == shifts_url(world.tea, "2026-11-30")
    with unscoped("test assertion"):
        shift = Shift.objects.get()
    assert (shift.starts_at, shift.ends_at) == (at(2026, 12, 4, 22), at(2026, 12, 5, 7))
    assert AuditEntry.objects.filter(action="shift.saved", shop=world.tea).count() == 1


def test_overlap_is_refused_with_a_clear_message(english, world, tea_member, night_shift):
    english.force_login(world.supervisor)
    response = english.post(
        shifts_url(world.tea),
        shift_form(tea_member, "2026-12-01T06:00", "2026-12-01T15:00"),
    )
    assert response.status_code == 200
    assert (
        "This overlaps the same person&#x27;s shift 2026-11-30 22:00 – 2026-12-01 07:00."
        in response.content.decode()
    )
    assert count_shifts() == 1


def test_end_before_start_is_refused_in_japanese(client, world, tea_member):
    client.force_login(world.supervisor)
    response = client.post(
        shifts_url(world.tea),
        shift_form(tea_member, "2026-12-01T18:00", "2026-12-01T09:00"),
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert response.status_code == 200
    assert "シフトの終了は開始より後にしてください。" in response.content.decode()
    assert response.context["form"].errors == {
        "ends_at": ["シフトの終了は開始より後にしてください。"]
    }
    assert count_shifts() == 0


def test_supervisor_edits_and_removes_a_shift(english, world, tea_member, night_shift):
    english.force_login(world.supervisor)
    url = reverse("operations:shift_edit", args=[world.tea.slug, night_shift.id])
    page = english.get(url).content.decode()
    assert 'value="2026-11-30T22:00"' in page
    response = english.post(
        url,
        shift_form(tea_member, "2026-11-30T23:00", "2026-12-01T08:00", label="夜勤"),
    )
    assert response.status_code == 302
    with unscoped("test assertion"):
        night_shift.refresh_from_db()
    assert night_shift.starts_at == at(2026, 11, 30, 23)
    response = english.post(url, {"action": "delete"})
    assert response.status_code == 302
    assert count_shifts() == 0
    assert list(
        AuditEntry.objects.filter(shop=world.tea).order_by("id").values_list("action", flat=True)
    ) == ["shift.saved", "shift.deleted"]


def test_operator_may_not_change_a_shift(english, world, tea_member, night_shift):
    english.force_login(world.operator_tea)
    url = reverse("operations:shift_edit", args=[world.tea.slug, night_shift.id])
    assert english.get(url).status_code == 200
    response = english.post(url, {"action": "delete"})
    assert response.status_code == 403
    response = english.post(
        shifts_url(world.tea),
        shift_form(tea_member, "2026-12-02T09:00", "2026-12-02T18:00"),
    )
    assert response.status_code == 403
    assert count_shifts() == 1
    assert not AuditEntry.objects.filter(action__startswith="shift.").exists()


def test_other_shop_gets_404_and_changes_nothing(english, world, night_shift):
    edit_url = reverse("operations:shift_edit", args=[world.tea.slug, night_shift.id])
    for user in (world.operator_ceramics, world.client_ceramics):
        english.force_login(user)
        assert english.get(shifts_url(world.tea)).status_code == 404
        assert english.post(edit_url, {"action": "delete"}).status_code == 404
        duty_url = reverse("operations:duty", args=[world.tea.slug])
        assert english.post(duty_url, {"duty": "available"}).status_code == 404
        coverage_url = reverse("operations:coverage", args=[world.tea.slug])
        assert english.post(coverage_url, {"promises_24_7": "on"}).status_code == 404
    # The tea shift is not reachable through the ceramics shop either (its operator is not there).
    english.force_login(world.supervisor)
    wrong_shop = reverse("operations:shift_edit", args=[world.ceramics.slug, night_shift.id])
    assert english.post(wrong_shop, {"action": "delete"}).status_code == 404
    assert count_shifts() == 1
    with unscoped("test assertion"):
        assert not OperatorProfile.objects.exists()
        assert not RoutingSettings.objects.exists()
    assert not AuditEntry.objects.exclude(action__startswith="user.").exists()


def test_client_of_the_shop_is_refused(english, world):
    english.force_login(world.client_tea)
    assert english.get(shifts_url(world.tea)).status_code == 403
    assert english.get(reverse("operations:coverage", args=[world.tea.slug])).status_code == 403


def test_operator_switches_their_own_status(english, world, tea_member):
    english.force_login(world.operator_tea)
    response = english.post(
        reverse("operations:duty", args=[world.tea.slug]), {"duty": "available"}
    )
    assert response.status_code == 302
    with unscoped("test assertion"):
        assert OperatorProfile.objects.get(membership=tea_member).duty == "available"
    page = english.get(shifts_url(world.tea)).content.decode()
    assert "Your status is now: Available" in page
    assert '<option value="available" selected>' in page


def test_coverage_page_shows_gaps_and_the_lead_sets_the_promise(english, world, night_shift):
    english.force_login(world.supervisor)
    url = reverse("operations:coverage", args=[world.tea.slug])
    page = english.get(url + "?week=2026-11-30").content.decode()
    assert "coverage is measured against the shop's business hours" in page
    # Default hours (weekdays 10-12, 13-18): 35 hours, none covered by the night shift.
    assert "35 hours without anyone on duty." in page
    assert 'data-testid="cell-2026-11-30-23" data-gap' not in page
    response = english.post(url + "?week=2026-11-30", {"promises_24_7": "on"})
    assert response.status_code == 302
    assert response["Location"] == url + "?week=2026-11-30"
    page = english.get(url + "?week=2026-11-30").content.decode()
    assert "every hour of the week must be covered" in page
    # 168 hours less the 9 the night shift covers.
    assert "159 hours without anyone on duty." in page
    assert '<td class="coverage-cell is-covered" data-testid="cell-2026-11-30-23">1</td>' in page
    assert 'data-testid="cell-2026-12-01-07" data-gap="true">0</td>' in page


def test_operator_reads_coverage_but_may_not_change_the_promise(english, world):
    english.force_login(world.operator_tea)
    url = reverse("operations:coverage", args=[world.tea.slug])
    page = english.get(url).content.decode()
    assert 'data-testid="promise-form"' not in page
    assert english.post(url, {"promises_24_7": "on"}).status_code == 403
    with unscoped("test assertion"):
        assert not RoutingSettings.objects.exists()


def test_each_workspace_plans_and_sees_its_own_people(english, world, night_shift):
    """The shop company's admin plans in-house staff; the agency's rows stay the agency's."""
    from madoguchi.core.testing import factories

    with unscoped("test setup"):
        owner_admin = factories.MembershipFactory(
            workspace=world.tea.workspace, role=Membership.Role.ADMIN, user__display_name="店長"
        )
    english.force_login(owner_admin.user)
    response = english.post(
        shifts_url(world.tea),
        shift_form(owner_admin, "2026-12-05T10:00", "2026-12-05T18:00", label="Weekend shift"),
    )
    assert response.status_code == 302
    page = english.get(shifts_url(world.tea, "2026-11-30")).content.decode()
    assert "店長" in page
    assert "10:00–18:00" in page
    assert world.operator_tea.display_name not in page
    assert "夜勤" not in page  # the agency's shift is not the shop company's to see
    # The agency supervisor sees the agency's people and not the shop company's admin.
    english.force_login(world.supervisor)
    page = english.get(shifts_url(world.tea, "2026-11-30")).content.decode()
    assert world.operator_tea.display_name in page
    assert "夜勤" in page
    assert "店長" not in page
    # Coverage counts both workspaces' shifts for the shop.
    coverage = english.get(
        reverse("operations:coverage", args=[world.tea.slug]) + "?week=2026-11-30"
    ).content.decode()
    assert 'data-testid="cell-2026-12-05-10">1</td>' in coverage
    assert 'data-testid="cell-2026-11-30-23">1</td>' in coverage
