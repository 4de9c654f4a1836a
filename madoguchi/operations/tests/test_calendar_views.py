"""The business calendar page: leads edit, other staff read, strangers 404, the client 403."""

import datetime as dt

import pytest
from django.urls import reverse

from madoguchi.operations.models import BusinessCalendarSettings, Closure, OpeningHours
from madoguchi.tenancy.scoping import in_shop

T = dt.time


def _url(shop) -> str:
    return reverse("operations:calendar", args=[shop.slug])


def _form(**overrides) -> dict[str, str]:
    data = {
        "action": "calendar",
        "observes_national_holidays": "on",
        "hours_0": "10:00-12:00, 13:00-18:00",
        "hours_1": "10:00-12:00, 13:00-18:00",
        "hours_2": "10:00-12:00、13:00〜18:00",
        "hours_3": "１０:００-１２:００, 13-18",
        "hours_4": "10:00 - 12:00, 13:00 - 18:00",
        "hours_5": "10:00-15:00",
        "hours_6": "",
    }
    data.update(overrides)
    return data


def _hours(shop) -> list[tuple[int, dt.time, dt.time]]:
    with in_shop(shop.id):
        return list(
            OpeningHours.objects.filter(shop=shop).values_list("weekday", "opens_at", "closes_at")
        )


def test_a_supervisor_saves_hours_with_breaks_typed_in_many_ways(english, world):
    english.force_login(world.supervisor)
    page = english.get(_url(world.tea)).content.decode()
    assert 'data-testid="calendar-form"' in page
    assert 'data-testid="default-hours"' in page
    assert 'value="10:00-12:00, 13:00-18:00"' in page
    response = english.post(_url(world.tea), _form())
    assert (response.status_code, response["Location"]) == (302, _url(world.tea))
    weekday = [(T(10), T(12)), (T(13), T(18))]
    assert _hours(world.tea) == [
        *[(day, opens, closes) for day in range(5) for opens, closes in weekday],
        (5, T(10), T(15)),
    ]
    page = english.get(_url(world.tea)).content.decode()
    assert "The business calendar was saved." in page
    assert 'data-testid="default-hours"' not in page
    assert 'name="hours_3" value="10:00-12:00, 13:00-18:00"' in page
    assert _hours(world.ceramics) == []


def test_the_calendar_counts_in_the_shops_time_zone_set_on_the_shop_page(english, world):
    type(world.tea).objects.filter(pk=world.tea.pk).update(time_zone="Asia/Seoul")
    english.force_login(world.supervisor)
    page = english.get(_url(world.tea)).content.decode()
    zone = page.split('data-testid="calendar-time-zone"', 1)[1].split("</div>", 1)[0]
    assert "Asia/Seoul" in zone
    assert reverse("administration:shop_edit", args=[world.tea.slug]) in zone
    assert 'name="time_zone"' not in page
    # A zone posted here (an old form) changes nothing: the shop's page owns it.
    response = english.post(_url(world.tea), _form(time_zone="Europe/London"))
    assert response.status_code == 302
    world.tea.refresh_from_db()
    assert world.tea.time_zone == "Asia/Seoul"
    english.force_login(world.operator_tea)
    summary = english.get(_url(world.tea)).content.decode()
    assert '<dd data-testid="calendar-time-zone">Asia/Seoul</dd>' in summary


def test_invalid_hours_are_refused_in_japanese_and_what_was_typed_stays(client, world):
    client.force_login(world.admin)
    response = client.post(
        _url(world.tea),
        _form(hours_0="10:00-12:00, 11:00-18:00", hours_1="18:00-09:00", hours_2="朝から"),
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "10:00-12:00 と 11:00-18:00 が重なっています。" in page
    assert "18:00-09:00: 終了時刻は開始時刻より後にしてください。" in page
    assert "「朝から」は 10:00-12:00 のような時間帯ではありません。" in page
    assert 'value="10:00-12:00, 11:00-18:00"' in page
    assert 'value="18:00-09:00"' in page
    assert _hours(world.tea) == []


def test_the_preview_names_the_national_holiday_that_closes_the_shop(english, world):
    english.force_login(world.operator_tea)
    page = english.get(_url(world.tea), {"from": "2026-11-01"}).content.decode()
    row = page.split('data-testid="preview-2026-11-03"')[1].split("</tr>")[0]
    assert "Closed: 文化の日" in row
    row = page.split('data-testid="preview-2026-11-04"')[1].split("</tr>")[0]
    assert "10:00-12:00, 13:00-18:00" in row
    row = page.split('data-testid="preview-2026-11-01"')[1].split("</tr>")[0]
    assert "Closed: no business hours on this weekday" in row
    assert 'data-testid="preview-2026-11-14"' in page
    assert 'data-testid="preview-2026-11-15"' not in page


def test_an_operator_reads_the_calendar_but_may_not_change_it(english, world):
    english.force_login(world.operator_tea)
    page = english.get(_url(world.tea)).content.decode()
    assert 'data-testid="calendar-summary"' in page
    assert 'data-testid="calendar-form"' not in page
    assert 'data-testid="closure-form"' not in page
    assert english.post(_url(world.tea), _form()).status_code == 403
    assert _hours(world.tea) == []


def test_strangers_get_404_and_the_client_403(english, world):
    english.force_login(world.operator_ceramics)
    assert english.get(_url(world.tea)).status_code == 404
    assert english.post(_url(world.tea), _form()).status_code == 404
    english.force_login(world.client_ceramics)
    assert english.get(_url(world.tea)).status_code == 404
    english.force_login(world.client_tea)
    assert english.get(_url(world.tea)).status_code == 403
    assert english.post(_url(world.tea), _form()).status_code == 403
    assert _hours(world.tea) == []


def test_a_lead_adds_and_removes_closures(english, world):
    english.force_login(world.supervisor)
    response = english.post(
        _url(world.tea),
        {"action": "closure", "name": "棚卸", "starts_on": "2026-12-01", "ends_on": "2026-12-02"},
    )
    assert response.status_code == 302
    with in_shop(world.tea.id):
        closure = Closure.objects.get(shop=world.tea)
    assert (closure.name, closure.starts_on, closure.ends_on) == (
        "棚卸",
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 2),
    )
    page = english.get(_url(world.tea), {"from": "2026-11-30"}).content.decode()
    assert "Closed: 棚卸" in page.split('data-testid="preview-2026-12-01"')[1].split("</tr>")[0]
    response = english.post(_url(world.tea), {"action": "delete_closure", "closure": closure.id})
    assert response.status_code == 302
    with in_shop(world.tea.id):
        assert not Closure.objects.filter(shop=world.tea).exists()


def test_a_backwards_closure_is_refused_in_japanese_keeping_the_input(client, world):
    client.force_login(world.supervisor)
    response = client.post(
        _url(world.tea),
        {"action": "closure", "name": "棚卸", "starts_on": "2026-12-02", "ends_on": "2026-12-01"},
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "休業期間の終了日は開始日以降にしてください。" in page
    assert 'value="棚卸"' in page and 'value="2026-12-02"' in page
    # Beside the date it refuses (core.service_forms), not above the form.
    assert response.context["closure_form"].errors == {
        "ends_on": ["休業期間の終了日は開始日以降にしてください。"]
    }


def test_presets_add_this_years_new_year_closure_once(english, world):
    english.force_login(world.supervisor)
    page = english.get(_url(world.tea)).content.decode()
    assert 'value="new_year"' in page and 'value="obon"' in page
    assert (
        english.post(_url(world.tea), {"action": "preset", "preset": "new_year"}).status_code == 302
    )
    again = english.post(_url(world.tea), {"action": "preset", "preset": "new_year"}, follow=True)
    page = again.content.decode()
    assert "This closure is already in the calendar." in page
    # Once added, the page offers only お盆.
    assert 'value="new_year"' not in page and 'value="obon"' in page
    with in_shop(world.tea.id):
        closure = Closure.objects.get(shop=world.tea)
    assert closure.name == "年末年始"
    assert (closure.starts_on.month, closure.starts_on.day) == (12, 29)
    assert (closure.ends_on - closure.starts_on).days == 5
    assert english.post(_url(world.tea), {"action": "preset", "preset": "x"}).status_code == 404


def test_another_shops_closure_cannot_be_removed(english, world):
    with in_shop(world.ceramics.id):
        other = Closure.objects.create(
            shop=world.ceramics,
            name="窯焚き",
            starts_on=dt.date(2026, 6, 1),
            ends_on=dt.date(2026, 6, 3),
        )
    english.force_login(world.supervisor)
    response = english.post(_url(world.tea), {"action": "delete_closure", "closure": other.id})
    assert response.status_code == 404
    with in_shop(world.ceramics.id):
        assert Closure.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize("always_open", [True, False])
def test_the_24_365_flag_is_set_here(english, world, always_open):
    english.force_login(world.admin)
    data = _form()
    if always_open:
        data["always_open"] = "on"
    english.post(_url(world.tea), data)
    with in_shop(world.tea.id):
        assert BusinessCalendarSettings.objects.get(shop=world.tea).always_open is always_open
    page = english.get(_url(world.tea)).content.decode()
    assert ('data-testid="always-open"' in page) is always_open
